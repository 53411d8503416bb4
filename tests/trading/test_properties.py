"""Property tests (hypothesis): random orders and prices never break a limit, the books reconcile
with the fills and fees, and FIFO P&L equals the naive reference."""

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.trading.factories import T0, AccountFactory, StrategyFactory, fixed_prices
from tests.trading.test_pnl import reference_fifo
from trading.models import Account, Fill, Order, OrderStatus, Position, PositionLot
from trading.safety import Intent, Limits, Snapshot, portfolio_value, pre_trade_violations
from trading.services import order_place
from whales.fifo import Lot, lots_take
from whales.money import q_usd

D = Decimal
SYMBOLS = ["ETH", "BTC"]

prices = st.decimals(min_value=D("0.5"), max_value=D("5000"), places=2)
quantities = st.decimals(min_value=D("0.001"), max_value=D("5"), places=3)
steps = st.lists(
    st.tuples(st.sampled_from(SYMBOLS), st.sampled_from(["buy", "sell"]),
              st.decimals(min_value=D("0.01"), max_value=D("3"), places=2),
              st.decimals(min_value=D("50"), max_value=D("5000"), places=2), st.booleans()),
    min_size=1, max_size=12)


# ---------------------------------------------------------------- pure FIFO


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), quantities, prices), min_size=1, max_size=30))
def test_lots_taken_for_paper_sells_match_the_reference(trades):
    lots: list[Lot] = []
    held = D(0)
    reference_trades = []
    realized = []
    for is_buy, quantity, price in trades:
        if is_buy:
            cost = q_usd(quantity * price)
            lots.append(Lot(quantity, cost))
            held += quantity
            reference_trades.append(("buy", Fraction(quantity), Fraction(cost) / Fraction(quantity), Fraction(0)))
        elif held > 0:
            quantity = min(quantity, held)
            pieces, uncovered = lots_take(lots, quantity)
            assert uncovered == 0
            consumed = sum(cost for _, cost in pieces)
            held -= quantity
            realized.append(q_usd(quantity * price) - consumed)
            reference_trades.append(("sell", Fraction(quantity), Fraction(q_usd(quantity * price)) / Fraction(quantity),
                                     Fraction(0)))
    expected = reference_fifo(reference_trades)
    # each partial consumption rounds to 1e-8 USD; the cost is conserved, so the drift stays tiny
    for got, want in zip(realized, expected, strict=True):
        assert abs(Fraction(got) - want) <= Fraction(len(trades), 10**8)
    assert sum(lot.amount for lot in lots) == held


# ---------------------------------------------------------------- pure safety


@settings(max_examples=300, deadline=None)
@given(cash=st.decimals(min_value=D(0), max_value=D(100000), places=2),
       held=st.decimals(min_value=D(0), max_value=D(50), places=3), mark=prices,
       quantity=quantities, limit=st.decimals(min_value=D(1), max_value=D(100), places=0))
def test_a_buy_that_passes_the_checks_respects_the_position_limit_and_cash(cash, held, mark, quantity, limit):
    limits = Limits(max_position_percent=limit, max_daily_loss_percent=D(5), max_strategy_exposure_percent=D(100),
                    max_orders_per_day=100, min_order_usd=D(0))
    snapshot = Snapshot(cash_usd=cash, marks={"ETH": (held, mark)}, limits=limits, orders_today=0)
    fee = quantity * mark / 1000
    intent = Intent(symbol="ETH", side="buy", quantity=quantity, price_usd=mark, mark_usd=mark, fee_usd=fee)
    if not pre_trade_violations(snapshot, intent):
        after = Snapshot(cash_usd=cash - quantity * mark - fee, marks={"ETH": (held + quantity, mark)}, limits=limits,
                         orders_today=0)
        assert after.cash_usd >= 0
        assert (held + quantity) * mark * 100 <= limit * portfolio_value(after)


# ---------------------------------------------------------------- orders on the database


def _check_books(account: Account, max_position: Decimal) -> None:
    fills = list(Fill.objects.filter(account=account).order_by("filled_at", "id"))
    starting = account.starting_cash_usd
    cash_expected = starting
    for f in fills:
        cash_expected += (f.notional_usd - f.fee_usd) if f.side == "sell" else -(f.notional_usd + f.fee_usd)
    assert account.cash_usd == cash_expected
    assert account.cash_usd >= 0
    lots_cost = PositionLot.objects.filter(account=account).aggregate(t=Sum("cost_remaining_usd"))["t"] or D(0)
    realized = sum((f.realized_pnl_usd for f in fills if f.side == "sell"), D(0))
    assert account.cash_usd + lots_cost == starting + realized  # fees counted exactly once
    for symbol in SYMBOLS:
        lots = PositionLot.objects.filter(account=account, symbol=symbol)
        quantity = lots.aggregate(t=Sum("quantity_remaining"))["t"] or D(0)
        position = Position.objects.filter(account=account, symbol=symbol).first()
        assert (position.quantity if position else D(0)) == quantity
        assert quantity >= 0
        if position:
            assert position.total_cost_usd == lots.aggregate(t=Sum("cost_remaining_usd"))["t"]
        trades = [(f.side, Fraction(f.quantity), Fraction(f.price_usd), Fraction(f.fee_usd))
                  for f in fills if f.symbol == symbol]
        got = [Fraction(f.realized_pnl_usd) for f in fills if f.symbol == symbol and f.side == "sell"]
        for g, want in zip(got, reference_fifo(trades), strict=True):
            assert abs(g - want) <= Fraction(len(trades), 10**8)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=steps, fee_bps=st.sampled_from([D(0), D(10), D(25)]), slippage_bps=st.sampled_from([D(0), D(5)]))
def test_random_orders_never_break_a_limit_and_the_books_reconcile(steps, fee_bps, slippage_bps):
    with transaction.atomic():
        account = AccountFactory(fee_bps=fee_bps, slippage_bps=slippage_bps, max_position_percent=D(40),
                                 max_strategy_exposure_percent=D(50), max_daily_loss_percent=D(5),
                                 max_orders_per_day=8, min_order_usd=D(10))
        strategy = StrategyFactory(account=account)
        marks = {"ETH": D(2000), "BTC": D(500)}
        for i, (symbol, side, quantity, price, with_strategy) in enumerate(steps):
            marks[symbol] = price
            now = T0 + timedelta(minutes=i)
            source = fixed_prices(dict(marks))
            held = Position.objects.filter(account=account, symbol=symbol).values_list("quantity", flat=True).first()
            if side == "sell" and held and quantity <= 1:
                quantity = held * quantity  # mostly sell a part (or all) of what is held; else try to short
            order = order_place(account_id=account.pk, symbol=symbol, side=side, quantity=quantity,
                                client_order_id=str(i), now=now, price_source=source,
                                strategy_id=strategy.pk if with_strategy else None)
            account.refresh_from_db()
            assert order.status in (OrderStatus.FILLED, OrderStatus.REJECTED)
            event(f"{side} {order.status} {order.reject_reason.split(':')[0]}")
            if order.status == OrderStatus.FILLED:
                assert order.quantity * order.average_fill_price_usd >= account.min_order_usd
                if side == "buy":
                    value = account.cash_usd + sum((p.quantity * marks[p.symbol]
                                                for p in Position.objects.filter(account=account)), D(0))
                    position = Position.objects.get(account=account, symbol=symbol)
                    # allow the 1e-8 USD rounding of the booked notional and fee
                    assert position.quantity * marks[symbol] * 100 <= account.max_position_percent * value + D("1e-5")
            if account.halted and account.flatten_on_daily_loss:
                assert not Position.objects.filter(account=account).exists()
            accepted = Order.objects.filter(account=account).exclude(status=OrderStatus.REJECTED)
            assert accepted.exclude(client_order_id__startswith="flatten:").count() <= account.max_orders_per_day
            _check_books(account, account.max_position_percent)
        event(f"halted={account.halted}")
        transaction.set_rollback(True)


flow_steps = st.lists(
    st.tuples(st.sampled_from(SYMBOLS),
              st.one_of(st.sampled_from([D(-200000), D(-1), D(0), D(50000), D(120000), D(250000)]),
                        st.decimals(min_value=D("-300000"), max_value=D("300000"), places=0)),
              st.decimals(min_value=D("50"), max_value=D("5000"), places=2), st.integers(min_value=0, max_value=3)),
    min_size=1, max_size=10)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=flow_steps, order_usd=st.sampled_from(["400", "1500", "2500", "5", "9000"]),
       fee_bps=st.sampled_from([D(0), D(10)]))
def test_random_signal_sequences_never_break_a_limit_and_every_signal_is_recorded(steps, order_usd, fee_bps):
    """Random smart-money flows and prices through the follow-smart-money strategy: every signal it
    generates is recorded exactly once with an outcome, filled orders respect the limits, the books
    reconcile and FIFO matches the reference."""
    from trading.models import StrategySignal
    from trading.strategies.services import strategy_run
    from whales.models import SmartMoneyFlow

    with transaction.atomic():
        account = AccountFactory(fee_bps=fee_bps, slippage_bps=D(5), max_position_percent=D(30),
                                 max_strategy_exposure_percent=D(50), max_daily_loss_percent=D(5),
                                 max_orders_per_day=6, min_order_usd=D(10))
        strategy = StrategyFactory(account=account, started_at=T0 - timedelta(days=1),
                                   params={"order_usd": order_usd, "min_net_flow_usd": "50000"})
        marks = {"ETH": D(2000), "BTC": D(500)}
        generated = 0
        for i, (symbol, net, price, buyers) in enumerate(steps):
            marks[symbol] = price
            now = T0 + timedelta(minutes=15 * i)
            SmartMoneyFlow.objects.create(token=symbol, window="24h", net_flow_usd=net, buying_wallets=buyers,
                                          selling_wallets=0 if net >= 0 else 1, min_score=D(60), collected_at=now)
            result = strategy_run(strategy_id=strategy.pk, now=now, price_source=fixed_prices(dict(marks)))
            generated += result.generated - result.already_recorded
            assert result.ordered + result.rejected + result.skipped == result.generated - result.already_recorded
            account.refresh_from_db()
            for order in Order.objects.filter(account=account, created_at=now, status=OrderStatus.FILLED,
                                              side="buy"):
                value = account.cash_usd + sum((p.quantity * marks[p.symbol]
                                            for p in Position.objects.filter(account=account)), D(0))
                position = Position.objects.get(account=account, symbol=order.symbol)
                assert position.quantity * marks[order.symbol] * 100 <= account.max_position_percent * value + D("1e-5")
                assert order.quantity * order.average_fill_price_usd >= account.min_order_usd
            _check_books(account, account.max_position_percent)
        records = StrategySignal.objects.filter(strategy=strategy)
        assert records.count() == generated
        assert not records.exclude(outcome__in=["ordered", "rejected", "skipped"]).exists()
        assert not records.filter(outcome="skipped", outcome_reason="").exists()
        assert not records.filter(outcome="rejected", order__isnull=True).exists()
        for outcome, reason in records.values_list("outcome", "outcome_reason"):
            event(f"{outcome} {reason.split(':')[0][:30]}")
        transaction.set_rollback(True)
