"""The Hyperliquid-mid venue: prices from the replay node's recorded allMids, compared with the raw
cassette (../shared/data/hyperliquid-python-sdk-cassettes/test_get_all_mids.yaml, read here)."""

import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.utils import timezone

from tests.trading.factories import AccountFactory
from trading.models import Fill, OrderStatus, Venue
from trading.selectors import market_price
from trading.services import order_place
from trading.venues import hyperliquid_mid, mids_cache_clear, price_source_for

pytestmark = pytest.mark.django_db

D = Decimal


def recorded_mids() -> dict[str, str]:
    path = Path(django_settings.REPLAY_DATA_DIR) / "hyperliquid-python-sdk-cassettes" / "test_get_all_mids.yaml"
    [interaction] = yaml.safe_load(path.read_text())["interactions"]
    assert json.loads(interaction["request"]["body"]) == {"type": "allMids"}
    return json.loads(interaction["response"]["body"]["string"])


@pytest.fixture
def hl_venue(replay, settings):
    settings.HYPERLIQUID_API_URL = replay.hyperliquid_url
    settings.HYPERLIQUID_WEIGHT_BUDGET = "1000000/minute"
    settings.TRADING_HYPERLIQUID_MID_TTL_S = 60
    mids_cache_clear()
    yield replay
    mids_cache_clear()


def test_mid_is_the_recorded_allmids_price_and_is_cached(hl_venue):
    raw = recorded_mids()
    now = timezone.now()
    assert hyperliquid_mid("ETH", now) == D(raw["ETH"]) == D("1903.95")
    assert hyperliquid_mid("btc", now) == D(raw["BTC"])
    assert hyperliquid_mid("NOPE", now) is None
    assert [t for _, t, _, _ in hl_venue.hyperliquid.requests] == ["allMids"]  # one request for three prices


def test_a_mid_is_only_a_price_for_now(hl_venue, settings):
    settings.TRADING_HYPERLIQUID_MID_MAX_AGE_S = 60
    assert hyperliquid_mid("ETH", timezone.now() - timedelta(minutes=2)) is None
    assert hyperliquid_mid("ETH", timezone.now() - timedelta(seconds=30)) == D("1903.95")


def test_an_unreachable_api_gives_no_price_and_blocks_the_order(settings):
    settings.HYPERLIQUID_API_URL = "http://127.0.0.1:9/hyperliquid"  # discard port: connection refused
    settings.HYPERLIQUID_RETRIES = 0
    mids_cache_clear()
    account = AccountFactory(venue=Venue.HYPERLIQUID)
    order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D("0.1"), client_order_id="x")
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason.startswith("missing_price: no price for ETH")
    mids_cache_clear()


def test_a_hyperliquid_venue_account_fills_at_the_mid_plus_slippage(hl_venue):
    account = AccountFactory(venue=Venue.HYPERLIQUID, slippage_bps=D(5), fee_bps=D(10))
    order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D("0.5"), client_order_id="b")
    assert order.status == OrderStatus.FILLED, order.reject_reason
    mid = D(recorded_mids()["ETH"])
    fill = Fill.objects.get(order=order)
    assert fill.price_usd == mid * D("1.0005")
    assert fill.notional_usd == (D("0.5") * mid * D("1.0005")).quantize(D("1e-8"))
    assert fill.fee_usd == (fill.notional_usd * D("0.001")).quantize(D("1e-8"))


def test_price_source_for_each_venue():
    assert price_source_for(Venue.MARKET) is market_price
    assert price_source_for(Venue.HYPERLIQUID) is hyperliquid_mid
    with pytest.raises(ValueError, match="unknown venue 'ftx'"):
        price_source_for("ftx")


def test_the_api_creates_an_account_on_a_venue_and_refuses_an_unknown_one(api_client, user):
    api_client.force_authenticate(user)
    response = api_client.post("/api/v1/trading/accounts", {"name": "hl", "venue": "hyperliquid"}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["venue"] == "hyperliquid"
    bad = api_client.post("/api/v1/trading/accounts", {"name": "x", "venue": "ftx"}, format="json")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("venue:")
