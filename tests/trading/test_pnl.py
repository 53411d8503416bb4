"""FIFO realized P&L per fill and unrealized P&L, against a naive reference computed here."""

from collections import deque
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from tests.trading.factories import T0, AccountFactory, fixed_prices, set_price
from trading.models import Fill, PositionLot
from trading.pnl import pnl_unrealized
from trading.selectors import realized_pnl
from trading.services import order_place

pytestmark = pytest.mark.django_db

D = Decimal


def reference_fifo(trades: list[tuple[str, Fraction, Fraction, Fraction]]) -> list[Fraction]:
    """Naive FIFO: a queue of (quantity, unit cost incl. fee); one realized figure per sell, exact."""
    lots: deque[list[Fraction]] = deque()
    realized = []
    for side, quantity, price, fee in trades:
        if side == "buy":
            lots.append([quantity, (quantity * price + fee) / quantity])
            continue
        left, cost = quantity, Fraction(0)
        while left:
            take = min(lots[0][0], left)
            cost += take * lots[0][1]
            lots[0][0] -= take
            left -= take
            if lots[0][0] == 0:
                lots.popleft()
        realized.append(quantity * price - fee - cost)
    return realized


def test_fifo_partial_lot_keeps_its_remaining_cost_reopen_starts_new_lots_fees_counted_once():
    account = AccountFactory(fee_bps=D(10))
    steps = [("buy", "2", "1000"), ("buy", "1", "1200"), ("sell", "2.5", "1500"), ("sell", "0.5", "1100"),
             ("buy", "1", "900")]
    for i, (side, quantity, price) in enumerate(steps):
        when = T0 + timedelta(hours=i)
        set_price("ETH", price, when)
        order = order_place(account_id=account.pk, symbol="ETH", side=side, quantity=D(quantity),
                            client_order_id=str(i), now=when)
        assert order.status == "filled", order.reject_reason
        if i == 2:  # after the first sell: lot 1 consumed, lot 2 half consumed with half its cost
            lots = list(PositionLot.objects.filter(account=account).order_by("opened_at")
                        .values_list("quantity_remaining", "cost_remaining_usd"))
            assert lots == [(D(0), D(0)), (D("0.5"), D("600.6"))]
    fills = list(Fill.objects.filter(account=account).order_by("filled_at"))
    realized = [f.realized_pnl_usd for f in fills if f.side == "sell"]
    assert realized == [D("1143.65"), D("-51.15")]  # 3750 - 3.75 - (2002 + 600.6); 550 - 0.55 - 600.6
    expected = reference_fifo([(f.side, Fraction(f.quantity), Fraction(f.price_usd), Fraction(f.fee_usd))
                               for f in fills])
    assert [Fraction(r) for r in realized] == expected
    assert realized_pnl(account_id=account.pk) == D("1092.5")
    # the reopened position is one new lot: 1 x 900 + fee 0.9
    open_lots = list(PositionLot.objects.filter(account=account, quantity_remaining__gt=0)
                     .values_list("quantity_remaining", "cost_remaining_usd"))
    assert open_lots == [(D(1), D("900.9"))]
    assert pnl_unrealized(account_id=account.pk, now=T0 + timedelta(hours=4),
                          price_source=fixed_prices({"ETH": D(1000)})).unrealized_pnl_usd == D("99.1")
    account.refresh_from_db()
    # fees once: cash + remaining lot cost == starting cash + realized
    assert account.cash_usd + D("900.9") == D("10000") + D("1092.5")


def test_unrealized_pnl_is_none_when_a_position_is_unpriced():
    account = AccountFactory()
    set_price("ETH", "2000")
    order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="b", now=T0)
    assert pnl_unrealized(account_id=account.pk, now=T0).unrealized_pnl_usd == D(0)
    assert pnl_unrealized(account_id=account.pk, now=T0 + timedelta(days=3)).unrealized_pnl_usd is None
