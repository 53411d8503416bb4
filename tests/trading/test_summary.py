"""P&L summary and equity curve on hand-built fills and prices, every value recomputed in the test."""

import itertools
import math
import statistics
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.trading.factories import AccountFactory
from trading.models import Fill, Order, OrderStatus, Position
from trading.pnl import equity_curve, pnl_summary

pytestmark = pytest.mark.django_db

D = Decimal


def at(day, hour=0):
    return datetime(2024, 3, day, hour, tzinfo=UTC)


NOW = at(5, 6)
# (time, symbol, side, price, quantity, fee, realized P&L)
FILLS = [
    (at(1, 12), "ETH", "buy", "2000", "2", "4", None),
    (at(2, 10), "ETH", "sell", "2100", "1", "2.1", "95.9"),  # 2100 - 2.1 - 2002
    (at(3, 10), "BTC", "buy", "50000", "0.1", "5", None),
    (at(4, 10), "BTC", "sell", "48000", "0.1", "4.8", "-209.8"),  # 4800 - 4.8 - 5005
    (at(4, 11), "ETH", "sell", "2200", "0.5", "1.1", "97.9"),  # 1100 - 1.1 - 1001
]
PRICES = {  # price_source rows; anything else is missing (None)
    ("ETH", at(2)): D("1900"), ("ETH", at(3)): D("2050"), ("BTC", at(4)): D("49000"),
    ("ETH", at(5)): D("2300"), ("ETH", NOW): D("2400"),
}


def source(symbol, when):
    return PRICES.get((symbol, when))


def build(account):
    for n, (when, symbol, side, price, quantity, fee, realized) in enumerate(FILLS):
        order = Order.objects.create(account=account, client_order_id=f"o{n}", symbol=symbol, side=side,
                                     quantity=D(quantity), status=OrderStatus.FILLED, created_at=when)
        Fill.objects.create(order=order, account=account, symbol=symbol, side=side, price_usd=D(price),
                            quantity=D(quantity), notional_usd=D(price) * D(quantity), fee_usd=D(fee),
                            realized_pnl_usd=None if realized is None else D(realized), filled_at=when)
    Position.objects.create(account=account, symbol="ETH", quantity=D("0.5"), average_price_usd=D("2002"),
                            total_cost_usd=D("1001"))


# Expected daily equity, by hand: cash after the fills up to t + quantity x price at t.
EXPECTED_DAILY = [
    (at(1), D("10000")),  # start of the first fill's day: starting cash, nothing held
    (at(2), D("10000") - D("4004") + 2 * D("1900")),  # 9796
    (at(3), D("5996") + D("2097.9") + 1 * D("2050")),  # 10143.9
    # ETH unpriced at day 4: carried forward from the day-3 price 2050 (newer than the day-2 fill at 2100)
    (at(4), D("8093.9") - D("5005") + 1 * D("2050") + D("0.1") * D("49000")),  # 10038.9
    (at(5), D("3088.9") + D("4795.2") + D("1098.9") + D("0.5") * D("2300")),  # 10133
    (NOW, D("8983") + D("0.5") * D("2400")),  # 10183, the current (unfinished) day
]


def test_daily_equity_curve_points():
    account = AccountFactory()
    build(account)
    assert equity_curve(account_id=account.pk, now=NOW, price_source=source) == EXPECTED_DAILY


def test_hourly_curve_starts_at_the_first_fill_hour_and_ends_at_a_boundary_now():
    account = AccountFactory()
    build(account)
    curve = equity_curve(account_id=account.pk, interval="hour", now=at(1, 14),
                         price_source=lambda symbol, when: D("2010"))
    assert curve == [(at(1, 12), D("5996") + 2 * D("2010")), (at(1, 13), D("10016")), (at(1, 14), D("10016"))]
    assert [t for t, _ in equity_curve(account_id=account.pk, interval="month", now=NOW, price_source=source)] == [
        datetime(2024, 3, 1, tzinfo=UTC), NOW]


def test_summary_values():
    account = AccountFactory()
    build(account)
    summary = pnl_summary(account_id=account.pk, now=NOW, price_source=source)
    wins = [D("95.9"), D("97.9")]
    gross_profit, gross_loss = sum(wins), D("209.8")
    equities = [e for _, e in EXPECTED_DAILY]
    peaks = [max(equities[: k + 1]) for k in range(len(equities))]
    drawdown = max((p - e) / p * 100 for p, e in zip(peaks, equities, strict=True))
    returns = [float(b / a - 1) for a, b in itertools.pairwise(equities)]
    sharpe = round(statistics.mean(returns) / statistics.stdev(returns) * math.sqrt(365), 6)
    assert summary == {
        "realized_pnl_usd": D("95.9") - D("209.8") + D("97.9"),
        "unrealized_pnl_usd": D("0.5") * D("2400") - D("1001"),
        "closed_trades": 3,
        "wins": 2,
        "losses": 1,
        "win_rate_percent": D(2) / 3 * 100,
        "gross_profit_usd": gross_profit,
        "gross_loss_usd": gross_loss,
        "profit_factor": gross_profit / gross_loss,
        "average_win_usd": gross_profit / 2,
        "largest_win_usd": D("97.9"),
        "average_loss_usd": D("-209.8"),
        "largest_loss_usd": D("-209.8"),
        "volume_usd": D("4000") + D("2100") + D("5000") + D("4800") + D("1100"),
        "fees_usd": D("4") + D("2.1") + D("5") + D("4.8") + D("1.1"),
        "fill_count": 5,
        "max_drawdown_percent": drawdown,
        "sharpe_ratio": sharpe,
    }
    assert drawdown == (D("10000") - D("9796")) / D("10000") * 100  # 2.04%, the day-2 trough
    assert summary["profit_factor"] < 1 and sharpe > 0


def test_summary_of_an_account_without_fills():
    account = AccountFactory()
    summary = pnl_summary(account_id=account.pk, now=NOW, price_source=source)
    assert summary["realized_pnl_usd"] == 0 and summary["unrealized_pnl_usd"] == 0
    assert summary["volume_usd"] == 0 and summary["fees_usd"] == 0 and summary["closed_trades"] == 0
    for key in ("win_rate_percent", "profit_factor", "average_win_usd", "largest_win_usd", "average_loss_usd",
                "largest_loss_usd", "max_drawdown_percent", "sharpe_ratio"):
        assert summary[key] is None, key
    assert equity_curve(account_id=account.pk, now=NOW, price_source=source) == []


def test_only_wins_gives_no_profit_factor_and_a_full_win_rate():
    account = AccountFactory()
    build(account)
    Fill.objects.filter(realized_pnl_usd__lt=0).update(realized_pnl_usd=D("12.5"))
    summary = pnl_summary(account_id=account.pk, now=NOW, price_source=source)
    assert summary["win_rate_percent"] == 100 and summary["profit_factor"] is None
    assert summary["largest_win_usd"] == D("97.9") and summary["average_loss_usd"] is None
