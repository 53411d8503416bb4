"""Redis stopped while the collector publishes (issue 14's fault suite): every event reaches a WebSocket
client exactly once after Redis returns.

Real processes throughout: our own ``redis-server`` (channel layer, cache and broker of the children), a
daphne process serving ``/ws/events/``, a WebSocket client that reconnects when its socket closes and then
backfills by ``since_id`` (the consumers' documented protocol), and the Ethereum block collector
(``collector_driver``) on a scripted anvil chain. Redis is SIGKILLed a seeded time into the run and started
again (empty, as a restarted in-memory Redis is) a while later; the events stored meanwhile could not be
sent. The beat's sweep then runs (``events_publish_pending``). The socket must have sent no event id twice,
and socket and backfill together every stored event: none lost, none doubled.
"""

import asyncio
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.faults.harness import CollectorDriver, chain_script, world_create
from tests.processes import BASE_DIR, RedisServer, database_url, free_port, stop, until, wait_for_port
from tests.requirements import require
from whales.models import WhaleEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 1407
VENV_BIN = Path(sys.executable).parent


def newest_event_id() -> int:
    return WhaleEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


class FeedClient:
    """A WebSocket client of ``/ws/events/`` on its own thread, as the dashboard behaves: it reconnects 0.2 s
    after its socket closes or cannot open and, after each reconnect, backfills what it missed with
    ``GET /api/v1/events/recent?since_id=<largest id it has>`` (the consumers' documented protocol).
    ``frames`` are the event ids the socket sent (in order, repeats kept), ``backfilled`` those the
    backfill added; ``connects`` counts the opened sockets, ``closes`` why each ended."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.frames: list[int] = []
        self.backfilled: list[int] = []
        self.connects = 0
        self.closes: list[str] = []
        self._stop = threading.Event()
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()

    def seen(self) -> set[int]:
        return set(self.frames) | set(self.backfilled)

    def _backfill(self) -> None:
        while True:
            since = max(self.seen(), default=0)
            answer = requests.get(f"http://127.0.0.1:{self.port}/api/v1/events/recent",
                                  params={"since_id": since, "limit": 100},
                                  headers={"Authorization": f"Token {self.token}"}, timeout=10)
            answer.raise_for_status()
            items = answer.json()["items"]
            self.backfilled.extend(item["id"] for item in items if item["id"] not in self.seen())
            if len(items) < 100:
                return

    async def _main(self) -> None:
        from websockets.asyncio.client import connect

        while not self._stop.is_set():
            try:
                async with connect(f"ws://127.0.0.1:{self.port}/ws/events/", open_timeout=5,
                                   additional_headers={"Authorization": f"Token {self.token}"}) as websocket:
                    self.connects += 1
                    if self.connects > 1:
                        await asyncio.to_thread(self._backfill)
                    while not self._stop.is_set():
                        try:
                            frame = json.loads(await asyncio.wait_for(websocket.recv(), timeout=0.2))
                        except TimeoutError:
                            continue
                        if frame.get("type") == "event":
                            self.frames.append(frame["event"]["id"])
            except Exception as exc:  # a closed or refused socket, a failed backfill: note it and reconnect
                self.closes.append(f"{type(exc).__name__}: {exc} at {time.monotonic() - self._t0:.1f} s"[:200])
            await asyncio.sleep(0.2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@contextmanager
def daphne_server(tmp_path: Path, env: dict[str, str]) -> Iterator[int]:
    """daphne serving our ASGI app with the test database and ``env`` on a free port; yields the port."""
    port = free_port()
    log_path = tmp_path / f"daphne-{port}.log"
    with log_path.open("w") as log:
        daphne = subprocess.Popen(  # noqa: S603  (our own daphne with fixed arguments)
            [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "whaletrack.asgi:application"],
            cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "whaletrack.settings", "DATABASE_URL": database_url(), **env})
    try:
        wait_for_port(port, daphne, log=log_path)
        yield port
    finally:
        stop(daphne)


def test_an_idle_feed_socket_stays_open_past_the_layers_blocking_read(tmp_path, django_user_model):
    """channels-redis reads a consumer's channel in blocking reads of 5 s; redis-py 8 ended socket reads after
    5 s by default, so every feed socket without traffic closed with 1011 after about 5 s."""
    broker = RedisServer(tmp_path)
    broker.start()
    user = django_user_model.objects.create_user(username="idle", password="pw-idle-1")
    token = Token.objects.create(user=user).key
    try:
        with daphne_server(tmp_path, {"REDIS_URL": broker.url(0), "ALERTS_PUBLIC_FEED": "false"}) as port:
            client = FeedClient(port, token)
            try:
                until(lambda: client.connects == 1, timeout=30)
                time.sleep(12)
            finally:
                client.close()
    finally:
        broker.kill()
    assert (client.connects, client.closes) == (1, [])


def test_events_published_while_redis_is_down_arrive_once_after_it_returns(chain, tmp_path, django_user_model):
    require(connection.vendor == "postgresql", "needs PostgreSQL (processes share the database)")
    rng = random.Random(SEED)
    script = chain_script(chain, seed=SEED, transfers=30, gap_blocks=20)
    world_create(script)
    user = django_user_model.objects.create_user(username="feed", password="pw-feed-1")
    token = Token.objects.create(user=user).key
    broker = RedisServer(tmp_path)
    broker.start()
    env = {"REDIS_URL": broker.url(0), "CELERY_BROKER_URL": broker.url(1), "ALERTS_PUBLIC_FEED": "false",
           "ETH_START_BLOCK": str(script.first)}
    client = None
    driver = CollectorDriver(database=connection.settings_dict["NAME"], rpc_url=chain.url, to_block=script.last,
                             env=env, log=tmp_path / "collector.log")
    try:
        with daphne_server(tmp_path, env) as port:
            client = FeedClient(port, token)
            until(lambda: client.connects == 1, timeout=30)

            driver.run()
            until(lambda: WhaleEvent.objects.count() >= 3, timeout=60)  # a few are out; then a seeded moment
            time.sleep(rng.uniform(0, 1.0))
            broker.kill()  # Redis goes away mid-run: sends fail, the socket closes, reconnects are refused
            down_at = newest_event_id()
            time.sleep(rng.uniform(2, 4))
            # Events stored up to here were sent (and failed) while Redis was down: only the sweep can send
            # them. (0.5 s before Redis returns, so none of them is still being sent when it does.)
            up_at = newest_event_id()
            time.sleep(0.5)
            broker.start()  # back, empty (in memory): the groups the consumers had joined are gone too
            code = driver.outcome(300)
            assert code == 0, f"the collector run ended with {code}"
            until(lambda: client.connects >= 2, timeout=30)  # the client is back before the sweep runs
            settled = driver.settle()
            stored = set(WhaleEvent.objects.values_list("pk", flat=True))
            deadline = time.monotonic() + 30
            while not client.seen() >= stored and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)  # anything doubled arrives by now
    finally:
        if client is not None:
            client.close()
        driver.close()
        broker.kill()

    during = set(range(down_at + 1, up_at + 1)) & stored
    print(f"{len(stored)} events (ids up to {down_at} before Redis went down, {len(during)} while it was down), "
          f"{settled}; the socket sent "
          f"{len(client.frames)}, the backfill added {len(client.backfilled)}; {client.connects} sockets, "
          f"closed by {client.closes}; backfilled, then sent by the "
          f"sweep too (the client keeps its first copy): {len(set(client.frames) & set(client.backfilled))}")
    assert {event_id: n for event_id, n in Counter(client.frames).items() if n > 1} == {}  # none doubled
    assert sorted(client.seen()) == sorted(stored)  # none lost
    assert during, "no event was stored while Redis was down"
    assert during <= set(client.frames)  # the sweep sent them after Redis returned (not only the backfill)
    assert not WhaleEvent.objects.filter(published_at__isnull=True).exists()
