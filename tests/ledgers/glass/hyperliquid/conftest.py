"""Fixtures of the Hyperliquid tests: an Info API client on the session's replay node."""

import pytest

from ledgers.glass.hyperliquid.client import HyperliquidClient


@pytest.fixture
def hl_client(replay):
    """A client on the replay node: fast retries, no weight budget."""
    client = HyperliquidClient(replay.hyperliquid_url, timeout_s=5, retries=2, backoff_s=0.01)
    yield client
    client.close()
