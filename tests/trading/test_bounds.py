"""Bounds on one user's trading work (issue 14, item 10): accounts and strategies per user, the shortest
strategy interval, and an hourly equity curve in a fixed number of queries."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api import assert_error
from tests.trading.factories import AccountFactory, StrategyFactory, UserFactory, set_price
from tests.trading.test_summary import EXPECTED_DAILY, NOW, PRICES, build
from trading.models import Account, Strategy
from trading.pnl import equity_curve
from trading.selectors import market_price

pytestmark = pytest.mark.django_db

BASE = "/api/v1/trading"
ACCOUNT_BODY = {"name": "next", "starting_cash_usd": "1000"}


@pytest.fixture
def client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def test_an_account_over_the_per_user_cap_is_400_and_not_created(client, user, settings):
    settings.LIMITS_MAX_ACCOUNTS_PER_USER = 2
    AccountFactory(owner=UserFactory())  # another user's accounts do not count
    assert client.post(f"{BASE}/accounts", {**ACCOUNT_BODY, "name": "one"}, format="json").status_code == 201
    assert client.post(f"{BASE}/accounts", {**ACCOUNT_BODY, "name": "two"}, format="json").status_code == 201

    detail = assert_error(client.post(f"{BASE}/accounts", ACCOUNT_BODY, format="json"), 400, "quota_exceeded")

    assert detail == "accounts: you have 2, the limit is 2; delete one to create another."
    assert sorted(Account.objects.filter(owner=user).values_list("name", flat=True)) == ["one", "two"]


def test_a_strategy_over_the_per_user_cap_is_400_and_not_created(client, user, settings):
    settings.LIMITS_MAX_STRATEGIES_PER_USER = 2
    first, second = AccountFactory(owner=user), AccountFactory(owner=user)
    StrategyFactory(account=first, name="a")
    StrategyFactory(account=second, name="b")  # the cap is per user, over all their accounts
    StrategyFactory(account=AccountFactory(owner=UserFactory()), name="theirs")

    response = client.post(f"{BASE}/strategies", {"account": first.pk, "name": "c", "kind": "follow_smart_money"},
                           format="json")

    assert assert_error(response, 400, "quota_exceeded") == (
        "strategies: you have 2, the limit is 2; delete one to create another.")
    assert sorted(Strategy.objects.filter(account__owner=user).values_list("name", flat=True)) == ["a", "b"]


@pytest.mark.parametrize(("every_seconds", "status"), [(10, 400), (59, 400), (60, 201)])
def test_strategies_run_at_most_once_a_minute(client, user, every_seconds, status):
    account = AccountFactory(owner=user)
    response = client.post(f"{BASE}/strategies", {"account": account.pk, "name": "fast", "kind": "follow_smart_money",
                                                  "every_seconds": every_seconds}, format="json")
    assert response.status_code == status
    assert Strategy.objects.count() == (1 if status == 201 else 0)


@pytest.fixture
def priced_account(settings):
    """test_summary's fills, with its price table stored as PriceHistory rows. A one-hour maximum age makes
    market_price answer exactly that table (every other point is over an hour from a stored price)."""
    settings.TRADING_PRICE_MAX_AGE_HOURS = 1
    account = AccountFactory()
    build(account)
    for (symbol, when), price in PRICES.items():
        set_price(symbol, price, at=when)
    return account


def test_the_daily_curve_on_stored_prices_is_the_hand_computed_one(priced_account):
    assert equity_curve(account_id=priced_account.pk, now=NOW, price_source=market_price) == EXPECTED_DAILY


def test_an_hourly_curve_costs_a_fixed_number_of_queries(priced_account):
    # Reference: market_price asked once per point and symbol (the wrapper is not market_price itself).
    expected = equity_curve(account_id=priced_account.pk, interval="hour", now=NOW,
                            price_source=lambda symbol, when: market_price(symbol, when))
    assert len(expected) == 3 * 24 + 18 + 1  # hours from day 1 12:00 to day 5 06:00, both included

    with CaptureQueriesContext(connection) as queries:
        curve = equity_curve(account_id=priced_account.pk, interval="hour", now=NOW, price_source=market_price)

    assert curve == expected
    # account, fills, assets, prices: not hours x symbols (the reference above made 91 x up to 2 more).
    assert len(queries) == 4
    assert curve[0] == (EXPECTED_DAILY[0][0].replace(hour=12), Decimal("5996") + 2 * Decimal("2000"))
