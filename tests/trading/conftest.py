"""Fixtures of the trading tests."""

import pytest
import requests
from cryptography.fernet import Fernet

COINSPOT_KEY, COINSPOT_SECRET = "live-key-0001", "live-secret-0001"


@pytest.fixture
def coinspot(replay, settings):
    """The replay node with its Coinspot simulator reset and pointed at: one key (COINSPOT_KEY) holding 10,000
    USDT, BTC at bid 50,000 / ask 50,020; live trading's setting on, a credentials key, a 2 s venue timeout."""
    replay.coinspot.reset()
    settings.COINSPOT_API_URL = replay.url + "/coinspot"
    settings.TRADING_LIVE_ENABLED = True
    settings.TRADING_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    settings.TRADING_VENUE_TIMEOUT_S = 2.0
    for name, body in (("accounts", {"key": COINSPOT_KEY, "secret": COINSPOT_SECRET, "balances": {"USDT": "10000"}}),
                       ("prices", {"btc": {"bid": "50000", "ask": "50020", "last": "50010"}})):
        response = requests.post(f"{replay.url}/_replay/coinspot/{name}", json=body, timeout=10)
        assert response.status_code == 200, response.text
    yield replay
    replay.coinspot.reset()
