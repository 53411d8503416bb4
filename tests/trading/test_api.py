"""The trading API (/api/v1/trading/...): auth, owner scoping, validation, accounts and halt/resume,
orders (idempotency, cancel, filters), positions and P&L, credentials never shown, OpenAPI schema.

Prices are PriceHistory rows written just before each request (``set_price``), so the services'
default ``market_price`` sees them as fresh. Expected values are worked out by hand from those prices
and the account's 10 bps fee (no slippage).
"""

import csv
import re
from datetime import timedelta
from decimal import Context, Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from alerts.tokens import api_token_create
from tests.api import assert_error
from tests.trading.factories import AccountFactory, StrategyFactory, UserFactory, set_price
from trading.crypto import credential_store
from trading.models import Account, AccountAudit, Fill, Order, OrderStatus, Position
from trading.pnl import PnlSummary

pytestmark = pytest.mark.django_db

D = Decimal
API = "/api/v1/trading"
ACCOUNTS, ORDERS = f"{API}/accounts", f"{API}/orders"
ACCOUNT_QUERY_PATHS = ["positions", "pnl/summary", "pnl/by-strategy", "pnl/by-coin", "pnl/history", "pnl/realized",
                       "pnl/unrealized"]


def places(value: str | Decimal, n: int) -> str:
    return f"{D(value).quantize(D(1).scaleb(-n), context=Context(prec=80)):f}"


def usd(value: str | Decimal) -> str:
    return places(value, 8)


def px(value: str | Decimal) -> str:
    return places(value, 18)


def qty(value: str | Decimal) -> str:
    return places(value, 30)


@pytest.fixture
def client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def account(user):
    return AccountFactory(owner=user, name="main", fee_bps=D(10))


@pytest.fixture
def other_account():
    return AccountFactory(owner=UserFactory(), name="not yours")


@pytest.fixture
def prices():
    """ETH 2000 and BTC 50000, a minute old."""
    at = timezone.now() - timedelta(minutes=1)
    set_price("ETH", "2000", at)
    set_price("BTC", "50000", at)


def place(client, account, /, **body):
    return client.post(ORDERS, {"account": account.pk, "symbol": "ETH", "side": "buy", "quantity": "1", **body},
                       format="json")


# --- auth ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("get", ACCOUNTS), ("post", ACCOUNTS), ("get", f"{ACCOUNTS}/1"), ("post", f"{ACCOUNTS}/1/halt"),
    ("post", f"{ACCOUNTS}/1/resume"), ("get", ORDERS), ("post", ORDERS), ("get", f"{ORDERS}/1"),
    ("post", f"{ORDERS}/1/cancel"), *[("get", f"{API}/{p}?account=1") for p in ACCOUNT_QUERY_PATHS],
])
def test_anonymous_requests_are_401(api_client, method, path):
    assert_error(getattr(api_client, method)(path), 401, "not_authenticated")


def test_token_and_session_auth_work(api_client, user, account):
    _, token = api_token_create(user_id=user.pk, name="test")
    response = api_client.get(ACCOUNTS, HTTP_AUTHORIZATION=f"Token {token}")
    assert (response.status_code, response.json()["total"]) == (200, 1)
    api_client.credentials()
    api_client.login(username="analyst", password="pw-analyst-1")
    assert api_client.get(ACCOUNTS).json()["total"] == 1


# --- owner scoping ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("get", "accounts/{account}", None),
    ("post", "accounts/{account}/halt", {"reason": "mine now"}),
    ("post", "accounts/{account}/resume", None),
    ("get", "orders?account={account}", None),
    ("post", "orders", {"symbol": "ETH", "side": "buy", "quantity": "1"}),
    ("get", "orders/{order}", None),
    ("post", "orders/{order}/cancel", None),
    *[("get", f"{p}?account={{account}}", None) for p in ACCOUNT_QUERY_PATHS],
])
def test_another_users_account_or_order_is_404_and_unchanged(client, other_account, method, path, body):
    order = Order.objects.create(account=other_account, client_order_id="theirs", symbol="ETH", side="buy",
                                 type="limit", quantity=D(1), limit_price_usd=D(1000), status=OrderStatus.SUBMITTED)
    if body is not None and path == "orders":
        body = {**body, "account": other_account.pk}
    before = (Account.objects.values().get(pk=other_account.pk), list(Order.objects.values()))
    response = getattr(client, method)(f"{API}/{path.format(account=other_account.pk, order=order.pk)}", body,
                                       format="json")
    detail = assert_error(response, 404, "not_found")
    assert detail in (f"No trading account {other_account.pk}.", f"No order {order.pk}.")
    assert (Account.objects.values().get(pk=other_account.pk), list(Order.objects.values())) == before


def test_a_missing_account_answers_exactly_like_another_users(client, other_account):
    theirs = client.get(f"{ACCOUNTS}/{other_account.pk}").json()
    missing = client.get(f"{ACCOUNTS}/{other_account.pk + 1000}").json()
    assert (theirs["code"], missing["code"]) == ("not_found", "not_found")


@pytest.mark.parametrize("path", ACCOUNT_QUERY_PATHS)
@pytest.mark.parametrize("query", ["", "?account=", "?account=abc", "?account=0", "?account=1.5"])
def test_positions_and_pnl_need_an_integer_account(client, path, query):
    assert assert_error(client.get(f"{API}/{path}{query}"), 400, "invalid_parameter").startswith("account:")


# --- accounts --------------------------------------------------------------------------------------


def test_account_list_shows_only_your_accounts(client, user, account, other_account):
    second = AccountFactory(owner=user, name="second")
    data = client.get(ACCOUNTS).json()
    assert ([a["id"] for a in data["items"]], data["total"]) == ([account.pk, second.pk], 2)


def test_create_a_paper_account_with_limits(client, user):
    response = client.post(ACCOUNTS, {"name": "swing", "starting_cash_usd": "2500.5", "max_position_percent": "25",
                                      "fee_bps": 7.5, "flatten_on_daily_loss": False, "max_orders_per_day": 7},
                           format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    account = Account.objects.get()
    assert data == {
        "id": account.pk, "name": "swing", "mode": "paper", "venue": "market", "base_currency": "USD",
        "starting_cash_usd": "2500.50000000", "cash_usd": "2500.50000000", "portfolio_value_usd": "2500.50000000",
        "halted": False, "halted_reason": "",
        "halted_at": None, "max_position_percent": "25.0000", "max_daily_loss_percent": "5.0000",
        "max_strategy_exposure_percent": "30.0000", "max_orders_per_day": 7, "min_order_usd": "10.00000000",
        "flatten_on_daily_loss": False, "slippage_bps": "5.0000", "fee_bps": "7.5000",
        "max_order_notional_usd": "1000.00000000", "max_daily_notional_usd": "5000.00000000",
        "price_band_percent": "2.0000", "live_venue": "",
        "created_at": data["created_at"], "updated_at": data["updated_at"],
    }
    assert (account.owner_id, account.cash_usd, account.fee_bps) == (user.pk, D("2500.5"), D("7.5"))


def test_create_defaults_to_10000_cash(client):
    data = client.post(ACCOUNTS, {"name": "plain"}, format="json").json()
    assert (data["mode"], data["starting_cash_usd"], data["cash_usd"]) == ("paper", "10000.00000000", "10000.00000000")


def test_a_duplicate_name_is_400_but_another_users_name_is_free(client, account, other_account):
    detail = assert_error(client.post(ACCOUNTS, {"name": "main"}, format="json"), 400, "invalid_parameter")
    assert detail == "name: you already have an account named 'main'"
    assert client.post(ACCOUNTS, {"name": "not yours"}, format="json").status_code == 201
    assert Account.objects.count() == 3


def test_the_deprecated_starting_cash_key_still_creates_the_same_account(client):
    new = client.post(ACCOUNTS, {"name": "new key", "starting_cash_usd": "2500.5"}, format="json")
    old = client.post(ACCOUNTS, {"name": "old key", "starting_cash": "2500.5"}, format="json")
    assert (new.status_code, old.status_code) == (201, 201), old.content
    for data in (new.json(), old.json()):
        assert (data["starting_cash_usd"], data["cash_usd"]) == ("2500.50000000", "2500.50000000")
        assert "starting_cash" not in data and "cash" not in data
    assert sorted(Account.objects.values_list("name", "starting_cash_usd", "cash_usd")) == [
        ("new key", D("2500.5"), D("2500.5")), ("old key", D("2500.5"), D("2500.5"))]


def test_the_starting_cash_key_and_its_new_name_together_are_400(client):
    body = {"name": "both", "starting_cash": "100", "starting_cash_usd": "100"}
    detail = assert_error(client.post(ACCOUNTS, body, format="json"), 400, "invalid_parameter")
    assert detail == "starting_cash: Deprecated alias of starting_cash_usd; give starting_cash_usd only."
    assert Account.objects.count() == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "mode": "live"}, "mode"),
    ({"name": "x", "starting_cash_usd": "0"}, "starting_cash_usd"),
    ({"name": "x", "starting_cash_usd": "-100"}, "starting_cash_usd"),
    ({"name": "x", "starting_cash_usd": "lots"}, "starting_cash_usd"),
    ({"name": "x", "max_position_percent": "0"}, "max_position_percent"),
    ({"name": "x", "max_position_percent": "100.5"}, "max_position_percent"),
    ({"name": "x", "max_daily_loss_percent": "-1"}, "max_daily_loss_percent"),
    ({"name": "x", "max_strategy_exposure_percent": "101"}, "max_strategy_exposure_percent"),
    ({"name": "x", "max_orders_per_day": 0}, "max_orders_per_day"),
    ({"name": "x", "min_order_usd": "-1"}, "min_order_usd"),
    ({"name": "x", "slippage_bps": "-0.5"}, "slippage_bps"),
    ({"name": "x", "fee_bps": -1}, "fee_bps"),
    ({"name": ""}, "name"),
    ({"starting_cash_usd": "100"}, "name"),
])
def test_invalid_account_bodies_are_400_and_create_nothing(client, body, field):
    detail = assert_error(client.post(ACCOUNTS, body, format="json"), 400, "invalid_parameter")
    assert detail.startswith(f"{field}:")
    assert Account.objects.count() == 0


def test_account_detail_values_the_portfolio_at_market(client, account, prices):
    assert place(client, account).json()["status"] == "filled"  # 1 ETH at 2000 + fee 2
    set_price("ETH", "2100", timezone.now())
    data = client.get(f"{ACCOUNTS}/{account.pk}").json()
    assert (data["cash_usd"], data["portfolio_value_usd"]) == (usd("7998"), usd(D("7998") + D("2100")))


def test_portfolio_value_is_null_when_a_held_symbol_is_unpriced(client, account):
    Position.objects.create(account=account, symbol="NOPE", quantity=D(1), average_price_usd=D(5), total_cost_usd=D(5))
    assert client.get(f"{ACCOUNTS}/{account.pk}").json()["portfolio_value_usd"] is None


# --- halt / resume ---------------------------------------------------------------------------------


def test_halt_blocks_orders_until_resumed(client, user, account, prices):
    response = client.post(f"{ACCOUNTS}/{account.pk}/halt", {"reason": "panic"}, format="json")
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["id"], data["halted"], data["halted_reason"]) == (account.pk, True, "panic")
    assert data["halted_at"] is not None
    audit = AccountAudit.objects.get()
    assert (audit.account_id, audit.action, audit.reason, audit.by_user_id) == (account.pk, "halt", "panic", user.pk)

    rejected = place(client, account, client_order_id="while-halted")
    assert rejected.status_code == 201
    assert (rejected.json()["status"], rejected.json()["reject_reason"]) == ("rejected", "account_halted: panic")
    assert Fill.objects.count() == 0

    resumed = client.post(f"{ACCOUNTS}/{account.pk}/resume", {"reason": "calm"}, format="json")
    assert resumed.status_code == 200
    assert (resumed.json()["halted"], resumed.json()["halted_reason"], resumed.json()["halted_at"]) == (False, "", None)
    assert list(AccountAudit.objects.order_by("id").values_list("action", "reason", "by_user_id")) == [
        ("halt", "panic", user.pk), ("resume", "calm", user.pk)]
    assert place(client, account, client_order_id="after-resume").json()["status"] == "filled"


def test_halt_without_a_reason_records_manual_halt(client, account):
    assert client.post(f"{ACCOUNTS}/{account.pk}/halt").json()["halted_reason"] == "manual halt"


# --- orders ----------------------------------------------------------------------------------------


def test_a_market_order_fills_and_returns_every_field_decimals_as_strings(client, account, prices):
    response = place(client, account, quantity=0.5, client_order_id="c1")
    assert response.status_code == 201, response.content
    data = response.json()
    order = Order.objects.get()
    assert data == {
        "id": order.pk, "account": account.pk, "strategy": None, "client_order_id": "c1", "symbol": "ETH",
        "side": "buy", "type": "market", "quantity": qty("0.5"), "limit_price_usd": None, "status": "filled",
        "reject_reason": "", "filled_quantity": qty("0.5"), "average_fill_price_usd": px("2000"),
        "venue": "paper", "venue_order_id": "", "reduce_only": False,
        "created_at": data["created_at"], "submitted_at": data["created_at"], "filled_at": data["created_at"],
        "cancelled_at": None,
    }
    assert (order.quantity, Fill.objects.get().fee_usd) == (D("0.5"), D("1"))  # 1000 x 10 bps
    assert client.get(f"{ORDERS}/{order.pk}").json() == data


def test_a_rejected_order_is_still_stored_and_201(client, account):
    response = place(client, account, symbol="NOPE", client_order_id="r1")
    assert response.status_code == 201
    assert response.json()["status"] == "rejected"
    assert response.json()["reject_reason"].startswith("missing_price: no price for NOPE")
    assert Order.objects.get().status == OrderStatus.REJECTED


def test_a_retry_with_the_same_client_order_id_places_nothing(client, account, prices):
    first = place(client, account, client_order_id="retry-1")
    cash = Account.objects.get(pk=account.pk).cash_usd
    second = place(client, account, client_order_id="retry-1")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert (Order.objects.count(), Fill.objects.count()) == (1, 1)
    assert Account.objects.get(pk=account.pk).cash_usd == cash == D("7998")


def test_without_client_order_id_one_is_generated(client, account, prices):
    ids = [place(client, account).json()["client_order_id"] for _ in range(2)]
    assert all(re.fullmatch(r"api:[0-9a-f]{32}", i) for i in ids)
    assert ids[0] != ids[1]
    assert Order.objects.count() == 2


def test_an_order_for_a_strategy_of_the_account(client, account, prices):
    strategy = StrategyFactory(account=account)
    assert place(client, account, strategy=strategy.pk).json()["strategy"] == strategy.pk


@pytest.mark.parametrize(("body", "field"), [
    ({"side": "long"}, "side"),
    ({"quantity": "-1"}, "quantity"),
    ({"quantity": "0"}, "quantity"),
    ({"quantity": "abc"}, "quantity"),
    ({"quantity": "0." + "0" * 30 + "1"}, "quantity"),
    ({"type": "limit"}, "limit_price_usd"),
    ({"type": "limit", "limit_price_usd": "-5"}, "limit_price_usd"),
    ({"type": "market", "limit_price_usd": "1900"}, "limit_price_usd"),
    ({"limit_price_usd": 1900}, "limit_price_usd"),
    ({"type": "limit", "limit_price": "-5"}, "limit_price_usd"),  # the deprecated key, validated as the new one
    ({"type": "stop"}, "type"),
    ({"symbol": ""}, "symbol"),
    ({"account": "x"}, "account"),
    ({"strategy": "s"}, "strategy"),
])
def test_invalid_order_bodies_are_400_and_store_nothing(client, account, prices, body, field):
    detail = assert_error(place(client, account, **body), 400, "invalid_parameter")
    assert detail.startswith(f"{field}:")
    assert Order.objects.count() == 0


def test_a_strategy_of_another_account_is_400(client, account, prices):
    foreign = StrategyFactory()
    detail = assert_error(place(client, account, strategy=foreign.pk), 400, "invalid_parameter")
    assert detail == f"strategy {foreign.pk} is not a strategy of account {account.pk}"
    assert Order.objects.count() == 0


ETH_CSV = Path(settings.REPLAY_DATA_DIR) / "prices-coingecko-daily-csv" / "eth-usd-max.csv"


def raw_eth_price(day: str) -> str:
    """The recorded daily ETH price of ``day`` (YYYY-MM-DD), the CSV's own text."""
    with ETH_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["snapped_at"].startswith(day):
                return row["price"]
    raise AssertionError(f"no ETH price for {day}")


def test_the_deprecated_limit_price_key_still_places_the_same_limit_order(client, account):
    # Market: the recorded ETH price of 2024-03-14; limit: the (lower) recorded price of the 13th,
    # so both buys rest as submitted limit orders.
    mark, limit = raw_eth_price("2024-03-14"), raw_eth_price("2024-03-13")
    assert D(limit) < D(mark)
    set_price("ETH", mark, timezone.now() - timedelta(minutes=1))
    new = place(client, account, type="limit", limit_price_usd=limit, client_order_id="new-key")
    old = place(client, account, type="limit", limit_price=limit, client_order_id="old-key")
    assert (new.status_code, old.status_code) == (201, 201), old.content
    for data in (new.json(), old.json()):
        assert (data["type"], data["status"], data["limit_price_usd"]) == ("limit", "submitted", px(limit))
        assert "limit_price" not in data
    assert sorted(Order.objects.values_list("client_order_id", "type", "status", "limit_price_usd")) == [
        ("new-key", "limit", "submitted", D(limit)), ("old-key", "limit", "submitted", D(limit))]
    assert Fill.objects.count() == 0


def test_the_limit_price_key_and_its_new_name_together_are_400(client, account, prices):
    response = place(client, account, type="limit", limit_price="1500", limit_price_usd="1500")
    detail = assert_error(response, 400, "invalid_parameter")
    assert detail == "limit_price: Deprecated alias of limit_price_usd; give limit_price_usd only."
    assert Order.objects.count() == 0


def test_cancel_an_open_limit_order_then_cancelling_again_is_409(client, account, prices):
    order = place(client, account, type="limit", limit_price_usd="1500").json()
    assert (order["status"], order["limit_price_usd"]) == ("submitted", px("1500"))
    response = client.post(f"{ORDERS}/{order['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelled_at"] is not None
    detail = assert_error(client.post(f"{ORDERS}/{order['id']}/cancel"), 409, "conflict")
    assert detail == f"order {order['id']} is cancelled, not open"
    assert Order.objects.get().status == OrderStatus.CANCELLED


def test_cancelling_a_filled_order_is_409(client, account, prices):
    order = place(client, account).json()
    assert_error(client.post(f"{ORDERS}/{order['id']}/cancel"), 409, "conflict")
    assert Order.objects.get().status == OrderStatus.FILLED


@pytest.fixture
def orders(user, account, other_account):
    now = timezone.now()
    second = AccountFactory(owner=user, name="second")
    strategy = StrategyFactory(account=account)

    def make(acct, symbol, side, status, hours, strat=None):
        return Order.objects.create(account=acct, strategy=strat, client_order_id=f"{symbol}{hours}", symbol=symbol,
                                    side=side, quantity=D(1), status=status, created_at=now - timedelta(hours=hours))

    o1 = make(account, "ETH", "buy", OrderStatus.FILLED, 3, strategy)
    o2 = make(account, "BTC", "sell", OrderStatus.REJECTED, 2)
    o3 = make(second, "ETH", "sell", OrderStatus.SUBMITTED, 1)
    make(other_account, "ETH", "buy", OrderStatus.FILLED, 0.5)
    return {"now": now, "account": account, "second": second, "strategy": strategy, "o1": o1, "o2": o2, "o3": o3}


@pytest.mark.parametrize(("query", "expected"), [
    ({}, ["o3", "o2", "o1"]),
    ({"account": "account"}, ["o2", "o1"]),
    ({"account": "second"}, ["o3"]),
    ({"status": "rejected"}, ["o2"]),
    ({"symbol": "eth"}, ["o3", "o1"]),
    ({"side": "sell"}, ["o3", "o2"]),
    ({"strategy": "strategy"}, ["o1"]),
    ({"since": -2.5}, ["o3", "o2"]),
    ({"until": -2}, ["o1"]),
    ({"since": -3, "until": -1}, ["o2", "o1"]),
    ({"account": "account", "side": "buy"}, ["o1"]),
])
def test_order_filters(client, orders, query, expected):
    params = {}
    for key, value in query.items():
        if key in ("since", "until"):
            params[key] = (orders["now"] + timedelta(hours=value)).isoformat()
        elif key in ("account", "strategy"):
            params[key] = orders[value].pk
        else:
            params[key] = value
    data = client.get(ORDERS, params).json()
    assert ([o["id"] for o in data["items"]], data["total"]) == ([orders[k].pk for k in expected], len(expected))


def test_order_paging(client, orders):
    data = client.get(ORDERS, {"limit": 1, "offset": 1}).json()
    assert ([o["id"] for o in data["items"]], data["total"]) == ([orders["o2"].pk], 3)


@pytest.mark.parametrize(("query", "param"), [
    ("status=bogus", "status"), ("side=long", "side"), ("account=abc", "account"), ("account=0", "account"),
    ("strategy=x", "strategy"), ("since=yesterday", "since"), ("until=2024-13-01", "until"), ("limit=0", "limit"),
    ("limit=501", "limit"), ("offset=-1", "offset"),
    ("since=2024-03-02T00:00:00Z&until=2024-03-01T00:00:00Z", "until"),
])
def test_bad_order_filters_are_400_naming_the_parameter(client, query, param):
    assert assert_error(client.get(f"{ORDERS}?{query}"), 400, "invalid_parameter").startswith(f"{param}:")


# --- positions and P&L -----------------------------------------------------------------------------


@pytest.fixture
def traded(client, account, prices):
    """Via the API, fee 10 bps: buy 1 ETH @ 2000 (cost 2002), buy 0.1 BTC @ 50000 (cost 5005); ETH to
    2500; strategy s1 sells 0.4 ETH @ 2500 (notional 1000, fee 1, consumes 0.4 x 2002 = 800.8 of the
    manual lot: realized 198.2); BTC to 48000. Cash 10000 - 2002 - 5005 + 999 = 3992."""
    strategy = StrategyFactory(account=account, name="s1")
    assert place(client, account).json()["status"] == "filled"
    assert place(client, account, symbol="BTC", quantity="0.1").json()["status"] == "filled"
    set_price("ETH", "2500", timezone.now())
    sell = place(client, account, side="sell", quantity="0.4", strategy=strategy.pk).json()
    assert sell["status"] == "filled", sell["reject_reason"]
    set_price("BTC", "48000", timezone.now())
    return strategy, sell


ETH_POSITION = {"symbol": "ETH", "quantity": qty("0.6"), "average_price_usd": px("2002"),
                "total_cost_usd": usd("1201.2"), "price_usd": px("2500"), "value_usd": usd("1500"),
                "unrealized_pnl_usd": usd("298.8")}  # 1500 - 1201.2
BTC_POSITION = {"symbol": "BTC", "quantity": qty("0.1"), "average_price_usd": px("50050"),
                "total_cost_usd": usd("5005"), "price_usd": px("48000"), "value_usd": usd("4800"),
                "unrealized_pnl_usd": usd("-205")}  # 4800 - 5005


def test_positions_at_market(client, account, traded):
    assert client.get(f"{API}/positions?account={account.pk}").json() == {
        "items": [BTC_POSITION, ETH_POSITION], "total": 2}
    data = client.get(f"{ACCOUNTS}/{account.pk}").json()
    assert (data["cash_usd"], data["portfolio_value_usd"]) == (usd("3992"), usd(D("3992") + D("1500") + D("4800")))


ACCOUNT_KEYS = {
    "id", "name", "mode", "venue", "base_currency", "starting_cash_usd", "cash_usd", "portfolio_value_usd", "halted",
    "halted_reason", "halted_at", "max_position_percent", "max_daily_loss_percent", "max_strategy_exposure_percent",
    "max_orders_per_day", "min_order_usd", "flatten_on_daily_loss", "slippage_bps", "fee_bps", "created_at",
    "updated_at", "live_venue", "max_order_notional_usd", "max_daily_notional_usd", "price_band_percent"}
PNL_SUMMARY_KEYS = {
    "realized_pnl_usd", "unrealized_pnl_usd", "closed_trades", "wins", "losses", "win_rate_percent",
    "gross_profit_usd", "gross_loss_usd", "profit_factor", "average_win_usd", "largest_win_usd", "average_loss_usd",
    "largest_loss_usd", "volume_usd", "fees_usd", "fill_count", "max_drawdown_percent", "sharpe_ratio"}


def test_account_and_pnl_summary_responses_have_exactly_the_new_keys(client, account, traded):
    detail = client.get(f"{ACCOUNTS}/{account.pk}").json()
    listed = client.get(ACCOUNTS).json()["items"]
    halted = client.post(f"{ACCOUNTS}/{account.pk}/halt").json()
    assert set(detail) == set(listed[0]) == set(halted) == ACCOUNT_KEYS
    summary = client.get(f"{API}/pnl/summary?account={account.pk}").json()
    assert set(summary) == PNL_SUMMARY_KEYS == set(PnlSummary.__required_keys__)
    assert len(PNL_SUMMARY_KEYS) == 18


def test_pnl_summary(client, account, traded):
    response = client.get(f"{API}/pnl/summary?account={account.pk}")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "realized_pnl_usd": usd("198.2"), "unrealized_pnl_usd": usd(D("298.8") - D("205")), "closed_trades": 1,
        "wins": 1, "losses": 0, "win_rate_percent": "100.0000", "gross_profit_usd": usd("198.2"),
        "gross_loss_usd": usd("0"), "profit_factor": None, "average_win_usd": usd("198.2"),
        "largest_win_usd": usd("198.2"), "average_loss_usd": None, "largest_loss_usd": None,
        "volume_usd": usd(D("2000") + D("5000") + D("1000")), "fees_usd": usd(D("2") + D("5") + D("1")),
        "fill_count": 3, "max_drawdown_percent": "0.0000", "sharpe_ratio": None,
    }


def test_pnl_by_coin(client, account, traded):
    assert client.get(f"{API}/pnl/by-coin?account={account.pk}").json() == {"items": [
        {"symbol": "BTC", "realized_pnl_usd": usd("0"), "unrealized_pnl_usd": usd("-205"), "volume_usd": usd("5000"),
         "fees_usd": usd("5"), "fill_count": 1, "quantity": qty("0.1")},
        {"symbol": "ETH", "realized_pnl_usd": usd("198.2"), "unrealized_pnl_usd": usd("298.8"),
         "volume_usd": usd("3000"), "fees_usd": usd("3"), "fill_count": 2, "quantity": qty("0.6")},
    ]}


def test_pnl_by_strategy_realized_goes_to_the_seller_unrealized_to_the_lot_opener(client, account, traded):
    strategy, _ = traded
    assert client.get(f"{API}/pnl/by-strategy?account={account.pk}").json() == {"items": [
        {"strategy_id": strategy.pk, "strategy_name": "s1", "realized_pnl_usd": usd("198.2"),
         "unrealized_pnl_usd": usd("0"), "volume_usd": usd("1000"), "fees_usd": usd("1"), "fill_count": 1},
        {"strategy_id": None, "strategy_name": None, "realized_pnl_usd": usd("0"),
         "unrealized_pnl_usd": usd(D("298.8") - D("205")), "volume_usd": usd("7000"), "fees_usd": usd("7"),
         "fill_count": 2},
    ]}


def test_pnl_realized_lists_sell_fills_with_the_total(client, account, traded):
    strategy, sell = traded
    fill = Fill.objects.get(side="sell")
    data = client.get(f"{API}/pnl/realized?account={account.pk}").json()
    assert data == {"items": [{
        "id": fill.pk, "order": sell["id"], "strategy": strategy.pk, "symbol": "ETH", "side": "sell",
        "price_usd": px("2500"), "quantity": qty("0.4"), "notional_usd": usd("1000"), "fee_usd": usd("1"),
        "realized_pnl_usd": usd("198.2"), "filled_at": data["items"][0]["filled_at"], "venue": "paper",
        "venue_fill_id": ""}],
        "total": 1, "total_realized_pnl_usd": usd("198.2")}
    page = client.get(f"{API}/pnl/realized?account={account.pk}&offset=1").json()
    assert page == {"items": [], "total": 1, "total_realized_pnl_usd": usd("198.2")}


def test_pnl_unrealized_per_position_and_total(client, account, traded):
    assert client.get(f"{API}/pnl/unrealized?account={account.pk}").json() == {
        "items": [BTC_POSITION, ETH_POSITION], "total_unrealized_pnl_usd": usd("93.8")}


def test_pnl_unrealized_total_is_null_when_a_symbol_is_unpriced(client, account):
    Position.objects.create(account=account, symbol="NOPE", quantity=D(2), average_price_usd=D(5), total_cost_usd=D(10))
    assert client.get(f"{API}/pnl/unrealized?account={account.pk}").json() == {
        "items": [{"symbol": "NOPE", "quantity": qty(2), "average_price_usd": px(5), "total_cost_usd": usd(10),
                   "price_usd": None, "value_usd": None, "unrealized_pnl_usd": None}],
        "total_unrealized_pnl_usd": None}


def test_pnl_history_starts_at_starting_cash_and_ends_at_current_equity(client, account, traded):
    data = client.get(f"{API}/pnl/history?account={account.pk}&interval=month").json()
    start = Fill.objects.order_by("filled_at").first().filled_at.replace(day=1, hour=0, minute=0, second=0,
                                                                        microsecond=0)
    assert data["interval"] == "month"
    assert data["points"][0] == {"timestamp": start.isoformat().replace("+00:00", "Z"), "equity_usd": usd("10000")}
    assert data["points"][-1]["equity_usd"] == usd(D("3992") + D("0.6") * D("2500") + D("0.1") * D("48000"))
    assert len(data["points"]) == 2


def test_pnl_history_of_an_account_without_fills_is_empty_and_defaults_to_days(client, account):
    assert client.get(f"{API}/pnl/history?account={account.pk}").json() == {"interval": "day", "points": []}


@pytest.mark.parametrize("interval", ["year", "minute", "DAY", "1"])
def test_pnl_history_bad_interval_is_400(client, account, interval):
    detail = assert_error(client.get(f"{API}/pnl/history?account={account.pk}&interval={interval}"), 400,
                          "invalid_parameter")
    assert detail.startswith("interval:")


# --- credentials -----------------------------------------------------------------------------------


def test_no_response_carries_credential_data(client, account, prices, settings):
    settings.TRADING_CREDENTIALS_KEY = Fernet.generate_key().decode()
    credential = credential_store(account=account, exchange="binance", api_key="PLAIN-API-KEY-123",
                                  secret="PLAIN-SECRET-456")
    order = place(client, account, type="limit", limit_price_usd="1500")
    responses = [
        order, client.get(ACCOUNTS), client.get(f"{ACCOUNTS}/{account.pk}"), client.get(ORDERS),
        client.get(f"{ORDERS}/{order.json()['id']}"),
        *[client.get(f"{API}/{p}?account={account.pk}") for p in ACCOUNT_QUERY_PATHS],
        client.post(f"{ACCOUNTS}/{account.pk}/halt"), client.post(f"{ACCOUNTS}/{account.pk}/resume"),
        client.post(f"{ORDERS}/{order.json()['id']}/cancel"),
        client.post(ACCOUNTS, {"name": "fresh"}, format="json"),
    ]
    forbidden = ["PLAIN-API-KEY-123", "PLAIN-SECRET-456", bytes(credential.api_key_encrypted).decode(),
                 bytes(credential.secret_encrypted).decode(), "credential", "api_key", "secret", "binance"]
    for response in responses:
        assert response.status_code in (200, 201), response.content
        content = response.content.decode().lower()
        assert [word for word in forbidden if word.lower() in content] == []


# --- schema ----------------------------------------------------------------------------------------


def test_the_openapi_schema_documents_the_trading_endpoints(api_client, tmp_path):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {f"{API}/accounts", f"{API}/accounts/{{account_id}}", f"{API}/accounts/{{account_id}}/halt",
            f"{API}/accounts/{{account_id}}/resume", f"{API}/orders", f"{API}/orders/{{order_id}}",
            f"{API}/orders/{{order_id}}/cancel", f"{API}/strategies", f"{API}/strategies/{{strategy_id}}/pause",
            f"{API}/strategies/{{strategy_id}}/resume", f"{API}/signals",
            *[f"{API}/{p}" for p in ACCOUNT_QUERY_PATHS]} <= set(paths)
    assert {p["name"] for p in paths[f"{API}/orders"]["get"]["parameters"]} == {
        "account", "status", "symbol", "side", "strategy", "since", "until", "limit", "offset"}
    assert {p["name"] for p in paths[f"{API}/pnl/history"]["get"]["parameters"]} == {"account", "interval"}
    assert set(paths[f"{API}/orders/{{order_id}}/cancel"]["post"]["responses"]) == {"200", "401", "404", "409"}
    # No warnings or errors anywhere in the schema (e.g. enum name collisions).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
