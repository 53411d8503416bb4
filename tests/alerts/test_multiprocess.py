"""Fan-out across processes on Redis: two daphne processes, one client on each, one publisher process.

The publisher is a separate ``manage.py shell -c`` process doing exactly what a worker's publish does
(``event_payload`` of a committed WhaleEvent, ``group_send`` to FEED_GROUP, its chain group and its whale
group). A Celery worker would need a task that publishes, and no task in the project publishes by itself
yet (collector tasks publish only through what they ingest from the recordings); what this test is about,
channels-redis groups shared by processes, is the same from any process.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.whales.factories import WhaleEventFactory

BASE_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PUBLISH = """
import json
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from alerts.groups import FEED_GROUP, chain_group, whale_group
from alerts.payloads import event_payload
from whales.models import WhaleEvent

event = WhaleEvent.objects.select_related("whale").get(pk={event_id})
payload = event_payload(event)
message = {{"type": "whale.event", "event": payload}}
layer = get_channel_layer()
for group in (FEED_GROUP, chain_group(event.chain), whale_group(event.whale_id)):
    async_to_sync(layer.group_send)(group, message)
print(json.dumps(payload))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """postgres:// URL of the pytest test database (what the subprocesses must use)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne on port {port} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"daphne on port {port} did not listen within {timeout} s")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s (daphne sometimes ignores SIGTERM: STACK.md pitfall 7)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


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
    if not redis_url or connection.vendor != "postgresql":
        pytest.skip("needs REDIS_URL and a PostgreSQL DATABASE_URL (processes share both)")
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

        async def scenario() -> tuple[list[dict], list[dict], dict]:
            connected = [asyncio.Event(), asyncio.Event()]
            published = asyncio.Event()
            clients = [
                asyncio.create_task(receive_all(f"ws://127.0.0.1:{ports[0]}/ws/events/",
                                                {"Authorization": f"Token {key}"}, connected[0], published)),
                asyncio.create_task(receive_all(f"ws://127.0.0.1:{ports[1]}/ws/events/?token={key}",
                                                {}, connected[1], published)),
            ]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in connected)), timeout=15)
            publisher = await asyncio.create_subprocess_exec(
                sys.executable, "manage.py", "shell", "-c", PUBLISH.format(event_id=stored.id),
                cwd=BASE_DIR, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(publisher.communicate(), timeout=60)
            assert publisher.returncode == 0, err.decode()
            published.set()
            first, second = await asyncio.gather(*clients)
            return first, second, json.loads(out.decode().strip().splitlines()[-1])

        first, second, payload = asyncio.run(scenario())
    finally:
        for server in servers:
            stop(server)
        for log in logs:
            log.close()

    assert payload["id"] == stored.id
    assert first == [{"type": "event", "event": payload}]
    assert second == [{"type": "event", "event": payload}]
