"""Shared pytest fixtures. Tests run against PostgreSQL and Redis (see Makefile `test`)."""

import pytest
from django.conf import settings


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="analyst", password="pw-analyst-1")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(username="staff", password="pw-staff-1", is_staff=True)


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
    and its Hyperliquid request log is emptied."""
    rate = replay_node.ws_rate
    yield replay_node
    replay_node.faults.clear()
    replay_node.hyperliquid.reset()
    replay_node.mempool_stream.reset()  # also clears the WebSocket faults and the stream's REST confirmations
    replay_node.ws_rate = rate
