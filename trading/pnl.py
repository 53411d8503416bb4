"""P&L summary and equity curve of a trading account (issue 7, section 4).

Definitions (all money in USD as Decimal, times aware UTC):

* Realized P&L: sum of ``Fill.realized_pnl_usd`` (FIFO, set on sell fills; see trading.services).
* Unrealized P&L: ``pnl_unrealized`` at ``now``: quantity x price - cost of the remaining lots, summed
  over the open positions (None when a held symbol is unpriced).
* Closed trades: the sell fills with a realized P&L. A win is one with realized P&L > 0, a loss one
  with realized P&L < 0 (a zero result counts as a trade but neither a win nor a loss).
* Win rate (percent) = wins / closed trades x 100; None without closed trades.
* Gross profit = sum of winning P&L; gross loss = |sum of losing P&L|.
  Profit factor = gross profit / gross loss; None when gross loss is 0.
* Average win = gross profit / wins, largest win = max winning P&L (None without wins).
  Average loss = -(gross loss) / losses, largest loss = min losing P&L (negative numbers; None
  without losses).
* Volume = sum of ``Fill.notional_usd`` of all fills; fees = sum of ``Fill.fee_usd``.
* Maximum drawdown (percent) and Sharpe ratio come from the DAILY equity curve (``equity_curve``):
  with equity values E_0..E_n, peak_k = max(E_0..E_k),
  drawdown_k = (peak_k - E_k) / peak_k x 100, maximum drawdown = max_k drawdown_k (Decimal; 0 for
  a flat or rising curve; None for an empty curve). Daily returns r_k = E_k / E_{k-1} - 1 for
  k = 1..n; Sharpe = mean(r) / stdev(r) x sqrt(365) with the sample standard deviation (n - 1),
  zero risk-free rate, 365 periods a year (crypto trades every day). Returns are converted to float
  for the mean, stdev and square root (the only float in this module); Sharpe is a float, rounded
  to 6 places, None with fewer than 2 returns or a zero standard deviation.
"""

import itertools
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from trading.models import Account, Fill, OrderSide, PositionLot, Strategy
from trading.selectors import PriceSource, market_price, market_price_series, position_list
from whales.errors import InvalidParameter

ZERO = Decimal(0)
HUNDRED = Decimal(100)
INTERVALS = ("hour", "day", "week", "month")


def interval_floor(when: datetime, interval: str) -> datetime:
    """Start (UTC) of the ``interval`` containing ``when``: the hour, midnight, Monday midnight, the 1st."""
    when = when.astimezone(UTC)
    if interval == "hour":
        return when.replace(minute=0, second=0, microsecond=0)
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if interval == "day":
        return day
    if interval == "week":
        return day - timedelta(days=day.weekday())
    if interval == "month":
        return day.replace(day=1)
    raise InvalidParameter(f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}")


def interval_next(start: datetime, interval: str) -> datetime:
    """The start of the interval after the one starting at ``start``."""
    if interval == "hour":
        return start + timedelta(hours=1)
    if interval == "day":
        return start + timedelta(days=1)
    if interval == "week":
        return start + timedelta(weeks=1)
    if interval == "month":
        return start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
            month=start.month + 1)
    raise InvalidParameter(f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}")


def equity_curve(*, account_id: int, interval: str = "day", now: datetime | None = None,
                 price_source: PriceSource | None = None) -> list[tuple[datetime, Decimal]]:
    """End-of-interval equity of the account, reconstructed from its fills.

    Points: the first point is at the start of the interval (UTC calendar: hour, day, ISO week from
    Monday, month) containing the account's first fill, with equity = ``starting_cash_usd`` (no fill
    yet); then one point at each following interval boundary t <= ``now``; then a last point at
    ``now`` itself when ``now`` is not a boundary (the current, unfinished interval). No fills: [].
    Fills after ``now`` are ignored.

    Equity at t = cash(t) + sum over symbols of quantity(t) x price(symbol, t), where, over the fills
    with ``filled_at <= t``: cash(t) = starting_cash_usd - sum(buy notional + fee) + sum(sell notional -
    fee) and quantity(t) = sum(buy quantity) - sum(sell quantity). price(symbol, t) comes from
    ``price_source`` (default ``trading.selectors.market_price``); when it is None (missing or
    stale) the last known price is carried forward: the price used at the previous point, or the
    price of the latest fill of that symbol at or before t, whichever is newer. Units: USD, Decimal.
    Queries: with the default source, a fixed number (``market_price_series``) for any number of points
    and symbols; another source is called once per point and held symbol.
    """
    now = now or timezone.now()
    source = price_source or market_price
    account = Account.objects.get(pk=account_id)
    fills = list(Fill.objects.filter(account_id=account_id, filled_at__lte=now).order_by("filled_at", "id")
                 .values_list("filled_at", "symbol", "side", "price_usd", "quantity", "notional_usd", "fee_usd"))
    if not fills:
        return []
    times = [interval_floor(fills[0][0], interval)]
    boundary = interval_next(times[0], interval)
    while boundary <= now:
        times.append(boundary)
        boundary = interval_next(boundary, interval)
    if times[-1] != now:
        times.append(now)

    # The default source in one set-based read (two queries), not one query per point and symbol.
    series = (market_price_series({fill[1] for fill in fills}, times)
              if source is market_price else None)
    cash = account.starting_cash_usd
    quantities: dict[str, Decimal] = {}
    last_price: dict[str, tuple[datetime, Decimal]] = {}  # symbol -> (as of, price) carried forward
    curve: list[tuple[datetime, Decimal]] = []
    index = 0
    for point, t in enumerate(times):
        while index < len(fills) and fills[index][0] <= t:
            filled_at, symbol, side, price, quantity, notional, fee = fills[index]
            if side == OrderSide.BUY:
                cash -= notional + fee
                quantities[symbol] = quantities.get(symbol, ZERO) + quantity
            else:
                cash += notional - fee
                quantities[symbol] = quantities.get(symbol, ZERO) - quantity
            last_price[symbol] = (filled_at, price)
            index += 1
        equity = cash
        for symbol, quantity in sorted(quantities.items()):
            if quantity == 0:
                continue
            price = series[symbol][point] if series is not None else source(symbol, t)
            if price is None:
                price = last_price[symbol][1]
            else:
                last_price[symbol] = (t, price)
            equity += quantity * price
        curve.append((t, equity))
    return curve


def max_drawdown_percent(equities: Iterable[Decimal]) -> Decimal | None:
    """Largest peak-to-trough fall in percent of the peak (module docstring); None without values."""
    peak: Decimal | None = None
    worst: Decimal | None = None
    for equity in equities:
        peak = equity if peak is None or equity > peak else peak
        drawdown = (peak - equity) / peak * HUNDRED if peak > 0 else ZERO
        worst = drawdown if worst is None or drawdown > worst else worst
    return worst


def sharpe_ratio(equities: list[Decimal], periods_per_year: int = 365) -> float | None:
    """mean / sample stdev of the period returns x sqrt(periods_per_year) (module docstring).

    Float because of the square root; None with fewer than 2 returns or zero dispersion."""
    returns = [float(b / a - 1) for a, b in itertools.pairwise(equities) if a != 0]
    if len(returns) < 2:
        return None
    deviation = statistics.stdev(returns)
    if deviation == 0:
        return None
    return round(statistics.mean(returns) / deviation * math.sqrt(periods_per_year), 6)


class PnlSummary(TypedDict):
    """The P&L summary of an account (``pnl_summary``; definitions in the module docstring).

    Units: every ``*_usd`` key is USD (Decimal); ``*_percent`` keys are percent, 0-100 (Decimal);
    ``profit_factor`` is a ratio (Decimal); ``sharpe_ratio`` is annualized (365 days) from the daily
    equity curve (float, 6 places); ``closed_trades``, ``wins``, ``losses``, ``fill_count`` are counts.
    None: ``unrealized_pnl_usd`` when a held symbol is unpriced; the rates, averages and extremes
    when there is nothing to compute them from (module docstring).
    """

    realized_pnl_usd: Decimal
    unrealized_pnl_usd: Decimal | None
    closed_trades: int
    wins: int
    losses: int
    win_rate_percent: Decimal | None
    gross_profit_usd: Decimal
    gross_loss_usd: Decimal
    profit_factor: Decimal | None
    average_win_usd: Decimal | None
    largest_win_usd: Decimal | None
    average_loss_usd: Decimal | None
    largest_loss_usd: Decimal | None
    volume_usd: Decimal
    fees_usd: Decimal
    fill_count: int
    max_drawdown_percent: Decimal | None
    sharpe_ratio: float | None


def pnl_summary(*, account_id: int, now: datetime | None = None,
                price_source: PriceSource | None = None) -> PnlSummary:
    """The account's P&L summary at ``now`` (default: now) as a ``PnlSummary`` (its 18 keys and units
    in that class; definitions in the module docstring).

    Source: the account's Fill rows, its open positions priced by ``price_source`` (default
    ``trading.selectors.market_price``) and the daily ``equity_curve``.
    Raises: Account.DoesNotExist for an unknown ``account_id`` (from ``equity_curve``).
    """
    now = now or timezone.now()
    fills = Fill.objects.filter(account_id=account_id)
    totals = fills.aggregate(volume_usd=Sum("notional_usd"), fees_usd=Sum("fee_usd"),
                             realized_usd=Sum("realized_pnl_usd"), n=Count("id"))
    results = list(fills.filter(side=OrderSide.SELL, realized_pnl_usd__isnull=False)
                   .values_list("realized_pnl_usd", flat=True))
    wins = [r for r in results if r > 0]
    losses = [r for r in results if r < 0]
    gross_profit = sum(wins, ZERO)
    gross_loss = -sum(losses, ZERO)
    equities = [equity for _, equity in equity_curve(account_id=account_id, interval="day", now=now,
                                                       price_source=price_source)]
    return {
        "realized_pnl_usd": totals["realized_usd"] or ZERO,
        "unrealized_pnl_usd": pnl_unrealized(account_id=account_id, now=now,
                                             price_source=price_source).unrealized_pnl_usd,
        "closed_trades": len(results),
        "wins": len(wins),
        "losses": len(losses),
        "win_rate_percent": Decimal(len(wins)) / len(results) * HUNDRED if results else None,
        "gross_profit_usd": gross_profit,
        "gross_loss_usd": gross_loss,
        "profit_factor": gross_profit / gross_loss if gross_loss else None,
        "average_win_usd": gross_profit / len(wins) if wins else None,
        "largest_win_usd": max(wins) if wins else None,
        "average_loss_usd": -gross_loss / len(losses) if losses else None,
        "largest_loss_usd": min(losses) if losses else None,
        "volume_usd": totals["volume_usd"] or ZERO,
        "fees_usd": totals["fees_usd"] or ZERO,
        "fill_count": totals["n"],
        "max_drawdown_percent": max_drawdown_percent(equities),
        "sharpe_ratio": sharpe_ratio(equities),
    }


# ---------------------------------------------------------------- breakdowns (API reads)
#
# The functions below are reads for the trading API (``trading.api``): positions at market, the
# portfolio value, realized fills, and P&L per coin and per strategy. They aggregate in the database
# (GROUP BY) and price each symbol once. Units: USD as Decimal, unrounded (the API rounds USD to
# 1e-8 when rendering); quantities in asset units; prices USD per unit.


@dataclass(frozen=True)
class PositionValuation:
    """One open position at market. Units: ``quantity`` in asset units; ``average_price_usd`` and
    ``price_usd`` USD per unit; ``total_cost_usd``, ``value_usd`` and ``unrealized_pnl_usd`` USD.
    ``price_usd``, ``value_usd`` and ``unrealized_pnl_usd`` are None when the symbol has no (fresh) price."""

    symbol: str
    quantity: Decimal
    average_price_usd: Decimal
    total_cost_usd: Decimal
    price_usd: Decimal | None
    value_usd: Decimal | None
    unrealized_pnl_usd: Decimal | None


@dataclass(frozen=True)
class CoinPnl:
    """P&L of one symbol of an account (see ``pnl_by_coin``)."""

    symbol: str
    realized_pnl_usd: Decimal
    unrealized_pnl_usd: Decimal | None
    volume_usd: Decimal
    fees_usd: Decimal
    fill_count: int
    quantity: Decimal


@dataclass(frozen=True)
class StrategyPnl:
    """P&L of one strategy of an account, or of its manual orders (``strategy_id`` None); see
    ``pnl_by_strategy``."""

    strategy_id: int | None
    strategy_name: str | None
    realized_pnl_usd: Decimal
    unrealized_pnl_usd: Decimal | None
    volume_usd: Decimal
    fees_usd: Decimal
    fill_count: int


@dataclass(frozen=True)
class UnrealizedPnl:
    """Open positions at market and their summed unrealized P&L (None when any symbol is unpriced)."""

    items: list[PositionValuation]
    unrealized_pnl_usd: Decimal | None


def _prices(symbols: Iterable[str], when: datetime, source: PriceSource) -> dict[str, Decimal | None]:
    return {symbol: source(symbol, when) for symbol in sorted(set(symbols))}


def position_valuations(*, account_id: int, now: datetime | None = None,
                        price_source: PriceSource | None = None) -> list[PositionValuation]:
    """The account's open positions (by symbol) valued at ``now``.

    Source: Position rows (quantity, average_price_usd, total_cost_usd = cost of the remaining FIFO lots, buy
    fees included) and ``price_source`` (default ``trading.selectors.market_price``).
    Units: value_usd = quantity x price_usd; unrealized_pnl_usd = value_usd - total_cost_usd (USD).
    """
    now = now or timezone.now()
    positions = list(position_list(account_id=account_id))
    prices = _prices((p.symbol for p in positions), now, price_source or market_price)
    rows = []
    for position in positions:
        price = prices[position.symbol]
        value = None if price is None else position.quantity * price
        rows.append(PositionValuation(
            symbol=position.symbol, quantity=position.quantity, average_price_usd=position.average_price_usd,
            total_cost_usd=position.total_cost_usd, price_usd=price, value_usd=value,
            unrealized_pnl_usd=None if value is None else value - position.total_cost_usd))
    return rows


def portfolio_value_usd(*, account_id: int, cash_usd: Decimal, now: datetime | None = None,
                        price_source: PriceSource | None = None) -> Decimal | None:
    """``cash_usd`` + every open position at market (USD); None when a held symbol has no (fresh) price."""
    total = cash_usd
    for row in position_valuations(account_id=account_id, now=now, price_source=price_source):
        if row.value_usd is None:
            return None
        total += row.value_usd
    return total


def pnl_unrealized(*, account_id: int, now: datetime | None = None,
                   price_source: PriceSource | None = None) -> UnrealizedPnl:
    """Unrealized P&L per open position (``position_valuations``) and in total.

    Units: USD. The total is None when any open position is unpriced.
    """
    items = position_valuations(account_id=account_id, now=now, price_source=price_source)
    total: Decimal | None = ZERO
    for row in items:
        total = None if total is None or row.unrealized_pnl_usd is None else total + row.unrealized_pnl_usd
    return UnrealizedPnl(items=items, unrealized_pnl_usd=total)


def pnl_realized_fills(*, account_id: int) -> QuerySet[Fill]:
    """The account's sell fills with a realized P&L, newest first (filled_at, id), order and strategy
    joined. Their sum is ``trading.selectors.realized_pnl``. Units: realized_pnl_usd in USD, FIFO, net
    of the sell fee (the buy fee is in the consumed lots' cost)."""
    return (Fill.objects.filter(account_id=account_id, side=OrderSide.SELL, realized_pnl_usd__isnull=False)
            .select_related("order", "order__strategy").order_by("-filled_at", "-id"))


def pnl_by_coin(*, account_id: int, now: datetime | None = None,
                price_source: PriceSource | None = None) -> list[CoinPnl]:
    """P&L per symbol the account ever filled or holds, by symbol.

    Shape per symbol: realized_pnl_usd = sum of its sell fills' ``realized_pnl_usd``; volume_usd =
    sum of ``notional_usd`` of all its fills; fees_usd = sum of ``fee_usd``; fill_count; quantity =
    the open position's quantity (0 without one); unrealized_pnl_usd = quantity x price at ``now`` -
    the position's total_cost_usd (0 without a position; None when held but unpriced).
    Source: one GROUP BY symbol over Fill, the Position rows, ``price_source`` (default
    ``trading.selectors.market_price``). Units: USD.
    """
    now = now or timezone.now()
    totals = {row["symbol"]: row for row in (
        Fill.objects.filter(account_id=account_id).values("symbol").order_by("symbol")
        .annotate(realized_usd=Sum("realized_pnl_usd"), volume_usd=Sum("notional_usd"), fees_usd=Sum("fee_usd"),
                  n=Count("id")))}
    positions = {p.symbol: p for p in position_list(account_id=account_id)}
    prices = _prices(positions, now, price_source or market_price)
    rows = []
    for symbol in sorted(set(totals) | set(positions)):
        row = totals.get(symbol, {})
        position = positions.get(symbol)
        unrealized: Decimal | None = ZERO
        if position is not None:
            price = prices[symbol]
            unrealized = None if price is None else position.quantity * price - position.total_cost_usd
        rows.append(CoinPnl(
            symbol=symbol, realized_pnl_usd=row.get("realized_usd") or ZERO, unrealized_pnl_usd=unrealized,
            volume_usd=row.get("volume_usd") or ZERO, fees_usd=row.get("fees_usd") or ZERO,
            fill_count=row.get("n", 0),
            quantity=position.quantity if position is not None else ZERO))
    return rows


def pnl_by_strategy(*, account_id: int, now: datetime | None = None,
                    price_source: PriceSource | None = None) -> list[StrategyPnl]:
    """P&L per strategy of the account (by id), then one row for manual orders (strategy None).

    Shape per row: realized_pnl_usd = sum of ``realized_pnl_usd`` over the fills of the strategy's
    orders; volume_usd = sum of their ``notional_usd``; fees_usd = sum of their ``fee_usd``;
    fill_count; unrealized_pnl_usd = sum over the OPEN PositionLot rows (quantity_remaining > 0)
    whose opening (buy) fill belongs to an order of the strategy of quantity_remaining x price at
    ``now`` - cost_remaining_usd (0 without open lots; None when one of those symbols is unpriced).
    The manual row covers orders without a strategy (including those of a deleted strategy).

    FIFO is ACCOUNT-WIDE (DESIGN.md section 9): a sell consumes the account's oldest lots of the
    symbol whichever strategy opened them, so one strategy's sell may close another strategy's lots.
    Realized P&L is attributed to the SELLING order's strategy, and the consumed lots stop counting
    toward the unrealized P&L of the strategy that opened them. Summed over all rows, realized and
    unrealized equal the account's totals.
    Source: GROUP BY order.strategy over Fill and over open PositionLot (per symbol), Strategy rows,
    ``price_source`` (default ``trading.selectors.market_price``). Units: USD.
    """
    now = now or timezone.now()
    totals = {row["order__strategy_id"]: row for row in (
        Fill.objects.filter(account_id=account_id).values("order__strategy_id").order_by("order__strategy_id")
        .annotate(realized_usd=Sum("realized_pnl_usd"), volume_usd=Sum("notional_usd"), fees_usd=Sum("fee_usd"),
                  n=Count("id")))}
    lots = list(PositionLot.objects.filter(account_id=account_id, quantity_remaining__gt=0)
                .values("fill__order__strategy_id", "symbol").order_by("fill__order__strategy_id", "symbol")
                .annotate(quantity=Sum("quantity_remaining"), cost_usd=Sum("cost_remaining_usd")))
    prices = _prices((lot["symbol"] for lot in lots), now, price_source or market_price)
    unrealized: dict[int | None, Decimal | None] = {}
    for lot in lots:
        key, price = lot["fill__order__strategy_id"], prices[lot["symbol"]]
        previous = unrealized.get(key, ZERO)
        unrealized[key] = (None if previous is None or price is None
                           else previous + lot["quantity"] * price - lot["cost_usd"])
    names: list[tuple[int | None, str | None]] = list(
        Strategy.objects.filter(account_id=account_id).order_by("id").values_list("id", "name"))
    rows = []
    for strategy_id, name in [*names, (None, None)]:
        row = totals.get(strategy_id, {})
        rows.append(StrategyPnl(
            strategy_id=strategy_id, strategy_name=name, realized_pnl_usd=row.get("realized_usd") or ZERO,
            unrealized_pnl_usd=unrealized.get(strategy_id, ZERO), volume_usd=row.get("volume_usd") or ZERO,
            fees_usd=row.get("fees_usd") or ZERO, fill_count=row.get("n", 0)))
    return rows
