"""Fixtures of the Bitcoin ledger tests: an Esplora client on the session's replay node."""

import pytest

from ledgers.glass.bitcoin.client import EsploraClient


@pytest.fixture
def esplora(replay):
    """An Esplora client on the replay node: fast retries, no request budget."""
    client = EsploraClient(replay.bitcoin_url, timeout_s=5, retries=2, backoff_s=0.01)
    yield client
    client.close()
