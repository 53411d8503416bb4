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
import time

import pytest
from django.db import connection

from alerts.tokens import api_token_create
from tests.processes import BASE_DIR, VENV_BIN, daphne_server, database_url, stop
from tests.requirements import require
from tests.whales.factories import WhaleEventFactory
from whaletrack.celery import app

QUEUE = "whaletrack-test-multiprocess"  # its own queue: nothing else queued in Redis runs on this worker

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
    key = api_token_create(user_id=user.pk, name="test")[1]
    env = {
        "REDIS_URL": os.environ["REDIS_URL"],
        "CHANNEL_LAYER_CAPACITY": "1000",  # deliberate (STACK.md pitfall 2)
        "ALERTS_PUBLIC_FEED": "false",  # clients authenticate with a token
        "ALERTS_PUBLISH_SWEEP_AFTER_S": "0",  # the worker's sweep takes the event at once
        "CELERY_BROKER_URL": os.environ["REDIS_URL"],
    }
    with (daphne_server(tmp_path / "daphne-1.log", env) as first_url,
          daphne_server(tmp_path / "daphne-2.log", env) as second_url):

        async def scenario() -> tuple[list[dict], list[dict]]:
            connected = [asyncio.Event(), asyncio.Event()]
            published = asyncio.Event()
            clients = [
                asyncio.create_task(receive_all(f"{first_url}/ws/events/",
                                                {"Authorization": f"Token {key}"}, connected[0], published)),
                asyncio.create_task(receive_all(f"{second_url}/ws/events/?token={key}",
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

        with (tmp_path / "celery-worker.log").open("w") as worker_out:
            worker = subprocess.Popen(  # noqa: S603  (our own Celery app with fixed arguments)
                [str(VENV_BIN / "celery"), "-A", "whaletrack", "worker", "--pool=solo", "--concurrency=1", "-Q", QUEUE,
                 "--without-gossip", "--without-mingle", "--loglevel=INFO"],
                cwd=BASE_DIR, env={**os.environ, "DJANGO_SETTINGS_MODULE": "whaletrack.settings",
                                   "DATABASE_URL": database_url(), **env},
                stdout=worker_out, stderr=subprocess.STDOUT,
            )
            try:
                first, second = asyncio.run(scenario())
            finally:
                stop(worker)

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
