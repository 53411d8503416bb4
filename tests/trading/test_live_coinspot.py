"""Live trading on Coinspot, proven offline (issue 18 §3-§4): the real ccxt adapter talks over loopback HTTP to the
replay node's Coinspot simulator (ledgers.replay.coinspot), which checks every request's HMAC-SHA512 and nonce.

Prices are set on the simulator by each test; every expected figure is computed here from those prices and the
rule the simulator documents (total = amount x rate, fee = 0.1 % of the total, each rounded half-up to 8 places),
and the venue's own state is read back from its control endpoint.
"""

from decimal import Decimal

import pytest

from tests.trading import live_fixtures
from tests.trading.live_fixtures import KEY, SECRET, q8
from tests.trading.live_fixtures import cs_control as control
from tests.trading.live_fixtures import cs_live_account as live_account
from tests.trading.live_fixtures import cs_venue_balances as venue_balances
from tests.trading.live_fixtures import cs_venue_state as venue_state
from trading.live import (
    account_emergency_stop,
    account_reconcile,
    credential_set,
    credential_test,
    live_confirm,
    order_resolve,
)
from trading.models import Fill, Order, OrderStatus, ReconcileStatus, VenueCall
from trading.services import order_place
from whales.models import EventType, WhaleEvent

pytestmark = pytest.mark.django_db
coinspot = live_fixtures.coinspot  # the fixture

D = Decimal


def buy(account, client_order_id: str, quantity: str, **kwargs) -> Order:
    return order_place(account_id=account.pk, symbol="BTC", side="buy", quantity=D(quantity),
                       client_order_id=client_order_id, **kwargs)


def test_test_connection_reads_the_balances(coinspot):
    account = live_account()
    row = credential_test(account_id=account.pk, owner=account.owner)
    assert row.tested_ok is True
    assert row.tested_detail == "balances: USDT 10000"
    [call] = VenueCall.objects.filter(account=account, action="test")
    assert call.ok and call.response["detail"] == "balances: USDT 10000"


def test_a_wrong_secret_fails_the_connection_test_with_the_venues_refusal(coinspot):
    account = live_account()
    credential_set(account_id=account.pk, owner=account.owner, venue="coinspot", api_key=KEY, secret="wrong-secret")
    row = credential_test(account_id=account.pk, owner=account.owner)
    assert row.tested_ok is False
    assert "Invalid signature" in row.tested_detail


def test_a_market_buy_fills_at_the_ask_and_books_the_venues_fill_once(coinspot):
    account = live_account()
    order = buy(account, "m1", "0.1", reference_price_usd=D("50010"))
    ask = D("50020")
    total = q8(D("0.1") * ask)
    fee = q8(total * D("0.001"))
    assert order.status == OrderStatus.FILLED, order.reject_reason
    assert order.venue == "coinspot" and len(order.venue_order_id) == 24
    assert order.filled_quantity == D("0.1") and order.average_fill_price_usd == ask
    assert order.expected_notional_usd == D("0.1") * D("50010")  # at the venue mid (50000 + 50020) / 2
    [fill] = Fill.objects.filter(order=order)
    assert (fill.price_usd, fill.quantity, fill.notional_usd, fill.fee_usd) == (ask, D("0.1"), total, fee)
    assert fill.venue == "coinspot" and fill.venue_fill_id.startswith(order.venue_order_id + ":")
    account.refresh_from_db()
    assert account.cash_usd == D(10000) - total - fee
    balances = venue_balances(coinspot)
    assert balances["USDT"] == D(10000) - total - fee == account.cash_usd
    assert balances["BTC"] == D("0.1")
    recon = account_reconcile(account_id=account.pk)
    assert (recon.status, recon.fills_imported, recon.drift) == (ReconcileStatus.OK, 0, [])
    assert Fill.objects.filter(account=account).count() == 1


def test_the_price_band_refuses_a_market_order_before_the_venue_is_asked(coinspot):
    account = live_account()
    order = buy(account, "band", "0.1", reference_price_usd=D("45000"))
    moved = (D("50010") - D("45000")) / D("45000") * 100
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == (f"price_band_percent: the venue mid 50010 is {moved.quantize(D('0.01'))}% from "
                                   f"the reference 45000, band 2%")
    assert not VenueCall.objects.filter(action="place").exists()
    assert venue_balances(coinspot) == {"USDT": D(10000)}


def test_notional_caps_per_order_and_per_day(coinspot):
    account = live_account()
    account.max_order_notional_usd, account.max_daily_notional_usd = D("6000"), D("8000")
    account.save()
    live_confirm(account_id=account.pk, by_user=account.owner)
    too_big = buy(account, "big", "0.2", reference_price_usd=D("50010"))
    assert too_big.reject_reason == "max_order_notional_usd: order notional 10002 USD exceeds 6000 USD"
    first = buy(account, "d1", "0.1", reference_price_usd=D("50010"))
    assert first.status == OrderStatus.FILLED
    second = buy(account, "d2", "0.1", reference_price_usd=D("50010"))
    assert second.reject_reason == "max_daily_notional_usd: 5001 USD today + 5001 USD exceeds 8000 USD"


def test_a_limit_order_rests_then_its_fill_is_imported_by_reconciliation(coinspot):
    account = live_account()
    order = buy(account, "l1", "0.1", order_type="limit", limit_price_usd=D("49500"))
    assert order.status == OrderStatus.SUBMITTED and order.venue_order_id
    [resting] = venue_state(coinspot)["open_orders"]
    assert (resting["id"], resting["side"], resting["rate"]) == (order.venue_order_id, "buy", 49500)
    control(coinspot, "prices", {"btc": {"bid": "49400", "ask": "49450", "last": "49420"}})
    recon = account_reconcile(account_id=account.pk)
    assert (recon.status, recon.fills_imported) == (ReconcileStatus.OK, 1)
    order.refresh_from_db()
    total = q8(D("0.1") * D("49500"))
    assert order.status == OrderStatus.FILLED and order.average_fill_price_usd == D("49500")
    [fill] = order.fills.all()
    assert fill.fee_usd == q8(total * D("0.001"))
    again = account_reconcile(account_id=account.pk)
    assert again.fills_imported == 0 and order.fills.count() == 1


def test_a_timeout_after_the_venue_accepted_leaves_the_order_unknown_then_resolves_it_without_resending(
        coinspot, broker_tasks, django_capture_on_commit_callbacks):
    account = live_account()
    control(coinspot, "faults", [{"kind": "accept_then_timeout", "path": "my/buy/now", "times": 1}])
    with django_capture_on_commit_callbacks(execute=True):
        order = buy(account, "t1", "0.1", reference_price_usd=D("50010"))
    assert order.status == OrderStatus.UNKNOWN
    assert not order.fills.exists()
    assert ("trading.resolve_order", {"order_id": order.pk}) in broker_tasks()
    resolved = order_resolve(order_id=order.pk)
    assert resolved.status == OrderStatus.FILLED
    assert resolved.fills.count() == 1
    assert len(venue_state(coinspot)["completed"]) == 1  # placed once, never resent
    assert venue_balances(coinspot)["BTC"] == D("0.1")
    assert account_reconcile(account_id=account.pk).status == ReconcileStatus.OK


def test_a_429_fails_the_order_and_nothing_is_placed(coinspot):
    account = live_account()
    control(coinspot, "faults", [{"kind": "rate_limit", "path": "my/buy/now", "times": 1}])
    order = buy(account, "r1", "0.1", reference_price_usd=D("50010"))
    assert order.status == OrderStatus.FAILED and order.reject_reason.startswith("venue_unavailable: ")
    assert venue_balances(coinspot) == {"USDT": D(10000)}
    assert venue_state(coinspot)["open_orders"] == venue_state(coinspot)["completed"] == []


def test_a_venue_rejection_is_a_rejected_order_with_the_venues_words(coinspot):
    account = live_account()
    control(coinspot, "faults", [{"kind": "reject", "path": "my/buy/now", "message": "Market closed", "times": 1}])
    order = buy(account, "x1", "0.1", reference_price_usd=D("50010"))
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason.startswith("venue_rejected: ") and "Market closed" in order.reject_reason


def test_a_connection_dropped_mid_reconcile_changes_nothing_and_the_next_run_catches_up(coinspot):
    account = live_account()
    order = buy(account, "l2", "0.1", order_type="limit", limit_price_usd=D("49500"))
    control(coinspot, "prices", {"btc": {"bid": "49400", "ask": "49450", "last": "49420"}})
    control(coinspot, "faults", [{"kind": "drop_connection", "path": "ro/my/orders/market/open", "times": 1}])
    failed = account_reconcile(account_id=account.pk)
    assert failed.status == ReconcileStatus.ERROR and not Fill.objects.exists()
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED
    ok = account_reconcile(account_id=account.pk)
    assert (ok.status, ok.fills_imported) == (ReconcileStatus.OK, 1)
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED


def test_a_partial_fill_is_booked_and_the_rest_fills_later(coinspot):
    account = live_account()
    control(coinspot, "faults", [{"kind": "partial_fill", "fraction": "0.5", "times": 1}])
    order = buy(account, "p1", "0.1", order_type="limit", limit_price_usd=D("50100"))  # crosses the ask at once
    assert order.status == OrderStatus.PARTIALLY_FILLED
    assert order.filled_quantity == D("0.05")
    control(coinspot, "prices", {"btc": {"bid": "50000", "ask": "50010", "last": "50005"}})  # crosses again
    recon = account_reconcile(account_id=account.pk)
    order.refresh_from_db()
    assert (recon.fills_imported, order.status, order.filled_quantity) == (1, OrderStatus.FILLED, D("0.1"))
    assert order.average_fill_price_usd == D("50100")
    assert venue_balances(coinspot)["BTC"] == D("0.1")


def test_a_drift_halts_the_account_raises_a_data_quality_event_and_alerts_staff(
        coinspot, mailoutbox, settings, django_capture_on_commit_callbacks):
    settings.ADMINS = [("ops", "ops@example.com")]
    account = live_account()
    assert buy(account, "b1", "0.1", reference_price_usd=D("50010")).status == OrderStatus.FILLED
    # Someone moves coins in the same Coinspot account: 0.5 BTC where our book holds 0.1, and ETH, which this
    # account never traded (not ours to compare).
    control(coinspot, "accounts", {"key": KEY, "secret": SECRET, "balances": {"USDT": "10000", "BTC": "0.5",
                                                                              "ETH": "3"}})
    with django_capture_on_commit_callbacks(execute=True):
        recon = account_reconcile(account_id=account.pk)
    assert recon.status == ReconcileStatus.DRIFT
    assert recon.drift == [{"kind": "position", "symbol": "BTC", "ours": "0.1", "venue": "0.5"}]
    account.refresh_from_db()
    assert account.halted and account.halted_reason.startswith("reconciliation_drift: 1 difference(s) with coinspot")
    event = WhaleEvent.objects.get(type=EventType.DATA_QUALITY, tx_hash=f"reconcile:{recon.pk}")
    assert event.details["kind"] == "reconciliation_drift" and event.details["account"] == account.pk
    assert [m.subject for m in mailoutbox] == [f"[Django] WhaleTrack live trading: drift on account {account.pk}"]


def test_the_emergency_stop_cancels_every_open_order_at_the_venue(coinspot):
    account = live_account()
    first = buy(account, "s1", "0.05", order_type="limit", limit_price_usd=D("40000"))
    second = buy(account, "s2", "0.05", order_type="limit", limit_price_usd=D("41000"))
    assert len(venue_state(coinspot)["open_orders"]) == 2
    report = account_emergency_stop(account_id=account.pk, by_user=account.owner, reason="test")
    assert sorted(report.cancelled) == sorted([first.venue_order_id, second.venue_order_id])
    assert report.failures == []
    assert venue_state(coinspot)["open_orders"] == []
    for order in (first, second):
        order.refresh_from_db()
        assert order.status == OrderStatus.CANCELLED
    account.refresh_from_db()
    assert account.halted and account.halted_reason == "emergency_stop: test"
    calls = list(VenueCall.objects.filter(account=account, action="cancel").values_list("ok", "response"))
    assert calls == [(True, {"cancelled": True}), (True, {"cancelled": True})]
    after = buy(account, "s3", "0.05", order_type="limit", limit_price_usd=D("40000"))
    assert after.status == OrderStatus.REJECTED and after.reject_reason.startswith("account_halted: ")


def test_the_daily_loss_rule_halts_a_live_account_and_flattens_it_at_the_venue(
        coinspot, broker_tasks, django_capture_on_commit_callbacks):
    account = live_account(max_daily_loss_percent=D("5"))
    first = buy(account, "dl1", "0.1", reference_price_usd=D("50010"))
    assert first.status == OrderStatus.FILLED
    account.refresh_from_db()
    start_value = account.start_of_day_value_usd  # cash + 0.1 BTC at the mid before the buy
    assert start_value == D(10000)
    # BTC falls 20 %: 0.1 BTC at the new mid loses 1000 USD, 10 % of the day's start value.
    control(coinspot, "prices", {"btc": {"bid": "40000", "ask": "40020", "last": "40010"}})
    with django_capture_on_commit_callbacks(execute=True):
        refused = buy(account, "dl2", "0.01", reference_price_usd=D("40010"))
    value = account.cash_usd + D("0.1") * D("40010")
    loss = (start_value - value) / start_value * 100
    assert refused.status == OrderStatus.REJECTED
    assert refused.reject_reason == (f"max_daily_loss_percent: daily loss {loss.quantize(D('0.01'))}% of start-of-day "
                                     f"value {start_value.quantize(D('0.01'))} USD (now {value.quantize(D('0.01'))} "
                                     "USD) exceeds 5.00%; account halted")
    account.refresh_from_db()
    assert account.halted
    [(name, kwargs)] = broker_tasks()
    assert name == "trading.emergency_stop" and kwargs["flatten"] is True
    from celery import current_app

    report = current_app.tasks[name].apply(kwargs=kwargs).get()
    assert report["failures"] == [] and len(report["flatten_orders"]) == 1
    flatten = account.orders.get(pk=report["flatten_orders"][0])
    assert (flatten.side, flatten.quantity, flatten.reduce_only, flatten.status) == ("sell", D("0.1"), True,
                                                                                    OrderStatus.FILLED)
    assert "BTC" not in venue_balances(coinspot) and not account.positions.exists()


def test_the_flatten_closes_only_this_books_positions_and_leaves_other_holdings_alone(coinspot):
    account = live_account()
    assert buy(account, "f1", "0.1", reference_price_usd=D("50010")).status == OrderStatus.FILLED
    # The same Coinspot account also holds 2 BTC and 3 ETH of the user's own (set on the venue directly).
    held = venue_state(coinspot)["balances"]
    control(coinspot, "accounts", {"key": KEY, "secret": SECRET,
                                   "balances": {**held, "BTC": str(D(held["BTC"]) + 2), "ETH": "3"}})
    report = account_emergency_stop(account_id=account.pk, by_user=account.owner, flatten=True, reason="test")
    [flatten] = account.orders.filter(pk__in=report.flatten_orders)
    assert (flatten.symbol, flatten.side, flatten.quantity, flatten.status) == ("BTC", "sell", D("0.1"),
                                                                                OrderStatus.FILLED)
    balances = venue_balances(coinspot)
    assert (balances["BTC"], balances["ETH"]) == (D(2), D(3))
    assert not account.positions.exists()
