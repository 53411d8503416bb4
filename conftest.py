"""Shared pytest fixtures. Tests run against PostgreSQL and Redis (see Makefile `test`)."""

import pytest
from django.conf import settings


@pytest.fixture(autouse=True)
def _read_cache_fresh():
    """Start each test with no cached API read (``whales.readcache``): a test's writes are rolled back, not
    committed, so they never bump the generations the answers it cached were stored under."""
    from whales.readcache import read_cache_invalidate

    for scope in ("whales", "collectors"):
        try:
            read_cache_invalidate(scope)
        except Exception:  # a fault test may have stopped Redis: nothing can be cached then
            return


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="analyst", password="pw-analyst-1")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="staff", password="pw-staff-1", is_staff=True)


@pytest.fixture
def signed_in(client, user):
    """The Django test client, signed in as ``user``."""
    client.force_login(user)
    return client


@pytest.fixture
def wallet(db):
    """The pages' scene (``tests.whales.factories.whale_scene``); returns its Ethereum whale."""
    from tests.whales.factories import whale_scene

    return whale_scene()


@pytest.fixture
def only_test_collector(monkeypatch):
    """A collector registry holding only ``test.collector`` (glass ledger, stale after 600 s, a run that
    returns ok), for the health, collectors and dashboard tests. Returns the collector."""
    import ledgers.registry
    from ledgers.registry import Collector, CollectorResult, Ledger

    collector = Collector(
        name="test.collector", ledger=Ledger.GLASS, task="tests.collect", description="Test collector",
        stale_after_s=600, run=lambda **_: CollectorResult(collector="test.collector", status="ok"),
    )
    monkeypatch.setattr(ledgers.registry, "_REGISTRY", {collector.name: collector})
    return collector


@pytest.fixture
def broker_queue():
    """The Celery default queue on the test broker (Redis, ``make test``), emptied first; yields a function
    that drains it and returns the task names of the messages it held, in order."""
    from celery import current_app

    with current_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(current_app.conf.task_default_queue)
        queue.clear()

        def task_names() -> list[str]:
            names = []
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    return names
                names.append(message.headers["task"])
                message.ack()

        yield task_names
        queue.close()


@pytest.fixture
def broker_tasks():
    """Like ``broker_queue``, but the drain function returns each message's (task name, keyword arguments), so
    a test can run what was queued itself (``current_app.tasks[name].apply(kwargs=...)``)."""
    from celery import current_app

    with current_app.connection_for_read() as conn:
        queue = conn.SimpleQueue(current_app.conf.task_default_queue)
        queue.clear()

        def tasks() -> list[tuple[str, dict]]:
            found = []
            while True:
                try:
                    message = queue.get(timeout=0.5)
                except queue.Empty:
                    return found
                _args, kwargs, _embed = message.payload  # Celery's message protocol 2
                found.append((message.headers["task"], kwargs))
                message.ack()

        yield tasks
        queue.close()


@pytest.fixture
def celery_worker_thread(broker_queue):
    """A real Celery worker (thread pool) in this process, consuming the suite's broker (Redis) until the
    test ends; the default queue is emptied first. Celery sets the root logger's level for its worker:
    it is started at the suite's level and that level is put back afterwards (``caplog`` tests rely on it)."""
    import logging

    from celery import current_app
    from celery.contrib.testing.worker import start_worker

    root = logging.getLogger()
    level = root.level
    with start_worker(current_app, pool="threads", perform_ping_check=False, shutdown_timeout=10,
                      loglevel=logging.getLevelName(level)):
        yield
    root.setLevel(level)


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture(scope="session")
def replay_data_dir():
    """The recorded mainnet data (../shared/data), read in place, never copied."""
    path = settings.REPLAY_DATA_DIR
    assert path.is_dir(), f"recorded data not found at {path} (set REPLAY_DATA_DIR)"
    return path


@pytest.fixture(scope="session")
def replay_node(replay_data_dir):
    """One ledgers.replay node for the whole session, on a free loopback port, serving the recordings."""
    from ledgers.replay.server import ReplayServer

    server = ReplayServer(replay_data_dir, port=0).start()
    yield server
    server.stop()


@pytest.fixture
def replay(replay_node):
    """The session's replay node; after the test its faults (HTTP and WebSocket) are cleared, its
    Bitcoin WebSocket stream and rate are reset (cursor 0, counters and REST confirmations cleared),
    its Hyperliquid request log is emptied and its simulated Hyperliquid venue is reset (users, orders, mids,
    faults)."""
    rate = replay_node.ws_rate
    yield replay_node
    replay_node.faults.clear()
    replay_node.hyperliquid.reset()
    replay_node.hyperliquid_exchange.reset()
    replay_node.hyperliquid_exchange.faults_clear()
    replay_node.coinspot.reset()
    replay_node.mempool_stream.reset()  # also clears the WebSocket faults and the stream's REST confirmations
    replay_node.ws_rate = rate
