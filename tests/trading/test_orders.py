"""Order placement on the paper exchange: exact cash, fills, positions; idempotency; limits; cancel."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection

from tests.trading.factories import T0, AccountFactory, set_price
from trading.models import Account, Fill, Order, OrderStatus, Position, PositionLot
from trading.services import (
    OrderNotOpen,
    TradingError,
    account_halt,
    account_resume,
    limit_orders_match,
    order_cancel,
    order_place,
)

pytestmark = pytest.mark.django_db

D = Decimal


def test_market_buy_then_sell_books_exact_cash_fill_position_and_fifo_pnl():
    account = AccountFactory(fee_bps=D(10), slippage_bps=D(5))
    set_price("ETH", "2000", T0)
    buy = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="b1", now=T0)
    assert buy.status == OrderStatus.FILLED
    assert buy.average_fill_price_usd == D("2001")  # 2000 x (1 + 5 bps)
    fill = Fill.objects.get(order=buy)
    assert (fill.price_usd, fill.quantity, fill.notional_usd, fill.fee_usd, fill.realized_pnl_usd) == (
        D("2001"), D(1), D("2001"), D("2.001"), None)
    account.refresh_from_db()
    assert account.cash_usd == D("7996.999")
    position = Position.objects.get(account=account, symbol="ETH")
    assert (position.quantity, position.total_cost_usd, position.average_price_usd) == (
        D(1), D("2003.001"), D("2003.001"))

    later = T0 + timedelta(hours=1)
    set_price("ETH", "2200", later)
    sell = order_place(account_id=account.pk, symbol="ETH", side="sell", quantity=D("0.5"), client_order_id="s1",
                       now=later)
    fill = Fill.objects.get(order=sell)
    # 2200 x (1 - 5 bps) = 2198.9; notional 1099.45; fee 1.09945; lot cost consumed 2003.001 / 2
    assert (fill.price_usd, fill.notional_usd, fill.fee_usd) == (D("2198.9"), D("1099.45"), D("1.09945"))
    assert fill.realized_pnl_usd == D("1099.45") - D("1.09945") - D("1001.5005")
    account.refresh_from_db()
    assert account.cash_usd == D("7996.999") + D("1099.45") - D("1.09945")
    position.refresh_from_db()
    assert (position.quantity, position.total_cost_usd) == (D("0.5"), D("1001.5005"))
    lot = PositionLot.objects.get(account=account)
    assert (lot.quantity_remaining, lot.cost_remaining_usd) == (D("0.5"), D("1001.5005"))


def test_selling_the_whole_position_deletes_it():
    account = AccountFactory()
    set_price("BTC", "50000")
    order_place(account_id=account.pk, symbol="BTC", side="buy", quantity=D("0.1"), client_order_id="b", now=T0)
    order_place(account_id=account.pk, symbol="BTC", side="sell", quantity=D("0.1"), client_order_id="s", now=T0)
    assert not Position.objects.filter(account=account).exists()
    account.refresh_from_db()
    assert account.cash_usd == D("10000")


def test_the_same_client_order_id_twice_places_one_order_and_one_fill():
    account = AccountFactory()
    set_price("ETH", "2000")
    first = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="x", now=T0)
    second = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="x", now=T0)
    assert first.pk == second.pk
    assert Order.objects.count() == 1
    assert Fill.objects.count() == 1
    account.refresh_from_db()
    assert account.cash_usd == D("8000")


def test_a_halted_account_places_nothing():
    account = AccountFactory()
    set_price("ETH", "2000")
    account_halt(account_id=account.pk, reason="manual stop")
    order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="h", now=T0)
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == "account_halted: manual stop"
    assert not Fill.objects.exists() and not Position.objects.exists()
    account.refresh_from_db()
    assert account.cash_usd == D("10000")
    account_resume(account_id=account.pk)
    again = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="h2", now=T0)
    assert again.status == OrderStatus.FILLED


def test_selling_more_than_the_position_is_rejected():
    account = AccountFactory()
    set_price("ETH", "2000")
    order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="b", now=T0)
    order = order_place(account_id=account.pk, symbol="ETH", side="sell", quantity=D(2), client_order_id="s", now=T0)
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == "no_shorting: sell 2 ETH exceeds position 1.000000000000000000000000000000"
    assert Position.objects.get().quantity == D(1)


def test_limit_buy_rests_until_the_price_crosses_then_fills_at_the_limit():
    account = AccountFactory(fee_bps=D(10), slippage_bps=D(5))
    set_price("ETH", "2000", T0)
    order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), order_type="limit",
                        limit_price_usd=D("1900"), client_order_id="l1", now=T0)
    assert order.status == OrderStatus.SUBMITTED
    set_price("ETH", "1950", T0 + timedelta(hours=1))
    assert limit_orders_match(now=T0 + timedelta(hours=1)) == 0
    set_price("ETH", "1890", T0 + timedelta(hours=2))
    assert limit_orders_match(now=T0 + timedelta(hours=2)) == 1
    order.refresh_from_db()
    assert (order.status, order.average_fill_price_usd) == (OrderStatus.FILLED, D("1900"))
    fill = Fill.objects.get()
    assert (fill.price_usd, fill.fee_usd) == (D("1900"), D("1.9"))
    account.refresh_from_db()
    assert account.cash_usd == D("10000") - D("1901.9")
    assert limit_orders_match(now=T0 + timedelta(hours=2)) == 0


def test_limit_sell_fills_only_when_price_rises_to_the_limit():
    account = AccountFactory()
    set_price("ETH", "2000", T0)
    order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="b", now=T0)
    sell = order_place(account_id=account.pk, symbol="ETH", side="sell", quantity=D(1), order_type="limit",
                       limit_price_usd=D("2100"), client_order_id="ls", now=T0)
    assert sell.status == OrderStatus.SUBMITTED
    set_price("ETH", "2099", T0 + timedelta(hours=1))
    assert limit_orders_match(now=T0 + timedelta(hours=1)) == 0
    set_price("ETH", "2100", T0 + timedelta(hours=2))
    assert limit_orders_match(now=T0 + timedelta(hours=2)) == 1
    assert Fill.objects.get(order=sell).realized_pnl_usd == D("100")


def test_cancel_an_open_limit_order_and_refuse_to_cancel_a_filled_one():
    account = AccountFactory()
    set_price("ETH", "2000")
    resting = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), order_type="limit",
                          limit_price_usd=D("1000"), client_order_id="l", now=T0)
    cancelled = order_cancel(account_id=account.pk, order_id=resting.pk, now=T0)
    assert cancelled.status == OrderStatus.CANCELLED and cancelled.cancelled_at == T0
    set_price("ETH", "900", T0 + timedelta(hours=1))
    assert limit_orders_match(now=T0 + timedelta(hours=1)) == 0
    filled = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="m", now=T0)
    with pytest.raises(OrderNotOpen, match="is filled, not open"):
        order_cancel(account_id=account.pk, order_id=filled.pk)


@pytest.mark.parametrize("kwargs", [
    {"side": "hold"}, {"quantity": D(0)}, {"quantity": D(-1)}, {"order_type": "limit"},
    {"order_type": "market", "limit_price_usd": D(1)}, {"client_order_id": ""},
])
def test_bad_input_raises_and_stores_nothing(kwargs):
    account = AccountFactory()
    args = {"account_id": account.pk, "symbol": "ETH", "side": "buy", "quantity": D(1), "client_order_id": "c",
            "now": T0} | kwargs
    with pytest.raises(TradingError):
        order_place(**args)
    assert not Order.objects.exists()


def test_live_account_is_refused_while_live_trading_is_off():
    account = AccountFactory(mode="live")
    set_price("ETH", "2000")
    order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="l", now=T0)
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason.startswith("live_gate_setting: TRADING_LIVE_ENABLED is off")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_threads_placing_the_same_client_order_id_store_one_order():
    account = AccountFactory()
    set_price("ETH", "2000")
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def place() -> None:
        try:
            barrier.wait()
            order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1),
                                client_order_id="same", now=T0)
            results.append(order.pk)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=place) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 2
    assert Order.objects.filter(account=account).count() == 1
    assert Fill.objects.filter(account=account).count() == 1
    assert Account.objects.get(pk=account.pk).cash_usd == D("8000")


def test_a_sell_reads_lots_in_fifo_pages_across_the_batch_boundary(monkeypatch):
    import trading.services as services

    monkeypatch.setattr(services, "LOT_BATCH", 4)
    account = AccountFactory(starting_cash_usd=D(20000), cash_usd=D(20000))
    for n in range(10):  # ten lots of 1 ETH at 1000, 1001, ... 1009 (no fees on this account)
        set_price("ETH", str(1000 + n), T0 + timedelta(minutes=n))
        order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id=f"b{n}",
                    now=T0 + timedelta(minutes=n))
    later = T0 + timedelta(minutes=30)
    set_price("ETH", "1100", later)
    sell = order_place(account_id=account.pk, symbol="ETH", side="sell", quantity=D("9.5"), client_order_id="s",
                       now=later)
    assert sell.status == "filled", sell.reject_reason
    # FIFO: the first nine lots whole (1000..1008) and half of the tenth (1009 / 2)
    cost = sum(D(1000 + n) for n in range(9)) + D("504.5")
    assert Fill.objects.get(order=sell).realized_pnl_usd == D("9.5") * 1100 - cost
    remaining = list(PositionLot.objects.filter(account=account, quantity_remaining__gt=0)
                     .values_list("quantity_remaining", "cost_remaining_usd"))
    assert remaining == [(D("0.5"), D("504.5"))]
