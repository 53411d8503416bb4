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

import random
import time
from collections import Counter

import pytest
from django.db import connection

from alerts.tokens import api_token_create
from tests.faults.harness import CollectorDriver, chain_script, world_create
from tests.processes import FeedClient, RedisServer, daphne_server, until
from tests.requirements import require
from whales.models import WhaleEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 1407


def newest_event_id() -> int:
    return WhaleEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def feed_client(url: str, token: str) -> FeedClient:
    """A client of ``/ws/events/`` on the daphne at ``url`` (``ws://…``) as the dashboard behaves: it
    reconnects 0.2 s after its socket closes or cannot open, and after each reconnect backfills by
    ``since_id`` from ``/api/v1/events/recent`` (FeedClient with ``backfill_url``)."""
    return FeedClient(f"{url}/ws/events/", {"Authorization": f"Token {token}"}, open_timeout_s=5,
                      backfill_url=f"{url.replace('ws://', 'http://', 1)}/api/v1/events/recent")


def test_an_idle_feed_socket_stays_open_past_the_layers_blocking_read(tmp_path, django_user_model):
    """channels-redis reads a consumer's channel in blocking reads of 5 s; redis-py 8 ended socket reads after
    5 s by default, so every feed socket without traffic closed with 1011 after about 5 s."""
    broker = RedisServer(tmp_path)
    broker.start()
    user = django_user_model.objects.create_user(username="idle", password="pw-idle-1")
    token = api_token_create(user_id=user.pk, name="test")[1]
    try:
        with daphne_server(tmp_path / "daphne.log", {"REDIS_URL": broker.url(0), "ALERTS_PUBLIC_FEED": "false"}) as url:
            client = feed_client(url, token)
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
    token = api_token_create(user_id=user.pk, name="test")[1]
    broker = RedisServer(tmp_path)
    broker.start()
    env = {"REDIS_URL": broker.url(0), "CELERY_BROKER_URL": broker.url(1), "ALERTS_PUBLIC_FEED": "false",
           "ETH_START_BLOCK": str(script.first)}
    client = None
    driver = CollectorDriver(database=connection.settings_dict["NAME"], rpc_url=chain.url, to_block=script.last,
                             env=env, log=tmp_path / "collector.log")
    try:
        with daphne_server(tmp_path / "daphne.log", env) as url:
            client = feed_client(url, token)
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
          f"{len(client.event_ids())}, the backfill added {len(client.backfilled)}; {client.connects} sockets, "
          f"closed by {client.closes}; backfilled, then sent by the "
          f"sweep too (the client keeps its first copy): {len(set(client.event_ids()) & set(client.backfilled))}")
    assert {event_id: n for event_id, n in Counter(client.event_ids()).items() if n > 1} == {}  # none doubled
    assert sorted(client.seen()) == sorted(stored)  # none lost
    assert during, "no event was stored while Redis was down"
    assert during <= set(client.event_ids())  # the sweep sent them after Redis returned (not only the backfill)
    assert not WhaleEvent.objects.filter(published_at__isnull=True).exists()
