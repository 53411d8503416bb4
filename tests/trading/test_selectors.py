"""market_price: the stored-price rules trading relies on (trading.selectors module docstring)."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.trading.factories import T0, set_price
from trading.selectors import market_price

pytestmark = pytest.mark.django_db

D = Decimal


def test_the_newest_price_at_or_before_the_time_case_insensitive():
    set_price("ETH", "2000", T0)
    set_price("ETH", "2100", T0 + timedelta(hours=2))  # after the asked time: not used
    assert market_price("eth", T0 + timedelta(hours=1)) == D(2000)
    assert market_price(" ETH ", T0 + timedelta(hours=2)) == D(2100)
    assert market_price("ETH", T0 - timedelta(seconds=1)) is None


def test_a_wrapped_token_takes_its_reference_price_and_a_stablecoin_is_one():
    set_price("BTC", "50000", T0)
    assert market_price("WBTC", T0) == D(50000)
    assert market_price("USDC", T0) == D(1)
    assert market_price("DAI", T0 - timedelta(days=3650)) == D(1)  # no price row needed


def test_unknown_symbols_and_assets_without_prices_are_none():
    assert market_price("NOPE", T0) is None
    assert market_price("PEPE", T0) is None  # a known asset without any stored price


def test_a_price_older_than_the_max_age_is_stale(settings):
    set_price("ETH", "2000", T0)
    settings.TRADING_PRICE_MAX_AGE_HOURS = 48
    assert market_price("ETH", T0 + timedelta(hours=48)) == D(2000)
    assert market_price("ETH", T0 + timedelta(hours=48, seconds=1)) is None
    settings.TRADING_PRICE_MAX_AGE_HOURS = 1
    assert market_price("ETH", T0 + timedelta(minutes=61)) is None
