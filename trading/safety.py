"""Pre-trade safety checks (DESIGN.md §10), as pure functions over a snapshot of the account.

Rules (each limit is a per-account field; the reason of a violation names the rule and the numbers):
- ``min_order_usd``: quantity x price >= min_order_usd (a sell closing the whole position is exempt,
  so a dust remainder can always be closed).
- ``max_orders_per_day``: orders accepted so far this UTC day (not counting rejected ones) < limit.
- ``insufficient_cash``: a buy needs cash >= notional + fee (no leverage in paper v1).
- ``no_shorting``: a sell may not exceed the open position (no shorting in paper v1).
- ``max_position_percent``: after a buy, the symbol's position value <= limit % of the portfolio
  value after the order (cash + all positions at market). Sells only reduce risk and skip it.
- ``max_strategy_exposure_percent``: after a buy, the value of the strategy's net holdings <=
  limit % of the portfolio value after the order.
- ``max_daily_loss_percent``: (start-of-day value - current value) / start-of-day value x 100 <=
  limit. Checked first by ``trading.services``; a breach halts (and may flatten) the account.
- ``missing_price``: every price the checks need must be known and fresh, else the order is
  blocked: an unpriced check never passes.
"""

from dataclasses import dataclass, field
from decimal import Decimal

HUNDRED = Decimal(100)
ZERO = Decimal(0)


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``rule`` is the limit's name, ``detail`` the numbers."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


@dataclass(frozen=True)
class Limits:
    """An account's limits (percents 0-100, USD, a count), as ``trading.models.Account`` stores them."""

    max_position_percent: Decimal
    max_daily_loss_percent: Decimal
    max_strategy_exposure_percent: Decimal
    max_orders_per_day: int
    min_order_usd: Decimal


@dataclass(frozen=True)
class Snapshot:
    """The account as the checks see it. Units: ``cash_usd`` and ``start_of_day_value_usd`` in USD;
    ``marks``: {symbol: (quantity in asset units, USD price per unit or None)}; ``strategy_net``: the
    ordering strategy's net quantity per symbol in asset units (empty without a strategy)."""

    cash_usd: Decimal
    marks: dict[str, tuple[Decimal, Decimal | None]]
    limits: Limits
    orders_today: int
    start_of_day_value_usd: Decimal | None = None
    strategy_net: dict[str, Decimal] = field(default_factory=dict)
    has_strategy: bool = False


@dataclass(frozen=True)
class Intent:
    """The order as it would fill: ``quantity`` in asset units, ``price_usd`` the expected fill price
    (slippage included) and ``mark_usd`` the market price, both USD per unit; ``fee_usd`` the expected
    fee in USD."""

    symbol: str
    side: str
    quantity: Decimal
    price_usd: Decimal
    mark_usd: Decimal
    fee_usd: Decimal


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}%"


def _usd(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))} USD"


def unpriced_symbols(snapshot: Snapshot) -> list[str]:
    """Symbols with an open position but no fresh price (their value is unknown)."""
    return sorted(s for s, (q, p) in snapshot.marks.items() if q > 0 and p is None)


def portfolio_value(snapshot: Snapshot) -> Decimal:
    """Cash + sum(quantity x price), USD; call only when ``unpriced_symbols`` is empty."""
    return snapshot.cash_usd + sum((q * p for q, p in snapshot.marks.values() if p is not None), ZERO)


def daily_loss_percent(*, start_of_day_value_usd: Decimal, current_value_usd: Decimal) -> Decimal:
    """Loss since the start of the day as a percent of the start-of-day value (negative = gain).
    Units: both values in USD; the result in percent (0-100)."""
    if start_of_day_value_usd <= 0:
        return ZERO
    return (start_of_day_value_usd - current_value_usd) / start_of_day_value_usd * HUNDRED


def daily_loss_violation(snapshot: Snapshot) -> Violation | None:
    """``max_daily_loss_percent`` broken? (requires every position priced)."""
    if snapshot.start_of_day_value_usd is None:
        return None
    value = portfolio_value(snapshot)
    loss = daily_loss_percent(start_of_day_value_usd=snapshot.start_of_day_value_usd, current_value_usd=value)
    limit = snapshot.limits.max_daily_loss_percent
    if loss > limit:
        return Violation("max_daily_loss_percent",
                         f"daily loss {_pct(loss)} of start-of-day value {_usd(snapshot.start_of_day_value_usd)} "
                         f"(now {_usd(value)}) exceeds {_pct(limit)}")
    return None


def pre_trade_violations(snapshot: Snapshot, intent: Intent) -> list[Violation]:
    """Every rule the order would break (empty = it may be placed). Missing prices are violations."""
    missing = unpriced_symbols(snapshot)
    if missing:
        return [Violation("missing_price", f"no fresh price for open position(s) {', '.join(missing)}")]
    limits = snapshot.limits
    out: list[Violation] = []
    notional = intent.quantity * intent.price_usd
    held = snapshot.marks.get(intent.symbol, (ZERO, None))[0]
    closes_position = intent.side == "sell" and intent.quantity == held
    if notional < limits.min_order_usd and not closes_position:  # dust may always be closed
        out.append(Violation("min_order_usd",
                             f"order value {_usd(notional)} is below the minimum {_usd(limits.min_order_usd)}"))
    if snapshot.orders_today >= limits.max_orders_per_day:
        out.append(Violation("max_orders_per_day",
                             f"{snapshot.orders_today} orders today, limit {limits.max_orders_per_day}"))
    if intent.side == "sell":
        if intent.quantity > held:
            out.append(Violation("no_shorting", f"sell {intent.quantity} {intent.symbol} exceeds position {held}"))
        return out
    cost = notional + intent.fee_usd
    if cost > snapshot.cash_usd:
        out.append(Violation("insufficient_cash", f"buy needs {_usd(cost)}, cash {_usd(snapshot.cash_usd)}"))
        return out  # the percentages of a portfolio with negative cash would mean nothing
    marks = dict(snapshot.marks)
    marks[intent.symbol] = (held + intent.quantity, intent.mark_usd)
    after = Snapshot(cash_usd=snapshot.cash_usd - cost, marks=marks, limits=limits, orders_today=snapshot.orders_today)
    value_after = portfolio_value(after)
    if value_after <= 0:
        out.append(Violation("max_position_percent", f"portfolio value after the order {_usd(value_after)}"))
        return out
    position_value = (held + intent.quantity) * intent.mark_usd
    position_pct = position_value / value_after * HUNDRED
    if position_pct > limits.max_position_percent:
        out.append(Violation("max_position_percent",
                             f"{intent.symbol} position {_usd(position_value)} would be {_pct(position_pct)} of "
                             f"portfolio value {_usd(value_after)}, limit {_pct(limits.max_position_percent)}"))
    if snapshot.has_strategy:
        net = dict(snapshot.strategy_net)
        net[intent.symbol] = net.get(intent.symbol, ZERO) + intent.quantity
        exposure = ZERO
        for symbol, quantity in net.items():
            # The strategy's share is capped by the position it can actually hold.
            share = min(max(quantity, ZERO), marks.get(symbol, (ZERO, None))[0])
            price = marks.get(symbol, (ZERO, None))[1]
            if share > 0 and price is None:
                return [Violation("missing_price", f"no fresh price for {symbol}")]
            exposure += share * (price or ZERO)
        exposure_pct = exposure / value_after * HUNDRED
        if exposure_pct > limits.max_strategy_exposure_percent:
            out.append(Violation("max_strategy_exposure_percent",
                                 f"strategy exposure {_usd(exposure)} would be {_pct(exposure_pct)} of portfolio "
                                 f"value {_usd(value_after)}, limit {_pct(limits.max_strategy_exposure_percent)}"))
    return out
