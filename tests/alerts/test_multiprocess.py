"""Fan-out across processes on Redis: two daphne processes with one client each, and a real Celery
worker process that publishes.

The worker runs ``alerts.publish_pending`` (the sweep that sends committed events nobody published):
the test commits an unpublished WhaleEvent, sends the task through the Redis broker, and the worker
claims the event and sends it over channels-redis; both daphne processes deliver it to their client
exactly once.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.processes import database_url, free_port, stop, wait_for_port
from tests.requirements import require
from tests.whales.factories import WhaleEventFactory
from whaletrack.celery import app

BASE_DIR = Path(__file__).resolve().parents[2]
QUEUE = "whaletrack-test-multiprocess"  # its own queue: nothing else queued in Redis runs on this worker
VENV_BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

async def receive_all(url: str, headers: dict, connected: asyncio.Event, published: asyncio.Event) -> list[dict]:
    """Connect, signal, and collect every frame until 1.5 s after the publisher finished."""
    from websockets.asyncio.client import connect

    frames = []
    async with connect(url, additional_headers=headers, open_timeout=10) as websocket:
        connected.set()
        await published.wait()
        while True:
            try:
                frames.append(json.loads(await asyncio.wait_for(websocket.recv(), timeout=1.5)))
            except TimeoutError:
                return frames


def test_two_daphne_processes_each_deliver_a_worker_published_event_once(tmp_path, django_user_model):
    redis_url = os.environ.get("REDIS_URL")
    require(bool(redis_url) and connection.vendor == "postgresql",
            "needs REDIS_URL and a PostgreSQL DATABASE_URL (processes share both)")
    stored = WhaleEventFactory()
    user = django_user_model.objects.create_user(username="script", password="pw-script-1")
    key = Token.objects.create(user=user).key
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "whaletrack.settings",
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url,
        "CHANNEL_LAYER_CAPACITY": "1000",  # deliberate (STACK.md pitfall 2)
        "ALERTS_PUBLIC_FEED": "false",  # clients authenticate with a token
        "ALERTS_PUBLISH_SWEEP_AFTER_S": "0",  # the worker's sweep takes the event at once
        "CELERY_BROKER_URL": redis_url,
    }
    ports = [free_port(), free_port()]
    servers, logs = [], []
    try:
        for port in ports:
            logs.append((tmp_path / f"daphne-{port}.log").open("w"))
            log = logs[-1]
            servers.append(subprocess.Popen(  # noqa: S603  (our own daphne with fixed arguments)
                [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "whaletrack.asgi:application"],
                cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT,
            ))
        for port, server in zip(ports, servers, strict=True):
            wait_for_port(port, server)

        async def scenario() -> tuple[list[dict], list[dict]]:
            connected = [asyncio.Event(), asyncio.Event()]
            published = asyncio.Event()
            clients = [
                asyncio.create_task(receive_all(f"ws://127.0.0.1:{ports[0]}/ws/events/",
                                                {"Authorization": f"Token {key}"}, connected[0], published)),
                asyncio.create_task(receive_all(f"ws://127.0.0.1:{ports[1]}/ws/events/?token={key}",
                                                {}, connected[1], published)),
            ]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in connected)), timeout=15)
            app.send_task("alerts.publish_pending", queue=QUEUE)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # the worker claims the event when it publishes it
                if await asyncio.to_thread(published_at, stored.id, close=True) is not None:
                    break
                await asyncio.sleep(0.2)
            published.set()
            return tuple(await asyncio.gather(*clients))

        logs.append((tmp_path / "celery-worker.log").open("w"))
        worker = subprocess.Popen(  # noqa: S603  (our own Celery app with fixed arguments)
            [str(VENV_BIN / "celery"), "-A", "whaletrack", "worker", "--pool=solo", "--concurrency=1", "-Q", QUEUE,
             "--without-gossip", "--without-mingle", "--loglevel=INFO"],
            cwd=BASE_DIR, env=env, stdout=logs[-1], stderr=subprocess.STDOUT,
        )
        servers.append(worker)
        first, second = asyncio.run(scenario())
    finally:
        for server in servers:
            stop(server)
        for log in logs:
            log.close()

    worker_log = (tmp_path / "celery-worker.log").read_text()
    assert "alerts.publish_pending" in worker_log and "succeeded" in worker_log
    assert published_at(stored.id) is not None
    assert [frame["type"] for frame in first] == ["event"] and first == second  # once each, the same frame
    event = first[0]["event"]
    assert event["id"] == stored.id and event["tx_hash"] == stored.tx_hash and event["published_at"]


def published_at(event_id: int, *, close: bool = False):
    """The event's published_at; ``close``: from a helper thread, whose connection is closed after."""
    from whales.models import WhaleEvent

    try:
        return WhaleEvent.objects.filter(pk=event_id).values_list("published_at", flat=True).first()
    finally:
        if close:
            connection.close()
