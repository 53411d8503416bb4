"""Writes for trading: order placement and cancellation, limit matching, fills, FIFO lots, halt/resume,
the daily-loss guard and the live-trading switch.

Locking: every write that touches an account locks, in this fixed order, the Account row, then its
Position rows ordered by symbol, then (for sells) its lots, with ``select_for_update``; so two workers
acting on one account serialize and never deadlock. The account lock also makes ``client_order_id``
idempotent: a retry waits, then finds the stored order and returns it (placing nothing).

FIFO (DESIGN.md §9, the one engine in ``whales.fifo``): a buy fill opens a lot costing notional + fee; a
sell consumes the oldest lots first; a partly consumed lot keeps its remaining cost (cost_remaining_usd - the
consumed share, rounded to 1e-8 USD, so remaining + consumed is exactly the lot's cost); a position
closed and reopened starts new lots; fees are counted once (buy fee in the lot cost, sell fee off the
proceeds). Realized P&L of
a sell fill = notional - fee - cost of the consumed lots. Hence, exactly:
``cash_usd + cost of remaining lots == starting_cash_usd + total realized P&L`` (USD).
"""

import functools
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal, localcontext
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from trading.exchange import Exchange, Execution, OrderTicket, PaperExchange
from trading.models import (
    OPEN_STATUSES,
    Account,
    AccountAudit,
    AccountMode,
    Fill,
    LiveTradingToggle,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    PositionLot,
    Strategy,
    StrategyStatus,
    symbol_canonical,
)
from trading.safety import (
    Intent,
    Limits,
    Snapshot,
    daily_loss_violation,
    portfolio_value,
    pre_trade_violations,
    unpriced_symbols,
)
from trading.selectors import PriceSource, strategy_net_quantities, trading_price_max_age
from trading.venues import price_source_prefetched
from whales.errors import Conflict, InvalidParameter
from whales.fifo import Lot, lots_take
from whales.money import q_price, q_usd

logger = logging.getLogger(__name__)

ZERO = Decimal(0)

DECIMAL_CONTEXT = Context(prec=120)
"""The arithmetic context of every trading write: quantities are NUMERIC(78, 30) and prices NUMERIC(38, 18),
so sums of quantities (78 digits) and quantity x price products (at most 48 + 38 digits with the input
bounds below) are exact; Python's default 28 digits rounded them, so a position and its lots disagreed."""
QUANTITY_MAX = Decimal(10) ** 18
"""Order quantities are below this (asset units, at most 30 decimal places): 18 + 30 digits."""
PRICE_MAX = Decimal(10) ** 20
"""Limit prices are below this (USD per unit, at most 18 decimal places), as the price columns."""

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _wide(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """Run ``func`` in ``DECIMAL_CONTEXT`` (and restore the caller's context after)."""

    @functools.wraps(func)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with localcontext(DECIMAL_CONTEXT):
            return func(*args, **kwargs)

    return wrapper


class TradingError(InvalidParameter):
    """Bad input to a trading service: 400 ``invalid_parameter`` (nothing was changed)."""


class OrderNotOpen(Conflict):
    """409 ``conflict``: the order is no longer open (filled, cancelled, rejected, failed)."""


# ---------------------------------------------------------------- live switch


def live_trading_enabled() -> bool:
    """True only when settings.TRADING_LIVE_ENABLED AND the newest admin toggle row are both on."""
    if not getattr(settings, "TRADING_LIVE_ENABLED", False):
        return False
    latest = LiveTradingToggle.objects.order_by("-changed_at", "-id").first()
    return bool(latest and latest.enabled)


def live_trading_set(*, enabled: bool, by_user: User | None = None, reason: str = "",
                     now: datetime | None = None) -> LiveTradingToggle:
    """Flip the admin switch for live trading; every flip is an audit row (who, when, old -> new)."""
    with transaction.atomic():
        latest = LiveTradingToggle.objects.select_for_update().order_by("-changed_at", "-id").first()
        row = LiveTradingToggle.objects.create(
            enabled=enabled, previous=bool(latest and latest.enabled), changed_by=by_user,
            changed_at=now or timezone.now(), reason=reason)
    logger.warning("trading.live.toggle", extra={"enabled": enabled, "by": getattr(by_user, "pk", None)})
    return row


def exchange_for(account: Account) -> Exchange | None:
    """The venue of ``account``: the paper exchange, or None for a live account (no live adapter yet)."""
    if account.mode == AccountMode.PAPER:
        return PaperExchange(slippage_bps=account.slippage_bps, fee_bps=account.fee_bps)
    return None


# ---------------------------------------------------------------- accounts


ACCOUNT_SETTINGS = ("venue", "max_position_percent", "max_daily_loss_percent", "max_strategy_exposure_percent",
                    "max_orders_per_day", "min_order_usd", "flatten_on_daily_loss", "slippage_bps", "fee_bps",
                    "max_order_notional_usd", "max_daily_notional_usd", "price_band_percent")


def account_create(*, owner_id: int, name: str, starting_cash_usd: Decimal = Decimal("10000"),
                   **limits: Decimal | int | bool | str) -> Account:
    """Create a PAPER account with ``cash_usd = starting_cash_usd`` (USD) and the given venue and limits
    (``ACCOUNT_SETTINGS``; omitted ones take the defaults). Raises: TradingError for a name the owner already uses, a
    non-positive cash or an unknown setting (nothing stored)."""
    unknown = sorted(set(limits) - set(ACCOUNT_SETTINGS))
    if unknown:
        raise TradingError(f"unknown account setting(s): {', '.join(unknown)}")
    if starting_cash_usd <= 0:
        raise TradingError("starting_cash_usd must be > 0")
    taken = TradingError(f"name: you already have an account named {name!r}")
    if Account.objects.filter(owner_id=owner_id, name=name).exists():
        raise taken
    try:
        with transaction.atomic():
            return Account.objects.create(owner_id=owner_id, name=name, mode=AccountMode.PAPER,
                                          starting_cash_usd=starting_cash_usd, cash_usd=starting_cash_usd,
                                          **limits)
    except IntegrityError as exc:  # a concurrent request took the name between the check and the insert
        raise taken from exc


# ---------------------------------------------------------------- halt / resume


def _halt(account: Account, *, reason: str, by_user: User | None, now: datetime) -> None:
    account.halted, account.halted_reason, account.halted_at = True, reason, now
    account.save(update_fields=["halted", "halted_reason", "halted_at", "updated_at"])
    AccountAudit.objects.create(account=account, action="halt", reason=reason, by_user=by_user, at=now)
    logger.warning("trading.account.halted", extra={"account": account.pk, "reason": reason})


def account_halt(*, account_id: int, reason: str, by_user: User | None = None,
                 now: datetime | None = None) -> Account:
    """Emergency stop: the account places nothing until resumed; resting orders stay but do not fill.
    Audited (AccountAudit). Halting a halted account keeps the first reason."""
    now = now or timezone.now()
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if not account.halted:
            _halt(account, reason=reason or "manual halt", by_user=by_user, now=now)
    return account


class ResumeRefused(Conflict):
    """409 ``conflict``: the daily-loss limit halted the account this UTC day; only staff may resume it
    before the next UTC day (nothing changed)."""


DAILY_LOSS_RULE = "max_daily_loss_percent"
"""The rule name a daily-loss halt's reason starts with (``trading.safety.daily_loss_violation``)."""


def account_resume(*, account_id: int, reason: str = "", by_user: User | None = None,
                   now: datetime | None = None) -> Account:
    """Lift a halt. The start-of-day value is re-based at the next check (a deliberate resume after a
    daily-loss halt measures the rest of the day from the resumed value), so a halt by the daily-loss
    limit may be lifted the same UTC day by staff only; its owner may resume from the next UTC day.
    Audited. Raises: ResumeRefused (nothing changed)."""
    now = now or timezone.now()
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if not account.halted:
            return account
        same_day = account.halted_at is not None and account.halted_at.astimezone(UTC).date() == now.astimezone(
            UTC).date()
        if (account.halted_reason.startswith(f"{DAILY_LOSS_RULE}:") and same_day
                and not (by_user is not None and by_user.is_staff)):
            next_day = datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)
            raise ResumeRefused(f"the daily loss limit halted account {account_id} today; staff may resume it "
                                f"now, you from {next_day.isoformat()}")
        account.halted, account.halted_reason, account.halted_at = False, "", None
        account.start_of_day_date = None
        account.save(update_fields=["halted", "halted_reason", "halted_at", "start_of_day_date", "updated_at"])
        AccountAudit.objects.create(account=account, action="resume", reason=reason, by_user=by_user, at=now)
    return account


# ---------------------------------------------------------------- fills


def _lock_positions(account: Account) -> dict[str, Position]:
    return {p.symbol: p for p in Position.objects.select_for_update().filter(account=account).order_by("symbol")}


LOT_BATCH = 64


def _lots_covering(account: Account, symbol: str, quantity: Decimal) -> list[PositionLot]:
    """The oldest open lots of ``symbol`` (locked) until they hold ``quantity``: keyset pages of
    LOT_BATCH in FIFO order (opened_at, id), so a sell reads the lots it consumes, not every open lot."""
    lots: list[PositionLot] = []
    held = ZERO
    query = PositionLot.objects.select_for_update().filter(
        account=account, symbol=symbol, quantity_remaining__gt=0).order_by("opened_at", "id")
    page = query
    while held < quantity:
        batch = list(page[:LOT_BATCH])
        lots.extend(batch)
        held += sum((lot.quantity_remaining for lot in batch), ZERO)
        if len(batch) < LOT_BATCH:
            break
        last = batch[-1]
        page = query.filter(Q(opened_at__gt=last.opened_at) | Q(opened_at=last.opened_at, id__gt=last.id))
    return lots


def _prefetched_source(account_id: int) -> PriceSource:
    """The account's venue PriceSource with its network fetch done now (``price_source_prefetched``): call
    it before locking the account. Raises: Account.DoesNotExist; InvalidParameter for an unknown venue."""
    return price_source_prefetched(Account.objects.values_list("venue", flat=True).get(pk=account_id))


def memoized(source: PriceSource) -> PriceSource:
    """``source`` answering each (symbol, when) once: one order's checks ask for the same prices
    several times (its symbol, every held position, the daily-loss guard) and must see the same ones."""
    answers: dict[tuple[str, datetime], Decimal | None] = {}

    def cached(symbol: str, when: datetime) -> Decimal | None:
        key = (symbol, when)
        if key not in answers:
            answers[key] = source(symbol, when)
        return answers[key]

    return cached


def _apply_fill(account: Account, order: Order, execution: Execution, positions: dict[str, Position],
                now: datetime, *, venue_fill_id: str = "") -> Fill:
    """Book ``execution`` of ``order``: fill, lots, position, cash, order status (locks already held).

    An order may fill in several executions (a live venue's partial fills): ``filled_quantity`` accumulates, the
    average price is the quantity-weighted mean, and the order is ``filled`` once the whole quantity is, else
    ``partially_filled``. ``venue_fill_id`` is the venue's id of a live execution (the fill's import key); the
    fill's venue is the order's."""
    symbol = order.symbol
    realized: Decimal | None = None
    position = positions.get(symbol)
    if order.side == OrderSide.BUY:
        cost = execution.notional_usd + execution.fee_usd
        account.cash_usd -= cost
    else:
        lots = _lots_covering(account, symbol, execution.quantity)
        pieces, uncovered = lots_take([Lot(lot.quantity_remaining, lot.cost_remaining_usd) for lot in lots],
                                      execution.quantity)
        if uncovered:
            raise TradingError(f"sell {execution.quantity} exceeds the lots held")
        consumed = ZERO
        for lot, (taken, taken_cost) in zip(lots, pieces, strict=False):  # the pieces come from the oldest lots
            # Invariant: every Lot above is built from PositionLot.cost_remaining_usd (NOT NULL), so
            # lots_take gives a known cost for each piece (None is only for lots of unknown cost).
            assert taken_cost is not None
            lot.quantity_remaining -= taken
            lot.cost_remaining_usd -= taken_cost
            lot.save(update_fields=["quantity_remaining", "cost_remaining_usd"])
            consumed += taken_cost
        realized = execution.notional_usd - execution.fee_usd - consumed
        account.cash_usd += execution.notional_usd - execution.fee_usd
    fill = Fill.objects.create(order=order, account=account, symbol=symbol, side=order.side,
                               price_usd=execution.price_usd, quantity=execution.quantity,
                               notional_usd=execution.notional_usd, fee_usd=execution.fee_usd,
                               realized_pnl_usd=realized, filled_at=now, venue=order.venue,
                               venue_fill_id=venue_fill_id)
    if order.side == OrderSide.BUY:
        PositionLot.objects.create(account=account, symbol=symbol, fill=fill, opened_at=now,
                                   quantity=execution.quantity, quantity_remaining=execution.quantity,
                                   cost_remaining_usd=cost)
        if position is None:
            position = Position(account=account, symbol=symbol, quantity=ZERO, total_cost_usd=ZERO,
                                average_price_usd=ZERO)
            positions[symbol] = position
        position.quantity += execution.quantity
        position.total_cost_usd += cost
    else:
        assert position is not None
        position.quantity -= execution.quantity
        position.total_cost_usd -= consumed
    if position.quantity > 0:
        position.average_price_usd = q_price(position.total_cost_usd / position.quantity)
        position.save()
    else:
        position.delete()
        del positions[symbol]
    account.save(update_fields=["cash_usd", "updated_at"])
    before = order.filled_quantity
    order.filled_quantity = before + execution.quantity
    order.average_fill_price_usd = q_price(
        ((order.average_fill_price_usd or ZERO) * before + execution.price_usd * execution.quantity)
        / order.filled_quantity)
    if order.filled_quantity >= order.quantity:
        order.status = OrderStatus.FILLED
        order.filled_at = now
    elif order.status not in (OrderStatus.CANCELLED, OrderStatus.FAILED):
        order.status = OrderStatus.PARTIALLY_FILLED
    order.submitted_at = order.submitted_at or now
    order.save(update_fields=["filled_quantity", "average_fill_price_usd", "status", "filled_at", "submitted_at"])
    return fill


def _reject(order: Order, reason: str) -> Order:
    order.status, order.reject_reason = OrderStatus.REJECTED, reason
    order.save(update_fields=["status", "reject_reason"])
    logger.info("trading.order.rejected", extra={"order": order.pk, "reason": reason})
    return order


# ---------------------------------------------------------------- checks


def _limits(account: Account) -> Limits:
    return Limits(max_position_percent=account.max_position_percent,
                  max_daily_loss_percent=account.max_daily_loss_percent,
                  max_strategy_exposure_percent=account.max_strategy_exposure_percent,
                  max_orders_per_day=account.max_orders_per_day, min_order_usd=account.min_order_usd)


def _snapshot(account: Account, positions: dict[str, Position], source: PriceSource, now: datetime, *,
              orders_today: int = 0, strategy_id: int | None = None) -> Snapshot:
    marks = {s: (p.quantity, source(s, now)) for s, p in sorted(positions.items()) if p.quantity > 0}
    net = strategy_net_quantities(account_id=account.pk, strategy_id=strategy_id) if strategy_id else {}
    return Snapshot(cash_usd=account.cash_usd, marks=marks, limits=_limits(account), orders_today=orders_today,
                    start_of_day_value_usd=account.start_of_day_value_usd, strategy_net=net,
                    has_strategy=strategy_id is not None)


def _missing_price_reason(symbols: list[str], now: datetime) -> str:
    hours = trading_price_max_age() / timedelta(hours=1)
    return (f"missing_price: no price for {', '.join(symbols)} at {now.isoformat()} "
            f"within {hours:g} h (missing or stale); trading blocked")


def _flatten(account: Account, positions: dict[str, Position], source: PriceSource, now: datetime,
             trigger: str) -> list[Order]:
    """Close every position with market sells (risk-reducing: no pre-trade checks); an unpriced
    position cannot be sold and is recorded as a rejected flatten order."""
    exchange = exchange_for(account)
    orders = []
    for symbol in sorted(positions):
        position = positions[symbol]
        order = Order.objects.create(
            account=account, client_order_id=f"flatten:{now.isoformat()}:{symbol}", symbol=symbol,
            side=OrderSide.SELL, type=OrderType.MARKET, quantity=position.quantity, created_at=now,
            submitted_at=now, status=OrderStatus.SUBMITTED)
        mark = source(symbol, now)
        if mark is None or exchange is None:
            _reject(order, _missing_price_reason([symbol], now) if mark is None else "live_adapter_missing")
        else:
            execution = exchange.execute(ticket=_ticket(order), mark_usd=mark)
            assert execution is not None
            _apply_fill(account, order, execution, positions, now)
        orders.append(order)
    logger.warning("trading.account.flattened", extra={"account": account.pk, "trigger": trigger})
    return orders


def _daily_loss_guard(account: Account, positions: dict[str, Position], source: PriceSource,
                      now: datetime) -> str | None:
    """Roll the start-of-day value on a new UTC day; on a daily-loss breach halt the account, flatten
    it when configured, and return the reason. Returns a missing-price reason when unpriced."""
    snapshot = _snapshot(account, positions, source, now)
    missing = unpriced_symbols(snapshot)
    if missing:
        return _missing_price_reason(missing, now)
    today = now.astimezone(UTC).date()
    if account.start_of_day_date != today or account.start_of_day_value_usd is None:
        account.start_of_day_value_usd, account.start_of_day_date = q_usd(portfolio_value(snapshot)), today
        account.save(update_fields=["start_of_day_value_usd", "start_of_day_date", "updated_at"])
        return None
    violation = daily_loss_violation(snapshot)
    if violation is None:
        return None
    reason = str(violation)
    _halt(account, reason=reason, by_user=None, now=now)
    if account.flatten_on_daily_loss and account.mode == AccountMode.LIVE:
        from trading.live import emergency_stop_later  # a live account is flattened at its venue, off the lock

        emergency_stop_later(account.pk, flatten=True, reason=reason)
        reason += "; account halted, its venue's orders cancelled and positions closed after this commits"
    elif account.flatten_on_daily_loss:
        _flatten(account, positions, source, now, trigger=reason)
        reason += "; account halted and flattened"
    else:
        reason += "; account halted"
    return reason


@_wide
def daily_loss_check(*, account_id: int, now: datetime | None = None,
                     price_source: PriceSource | None = None) -> bool:
    """Periodic guard (for a beat task): apply the daily-loss rule without an order; True when it
    halted the account now. A halted account is left alone."""
    now = now or timezone.now()
    source = memoized(price_source or _prefetched_source(account_id))  # before the lock (order_place)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if account.halted:
            return False
        positions = _lock_positions(account)
        _daily_loss_guard(account, positions, source, now)
        return account.halted


def _ticket(order: Order) -> OrderTicket:
    return OrderTicket(symbol=order.symbol, side=order.side, type=order.type, quantity=order.quantity,
                       limit_price_usd=order.limit_price_usd)


def _orders_today(account: Account, now: datetime, exclude_pk: int | None = None) -> int:
    start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    qs = Order.objects.filter(account=account, created_at__gte=start, created_at__lt=start + timedelta(days=1)).exclude(
        status=OrderStatus.REJECTED)
    return qs.exclude(pk=exclude_pk).count() if exclude_pk else qs.count()


def _block_reason(account: Account, order: Order, positions: dict[str, Position], source: PriceSource,
                  now: datetime, *, count_orders: bool) -> tuple[str | None, Decimal | None]:
    """Why ``order`` may not execute now (None = it may), and the market price it would use."""
    if account.halted:
        return f"account_halted: {account.halted_reason}", None
    if account.mode == AccountMode.LIVE:  # switched to live after the caller looked: never fill it on paper
        return "live_mode_changed: the account was switched to live mode; place the order again", None
    strategy = order.strategy  # None for a manual order (no query then: strategy_id is None)
    if strategy is not None and strategy.status != StrategyStatus.ACTIVE:
        return f"strategy_paused: strategy {strategy.pk} is {strategy.status}", None
    mark = source(order.symbol, now)
    if mark is None:
        return _missing_price_reason([order.symbol], now), None
    guard = _daily_loss_guard(account, positions, source, now)
    if guard is not None:
        return guard, mark
    exchange = exchange_for(account)
    assert exchange is not None
    quote = exchange.quote(ticket=_ticket(order), mark_usd=mark)
    orders_today = _orders_today(account, now, exclude_pk=order.pk) if count_orders else 0
    snapshot = _snapshot(account, positions, source, now, orders_today=orders_today, strategy_id=order.strategy_id)
    intent = Intent(symbol=order.symbol, side=order.side, quantity=order.quantity, price_usd=quote.price_usd,
                    mark_usd=mark, fee_usd=quote.fee_usd)
    violations = pre_trade_violations(snapshot, intent)
    if not count_orders:  # at limit matching, the order was counted and sized when placed
        violations = [v for v in violations if v.rule not in ("max_orders_per_day", "min_order_usd")]
    return ("; ".join(str(v) for v in violations) or None), mark


# ---------------------------------------------------------------- orders


def _places(value: Decimal) -> int:
    """Decimal places of a finite ``value`` (0 for an integer, also one written 1E+3)."""
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _validate(*, side: str, quantity: Decimal, order_type: str, limit_price_usd: Decimal | None,
              client_order_id: str, symbol: str) -> None:
    if side not in OrderSide.values:
        raise TradingError(f"side must be one of {OrderSide.values}")
    if order_type not in OrderType.values:
        raise TradingError(f"order_type must be one of {OrderType.values}")
    if not isinstance(quantity, Decimal) or not quantity.is_finite() or quantity <= 0:
        raise TradingError("quantity must be a positive Decimal")
    if quantity >= QUANTITY_MAX or _places(quantity) > 30:
        raise TradingError(f"quantity must be below {QUANTITY_MAX:f} with at most 30 decimal places")
    if order_type == OrderType.LIMIT and (limit_price_usd is None or not limit_price_usd.is_finite()
                                          or limit_price_usd <= 0):
        raise TradingError("a limit order needs a positive limit_price_usd")
    if limit_price_usd is not None and (limit_price_usd >= PRICE_MAX or _places(limit_price_usd) > 18):
        raise TradingError(f"limit_price_usd must be below {PRICE_MAX:f} with at most 18 decimal places")
    if order_type == OrderType.MARKET and limit_price_usd is not None:
        raise TradingError("a market order takes no limit_price_usd")
    if not client_order_id or len(client_order_id) > 100:
        raise TradingError("client_order_id must be 1-100 characters")
    if not symbol.strip() or len(symbol.strip()) > 30:
        raise TradingError("symbol must be 1-30 characters")


@_wide
def order_place(*, account_id: int, symbol: str, side: str, quantity: Decimal, client_order_id: str,
                order_type: str = OrderType.MARKET, limit_price_usd: Decimal | None = None,
                strategy_id: int | None = None, now: datetime | None = None,
                price_source: PriceSource | None = None, reference_price_usd: Decimal | None = None,
                lot_round: bool = False) -> Order:
    """Place an order; return it (filled, submitted, or rejected with the reason).

    A live-mode account's order goes to its venue instead (``trading.live.live_order_place``: the live gates,
    the paper checks at the venue's mids, the notional caps and the price band around ``reference_price_usd``,
    the signal's price; default the stored market price; ``lot_round`` cuts the quantity to the venue's lot).

    Idempotent on (account, client_order_id): a retry returns the stored order and places nothing.
    Checks, in order: halted account, live mode, paused strategy, missing/stale price of the symbol,
    daily loss (halts, and flattens when ``flatten_on_daily_loss``), then ``trading.safety`` rules.
    A market order fills at once on the paper exchange; a limit order rests until
    ``limit_orders_match`` sees the price cross. Source: prices from ``price_source`` (default: the
    account's venue, ``trading.venues.price_source_for``). Units: quantity in asset units,
    ``limit_price_usd`` USD per unit (limit orders only).
    ``symbol`` is canonicalised (``symbol_canonical``) before anything else.
    Raises: TradingError on bad input (nothing stored); Account.DoesNotExist.
    """
    symbol = symbol_canonical(symbol) if isinstance(symbol, str) else symbol
    _validate(side=side, quantity=quantity, order_type=order_type, limit_price_usd=limit_price_usd,
              client_order_id=client_order_id, symbol=symbol)
    now = now or timezone.now()
    if Account.objects.filter(pk=account_id, mode=AccountMode.LIVE).exists():
        from trading.live import live_order_place  # the live path (it imports this module)

        return live_order_place(account_id=account_id, symbol=symbol, side=side, quantity=quantity,
                                client_order_id=client_order_id, order_type=order_type,
                                limit_price_usd=limit_price_usd, strategy_id=strategy_id,
                                reference_price_usd=reference_price_usd, lot_round=lot_round, now=now)
    # Prices first, with no lock held: a venue's network call never runs under the account's row lock.
    source = memoized(price_source or _prefetched_source(account_id))
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        existing = Order.objects.filter(account=account, client_order_id=client_order_id).first()
        if existing is not None:
            return existing
        positions = _lock_positions(account)
        strategy = None
        if strategy_id is not None:
            strategy = Strategy.objects.filter(pk=strategy_id, account=account).first()
            if strategy is None:
                raise TradingError(f"strategy {strategy_id} is not a strategy of account {account_id}")
        order = Order.objects.create(
            account=account, strategy=strategy, client_order_id=client_order_id, symbol=symbol, side=side,
            type=order_type, quantity=quantity, limit_price_usd=limit_price_usd, created_at=now,
            status=OrderStatus.PENDING)
        reason, mark = _block_reason(account, order, positions, source, now, count_orders=True)
        if reason is not None:
            return _reject(order, reason)
        order.status, order.submitted_at = OrderStatus.SUBMITTED, now
        order.save(update_fields=["status", "submitted_at"])
        exchange = exchange_for(account)
        assert exchange is not None and mark is not None
        execution = exchange.execute(ticket=_ticket(order), mark_usd=mark)
        if execution is not None:
            _apply_fill(account, order, execution, positions, now)
    logger.info("trading.order.placed", extra={"order": order.pk, "status": order.status})
    return order


def order_cancel(*, account_id: int, order_id: int, now: datetime | None = None) -> Order:
    """Cancel an open (pending/submitted) order of the account; return it.
    Raises: OrderNotOpen when the order is not open (filled, cancelled, rejected, failed); nothing changed."""
    now = now or timezone.now()
    with transaction.atomic():
        Account.objects.select_for_update().get(pk=account_id)
        order = Order.objects.select_for_update().get(pk=order_id, account_id=account_id)
        if order.status not in OPEN_STATUSES:
            raise OrderNotOpen(f"order {order_id} is {order.status}, not open")
        order.status, order.cancelled_at = OrderStatus.CANCELLED, now
        order.save(update_fields=["status", "cancelled_at"])
    return order


@_wide
def limit_orders_match(*, now: datetime | None = None, price_source: PriceSource | None = None) -> int:
    """Fill every resting limit order whose price has crossed (buy: price <= limit, sell: price >= limit)
    at its limit price; return how many filled. Before filling, the order passes the position, cash,
    shorting, strategy-exposure and daily-loss rules again at the current prices (a violation rejects
    it with the reason). Orders of halted accounts and orders without a fresh price wait. Each account
    is matched in its own transaction; one that fails is rolled back and logged, and the others are
    still matched."""
    now = now or timezone.now()
    filled = 0
    account_ids = (Order.objects.filter(status=OrderStatus.SUBMITTED, type=OrderType.LIMIT)
                   .values_list("account_id", flat=True).distinct().order_by("account_id"))
    for account_id in list(account_ids):
        try:
            filled += _limit_orders_match_account(account_id, now, price_source)
        except Exception:  # one account's bad data must not stop matching for every later account
            logger.exception("trading.limit_match.account_failed", extra={"account": account_id})
    return filled


def _limit_orders_match_account(account_id: int, now: datetime, price_source: PriceSource | None) -> int:
    filled = 0
    source = memoized(price_source or _prefetched_source(account_id))  # before the lock (order_place)
    with transaction.atomic():
        account = Account.objects.select_for_update().get(pk=account_id)
        if account.halted:
            return 0
        positions = _lock_positions(account)
        exchange = exchange_for(account)
        if exchange is None:
            return 0
        orders = (Order.objects.select_for_update(of=("self",)).select_related("strategy")
                  .filter(account=account, status=OrderStatus.SUBMITTED, type=OrderType.LIMIT)
                  .order_by("created_at", "id"))
        for order in orders:
            mark = source(order.symbol, now)
            if account.halted or mark is None or exchange.execute(ticket=_ticket(order), mark_usd=mark) is None:
                continue
            # ``mark`` (checked above) stays: ``source`` is memoized, so _block_reason prices the same.
            reason, _ = _block_reason(account, order, positions, source, now, count_orders=False)
            if reason is not None:
                if not account.halted and not reason.startswith("missing_price"):
                    _reject(order, f"at fill: {reason}")
                continue
            execution = exchange.execute(ticket=_ticket(order), mark_usd=mark)
            assert execution is not None
            _apply_fill(account, order, execution, positions, now)
            filled += 1
    return filled
