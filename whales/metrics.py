"""Wallet metrics (DESIGN.md section 9): a pure FIFO lot engine and the set-based recompute service.

Which method produces which figure (also stored per row in ``realized_pnl_method`` and ``details``):

- **Hyperliquid perpetuals** ("exchange_closed_pnl"): a perp trade is a Trade with source
  ``hyperliquid`` and direction long/short/close_long/close_short, or a ``hyperliquid`` buy/sell that
  carries ``pnl_usd`` (a liquidation fill, mapped by side in ledgers.glass.hyperliquid.activity).
  realized = sum(pnl_usd) - sum(fee_usd) over the whale's perp trades (opening fees included), summed
  in PostgreSQL, exactly: ``pnl_usd`` is the exchange's own ``closedPnl`` (average entry price). FIFO
  is never applied to perps. Their unrealized P&L is the exchange's figure on the open-position
  Holding rows (``Holding.unrealized_pnl_usd`` where ``is_perp``).
- **Everything else** ("fifo"): FIFO lots per (whale, base_asset), in (block_time, id) order:

  ===========================  =====================================================================
  buy                          opens a lot: amount_base at cost value_usd + fee_usd (the fee is in the
                               cost, so it is counted once, at the sale); value_usd None -> a lot of
                               unknown cost.
  sell                         consumes lots FIFO; per consumed piece: realized += proceeds share -
                               piece cost, proceeds = value_usd - fee_usd shared by amount. A partly
                               consumed lot keeps its remaining amount and the rest of its cost
                               (cost - consumed share, so cost is conserved exactly). The part not
                               covered by lots, or covered by unknown-cost lots, or a sell with
                               value_usd None, is UNKNOWN: counted in ``unknown_cost_sells`` /
                               ``details.unknown_cost_amounts`` / ``details.unknown_cost_proceeds_usd``,
                               never in realized P&L.
  receive, withdraw            a transfer in: opens a lot at value_usd (market value on arrival, the
                               same value ROI counts as money in); not a realization.
  send, deposit                a transfer out: consumes lots FIFO at cost, realizes nothing (the
                               value leaves as a flow, see ROI); an uncovered part just leaves.
  ===========================  =====================================================================

  Swaps are accounted on their base asset only (the quote side, usually a stablecoin or ETH, is
  treated as cash and opens/consumes no lots). Transfer fees (gas) are not in realized P&L.
  Trades with amount_base None (token decimals unknown) and ``mempool`` trades (unconfirmed) are
  left out of every metric.

Formulas (``_whale_metrics``):

- ROI % = (current value + withdrawals - deposits) / deposits x 100, flows valued at their time
  (value_usd). "Deposits" = money into the tracked account, "withdrawals" = money out: on
  Hyperliquid, deposit = in and withdraw = out (the account is the exchange account); on a chain
  wallet, receive + withdraw (from an exchange) = in, send + deposit (to an exchange) = out. None
  when there are no deposits, when a flow is unpriced, or when the portfolio value is unknown.
- Portfolio value = sum of Holding.value_usd of the non-perp rows (a Hyperliquid account is its
  account-value row; perp rows hold notionals and are excluded); None when the whale has no priced
  holding row.
- Realized P&L = FIFO realized + perp realized (each also in ``details.realized_pnl_usd``);
  ``realized_pnl_method`` names the methods that accounted at least one realization ("fifo": a
  FIFO sell, "exchange_closed_pnl": a perp trade), joined by "+", "" when none did.
- Unrealized P&L = sum over assets with open lots of (lot amount x current price - cost of the
  remaining lots), current price = that asset's Holding.value_usd / amount; plus the exchange's
  unrealized P&L of open perp positions. None when an asset with open lots has no price or a lot
  of unknown cost. The "current amount" is the amount the lots still hold (the trades' own view).
- Volume / trades 30d and 1d: sum(value_usd) / count of trading trades (buy, sell, long, short,
  close_long, close_short) with block_time in (now - 30 days, now] / (now - 1 day, now]; one
  GROUP BY whale_id in PostgreSQL.
- Win rate % = closed round trips with P&L > 0 / all closed round trips x 100 (None when none).
  FIFO: a round trip runs from the first lot opened on an empty book to the book being empty again
  after a sell; its P&L is the sum of its sells' realized P&L; a trip with any unknown part is not
  counted. Perps: every closing trade is a closed round trip (the exchange reports P&L per closing
  fill), P&L = pnl_usd - fee_usd.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

from django.conf import settings
from django.db import transaction
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from whales.chains import Chain
from whales.models import Direction, Holding, Trade, TradeSource, WalletMetrics, WalletMetricsDaily, Whale

logger = logging.getLogger(__name__)

USD_QUANTUM = Decimal("0.00000001")
PERCENT_QUANTUM = Decimal("0.0001")
PERCENT_MAX = Decimal("1e19")  # percent_field is NUMERIC(24, 4)
ZERO = Decimal(0)
# Enough digits that proportional shares of 78-digit amounts never round before the final quantize.
_CTX = Context(prec=80)

BATCH_WHALES = 1000

METHOD_FIFO = "fifo"
METHOD_PERP = "exchange_closed_pnl"
PERP_DIRECTIONS = (Direction.LONG, Direction.SHORT, Direction.CLOSE_LONG, Direction.CLOSE_SHORT)
CLOSE_DIRECTIONS = (Direction.CLOSE_LONG, Direction.CLOSE_SHORT)
TRADING_DIRECTIONS = (Direction.BUY, Direction.SELL, *PERP_DIRECTIONS)
TRANSFER_IN = (Direction.RECEIVE, Direction.WITHDRAW)
TRANSFER_OUT = (Direction.SEND, Direction.DEPOSIT)

# A perp trade (module docstring): accounted with the exchange's closedPnl, never FIFO.
PERP_Q = Q(source=TradeSource.HYPERLIQUID) & (Q(direction__in=PERP_DIRECTIONS) | Q(pnl_usd__isnull=False))
HL = Q(chain=Chain.HYPERLIQUID)
INFLOW_Q = (HL & Q(direction=Direction.DEPOSIT)) | (~HL & Q(direction__in=TRANSFER_IN))
OUTFLOW_Q = (HL & Q(direction=Direction.WITHDRAW)) | (~HL & Q(direction__in=TRANSFER_OUT))


# --------------------------------------------------------------------------- the pure FIFO engine


@dataclass(slots=True)
class Lot:
    """An open lot: amount still held and its remaining cost in USD (None = unknown cost)."""

    amount: Decimal
    cost: Decimal | None


@dataclass
class FifoBook:
    """FIFO lots of one (whale, asset); feed it the asset's trades in time order (module docstring).

    Units: amounts in human units, USD as Decimal, unrounded (quantize only when storing).
    """

    lots: deque[Lot] = field(default_factory=deque)
    realized: Decimal = ZERO
    sells: int = 0
    unknown_cost_sells: int = 0
    unknown_cost_amount: Decimal = ZERO
    unknown_cost_proceeds: Decimal = ZERO
    round_trips: int = 0
    wins: int = 0
    _trip_pnl: Decimal = ZERO
    _trip_sold: bool = False
    _trip_unknown: bool = False

    @property
    def amount(self) -> Decimal:
        return sum((lot.amount for lot in self.lots), ZERO)

    @property
    def cost(self) -> Decimal | None:
        """Cost of the remaining lots; None when any of them has an unknown cost."""
        total = ZERO
        for lot in self.lots:
            if lot.cost is None:
                return None
            total += lot.cost
        return total

    def _open(self, amount: Decimal, cost: Decimal | None) -> None:
        if amount <= 0:
            return
        if not self.lots:  # a new round trip starts from an empty book (a reopened position: new lots)
            self._trip_pnl, self._trip_sold, self._trip_unknown = ZERO, False, False
        self.lots.append(Lot(amount, cost))

    def _take(self, amount: Decimal) -> tuple[list[tuple[Decimal, Decimal | None]], Decimal]:
        """Consume up to ``amount`` FIFO; return ((piece amount, piece cost), ...) and the uncovered rest."""
        pieces: list[tuple[Decimal, Decimal | None]] = []
        rest = amount
        with localcontext(_CTX):
            while rest > 0 and self.lots:
                lot = self.lots[0]
                if lot.amount <= rest:
                    pieces.append((lot.amount, lot.cost))
                    rest -= lot.amount
                    self.lots.popleft()
                else:
                    # Partly consumed: the piece takes its share of the cost, the lot keeps the rest
                    # of its cost (subtracted, so a later full consumption costs exactly what is left).
                    share = None if lot.cost is None else lot.cost * rest / lot.amount
                    pieces.append((rest, share))
                    lot.amount -= rest
                    if lot.cost is not None and share is not None:
                        lot.cost -= share
                    rest = ZERO
        return pieces, rest

    def buy(self, amount: Decimal, value_usd: Decimal | None, fee_usd: Decimal | None) -> None:
        """Open a lot at value_usd + fee_usd (None value -> unknown cost)."""
        self._open(amount, None if value_usd is None else value_usd + (fee_usd or ZERO))

    def transfer_in(self, amount: Decimal, value_usd: Decimal | None) -> None:
        """Open a lot at the market value on arrival; realizes nothing."""
        self._open(amount, value_usd)

    def transfer_out(self, amount: Decimal) -> None:
        """Remove lots FIFO at cost; realizes nothing."""
        self._take(amount)

    def sell(self, amount: Decimal, value_usd: Decimal | None, fee_usd: Decimal | None) -> None:
        """Consume lots FIFO and realize proceeds share - cost per piece; unknown parts go to unknown_*."""
        if amount <= 0:
            return
        self.sells += 1
        had_lots = bool(self.lots)
        pieces, uncovered = self._take(amount)
        unknown = uncovered > 0
        with localcontext(_CTX):
            proceeds = None if value_usd is None else value_usd - (fee_usd or ZERO)
            unknown_amount = uncovered
            realized = ZERO
            for piece_amount, piece_cost in pieces:
                if proceeds is None or piece_cost is None:
                    unknown, unknown_amount = True, unknown_amount + piece_amount
                    continue
                realized += proceeds * piece_amount / amount - piece_cost
            if unknown:
                self.unknown_cost_sells += 1
                self.unknown_cost_amount += unknown_amount
                if proceeds is not None:
                    self.unknown_cost_proceeds += proceeds * unknown_amount / amount
            self.realized += realized
        if had_lots:
            self._trip_pnl += realized
            self._trip_sold = True
            self._trip_unknown = self._trip_unknown or unknown
            if not self.lots:  # back to flat: the round trip is closed
                if not self._trip_unknown:
                    self.round_trips += 1
                    self.wins += self._trip_pnl > 0
                self._trip_pnl, self._trip_sold, self._trip_unknown = ZERO, False, False

    def apply(self, direction: str, amount: Decimal, value_usd: Decimal | None, fee_usd: Decimal | None) -> None:
        """Route one trade by direction (perp directions are not FIFO trades and are ignored)."""
        if direction == Direction.BUY:
            self.buy(amount, value_usd, fee_usd)
        elif direction == Direction.SELL:
            self.sell(amount, value_usd, fee_usd)
        elif direction in TRANSFER_IN:
            self.transfer_in(amount, value_usd)
        elif direction in TRANSFER_OUT:
            self.transfer_out(amount)


# --------------------------------------------------------------------------- per-whale computation


@dataclass
class WhaleFigures:
    """Everything computed for one whale before it is stored (USD unrounded)."""

    books: dict[str, FifoBook] = field(default_factory=dict)
    trades_30d: int = 0
    trades_1d: int = 0
    volume_30d: Decimal = ZERO
    volume_1d: Decimal = ZERO
    inflow: Decimal = ZERO
    outflow: Decimal = ZERO
    unpriced_flows: int = 0
    perp_trades: int = 0
    perp_realized: Decimal = ZERO
    perp_closes: int = 0
    perp_wins: int = 0
    prices: dict[str, Decimal] = field(default_factory=dict)
    portfolio: Decimal | None = None
    perp_unrealized: Decimal = ZERO


def _q(value: Decimal | None, quantum: Decimal = USD_QUANTUM) -> Decimal | None:
    return None if value is None else value.quantize(quantum, rounding=ROUND_HALF_EVEN, context=_CTX)


def _text(value: Decimal | None) -> str | None:
    """A USD figure for ``details`` (JSON): fixed-point text, 8 decimals, or None."""
    q = _q(value)
    return None if q is None else f"{q:f}"


def _percent(value: Decimal | None) -> Decimal | None:
    if value is None or abs(value) >= PERCENT_MAX:
        return None  # out of the column's range: unknown rather than an overflow
    return _q(value, PERCENT_QUANTUM)


def _whale_metrics(whale_id: int, f: WhaleFigures, now: datetime) -> dict:
    """The MetricsFields values of one whale from its figures (formulas in the module docstring)."""
    with localcontext(_CTX):
        fifo_realized = sum((b.realized for b in f.books.values()), ZERO)
        spot_unrealized: Decimal | None = ZERO
        for asset, book in f.books.items():
            if not book.lots:
                continue
            cost, price = book.cost, f.prices.get(asset)
            if cost is None or price is None or spot_unrealized is None:
                spot_unrealized = None
                continue
            spot_unrealized += book.amount * price - cost
        unrealized = None if spot_unrealized is None else spot_unrealized + f.perp_unrealized
        roi = None
        if f.inflow > 0 and not f.unpriced_flows and f.portfolio is not None:
            # ROI % = (current value + withdrawals - deposits) / deposits x 100
            roi = (f.portfolio + f.outflow - f.inflow) / f.inflow * 100
        closed = sum(b.round_trips for b in f.books.values()) + f.perp_closes
        wins = sum(b.wins for b in f.books.values()) + f.perp_wins
        # win rate % = closed round trips with P&L > 0 / all closed round trips x 100
        win_rate = Decimal(wins) * 100 / closed if closed else None
        # A method is named when it accounted at least one realization (a FIFO sell, a perp trade).
        has_fifo = any(b.sells for b in f.books.values())
        methods = [m for m, used in ((METHOD_FIFO, has_fifo), (METHOD_PERP, f.perp_trades > 0)) if used]
        unknown_amounts = {
            a: f"{b.unknown_cost_amount.normalize():f}" for a, b in f.books.items() if b.unknown_cost_amount}
        details = {
            "realized_pnl_usd": {METHOD_FIFO: _text(fifo_realized), METHOD_PERP: _text(f.perp_realized)},
            "unrealized_pnl_usd": {METHOD_FIFO: _text(spot_unrealized), METHOD_PERP: _text(f.perp_unrealized)},
            "unknown_cost_amounts": unknown_amounts,
            "unknown_cost_proceeds_usd": _text(sum((b.unknown_cost_proceeds for b in f.books.values()), ZERO)),
            "wins": wins,
            "deposits_usd": _text(f.inflow),
            "withdrawals_usd": _text(f.outflow),
            "unpriced_flows": f.unpriced_flows,
        }
        return {
            "whale_id": whale_id,
            "roi_percent": _percent(roi),
            "portfolio_value_usd": _q(f.portfolio),
            "realized_pnl_usd": _q(fifo_realized + f.perp_realized),
            "unrealized_pnl_usd": _q(unrealized),
            "volume_30d_usd": _q(f.volume_30d),
            "volume_1d_usd": _q(f.volume_1d),
            "trades_30d": f.trades_30d,
            "trades_1d": f.trades_1d,
            "win_rate_percent": _percent(win_rate),
            "realized_pnl_method": "+".join(methods),
            "closed_round_trips": closed,
            "unknown_cost_sells": sum(b.unknown_cost_sells for b in f.books.values()),
            "details": details,
            "computed_at": now,
        }


# --------------------------------------------------------------------------- set-based loading

_USD0 = Value(ZERO, output_field=DecimalField(max_digits=38, decimal_places=8))


def _aggregate(whale_ids: Sequence[int], figures: dict[int, WhaleFigures], now: datetime) -> None:
    """One GROUP BY whale_id over the batch's trades: volumes, counts, flows and perp realized P&L."""
    d30, d1 = now - timedelta(days=30), now - timedelta(days=1)
    trading30 = Q(direction__in=TRADING_DIRECTIONS, block_time__gt=d30, block_time__lte=now)
    trading1 = Q(direction__in=TRADING_DIRECTIONS, block_time__gt=d1, block_time__lte=now)
    closing = PERP_Q & (Q(direction__in=CLOSE_DIRECTIONS) | Q(pnl_usd__isnull=False))
    rows = (
        Trade.objects.filter(whale_id__in=whale_ids).exclude(source=TradeSource.MEMPOOL)
        .values("whale_id")
        .annotate(
            t30=Count("id", filter=trading30), t1=Count("id", filter=trading1),
            v30=Coalesce(Sum("value_usd", filter=trading30), _USD0),
            v1=Coalesce(Sum("value_usd", filter=trading1), _USD0),
            inflow=Coalesce(Sum("value_usd", filter=INFLOW_Q), _USD0),
            outflow=Coalesce(Sum("value_usd", filter=OUTFLOW_Q), _USD0),
            unpriced=Count("id", filter=(INFLOW_Q | OUTFLOW_Q) & Q(value_usd__isnull=True)),
            perp_n=Count("id", filter=PERP_Q),
            # perp realized = sum(closedPnl) - sum(fees), in NUMERIC: exact
            perp_pnl=Coalesce(Sum("pnl_usd", filter=PERP_Q), _USD0),
            perp_fee=Coalesce(Sum("fee_usd", filter=PERP_Q), _USD0),
            closes=Count("id", filter=closing),
            close_wins=Count("id", filter=closing & Q(pnl_usd__gt=Coalesce(F("fee_usd"), _USD0))),
        )
        .order_by()
    )
    for r in rows:
        f = figures[r["whale_id"]]
        f.trades_30d, f.trades_1d, f.volume_30d, f.volume_1d = r["t30"], r["t1"], r["v30"], r["v1"]
        f.inflow, f.outflow, f.unpriced_flows = r["inflow"], r["outflow"], r["unpriced"]
        f.perp_trades, f.perp_realized = r["perp_n"], r["perp_pnl"] - r["perp_fee"]
        f.perp_closes, f.perp_wins = r["closes"], r["close_wins"]


def _fifo_pass(whale_ids: Sequence[int], figures: dict[int, WhaleFigures]) -> None:
    """Load the batch's non-perp trades in (whale, time) order, streamed, and run the FIFO books."""
    rows = (
        Trade.objects.filter(whale_id__in=whale_ids, amount_base__isnull=False)
        .exclude(PERP_Q).exclude(source=TradeSource.MEMPOOL)
        .filter(direction__in=(Direction.BUY, Direction.SELL, *TRANSFER_IN, *TRANSFER_OUT))
        .order_by("whale_id", "block_time", "id")
        .values_list("whale_id", "base_asset", "direction", "amount_base", "value_usd", "fee_usd")
    )
    for whale_id, asset, direction, amount, value, fee in rows.iterator(chunk_size=20_000):
        books = figures[whale_id].books
        book = books.get(asset)
        if book is None:
            book = books[asset] = FifoBook()
        book.apply(direction, amount, value, fee)


def _holdings_pass(whale_ids: Sequence[int], figures: dict[int, WhaleFigures]) -> None:
    rows = Holding.objects.filter(whale_id__in=whale_ids).values_list(
        "whale_id", "asset", "amount", "value_usd", "is_perp", "unrealized_pnl_usd")
    for whale_id, asset, amount, value, is_perp, perp_unrealized in rows:
        f = figures[whale_id]
        if is_perp:
            f.perp_unrealized += perp_unrealized or ZERO
            continue
        if value is None:
            continue
        f.portfolio = (f.portfolio or ZERO) + value
        if amount:
            with localcontext(_CTX):
                f.prices[asset] = value / amount


METRIC_FIELDS = [
    "roi_percent", "portfolio_value_usd", "realized_pnl_usd", "unrealized_pnl_usd", "volume_30d_usd",
    "volume_1d_usd", "trades_30d", "trades_1d", "win_rate_percent", "realized_pnl_method",
    "closed_round_trips", "unknown_cost_sells", "details", "computed_at",
]


def metrics_compute(*, whale_ids: Sequence[int], now: datetime | None = None) -> dict[int, dict]:
    """Compute (not store) the metrics of ``whale_ids``; return {whale_id: MetricsFields values}.

    Shape: 3 queries for the whole sequence (one GROUP BY over trades, one streamed trade load for
    FIFO, one holdings load), whatever its length; callers batch (``BATCH_WHALES``).
    """
    now = now or timezone.now()
    figures = {wid: WhaleFigures() for wid in whale_ids}
    if not figures:
        return {}
    ids = list(figures)
    _aggregate(ids, figures, now)
    _fifo_pass(ids, figures)
    _holdings_pass(ids, figures)
    return {wid: _whale_metrics(wid, f, now) for wid, f in figures.items()}


def _store(values: Iterable[dict], day: date) -> None:
    values = list(values)
    WalletMetrics.objects.bulk_create(
        [WalletMetrics(**v) for v in values], batch_size=1000,
        update_conflicts=True, unique_fields=["whale"], update_fields=METRIC_FIELDS)
    WalletMetricsDaily.objects.bulk_create(
        [WalletMetricsDaily(date=day, **v) for v in values], batch_size=1000,
        update_conflicts=True, unique_fields=["whale", "date"], update_fields=METRIC_FIELDS)


def metrics_recompute(*, whale_ids: Sequence[int], now: datetime | None = None,
                      batch_size: int = BATCH_WHALES) -> int:
    """Recompute and store the metrics of ``whale_ids``; return how many whales were stored.

    Shape: WalletMetrics (current) upserted on whale and WalletMetricsDaily upserted on
    (whale, now's UTC date): running it again the same day overwrites the same rows (idempotent).
    Ids of whales that do not exist are skipped. 5 queries per batch of ``batch_size`` whales
    (aggregate, FIFO load, holdings, 2 upserts), each batch in its own transaction.
    """
    now = now or timezone.now()
    ids = sorted(set(Whale.objects.filter(pk__in=list(whale_ids)).values_list("pk", flat=True)))
    return _recompute_ids(ids, now, now.astimezone(UTC).date(), batch_size)


def _recompute_ids(ids: list[int], now: datetime, day: date, batch_size: int) -> int:
    stored = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        values = metrics_compute(whale_ids=batch, now=now)
        with transaction.atomic():
            _store(values.values(), day)
        stored += len(values)
    return stored


def metrics_recompute_all(*, now: datetime | None = None, batch_size: int = BATCH_WHALES) -> int:
    """Recompute and store the metrics of every whale (tracked or not: history is kept); return the
    count. Same shape as ``metrics_recompute``: queries grow with whales / batch_size, not whales."""
    now = now or timezone.now()
    ids = list(Whale.objects.order_by("pk").values_list("pk", flat=True))
    started = timezone.now()
    stored = _recompute_ids(ids, now, now.astimezone(UTC).date(), batch_size)
    logger.info("whales.metrics.recompute_all.done", extra={
        "whales": stored, "seconds": (timezone.now() - started).total_seconds()})
    return stored


def metrics_after_trades(*, whale_ids: Iterable[int]) -> None:
    """Hook for collectors after they store trades: an incremental recompute of ``whale_ids`` once the
    surrounding transaction commits (nothing for an empty set). With a broker (production) it is the
    ``whales.recompute_metrics`` task; in the embedded mode (broker ``memory://``, no worker) it runs
    in-process right after the commit."""
    from whales.tasks import recompute_metrics  # tasks import this module

    ids = sorted({int(i) for i in whale_ids})
    if not ids:
        return
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        transaction.on_commit(lambda: metrics_recompute(whale_ids=ids), robust=True)
    else:
        recompute_metrics.delay_on_commit(whale_ids=ids)


@dataclass(frozen=True)
class PerpRealized:
    """Realized P&L of one whale's perp coin, the exchange's way. USD, exact sums of stored values."""

    closed_pnl_usd: Decimal
    fees_usd: Decimal
    trades: int

    @property
    def realized_pnl_usd(self) -> Decimal:
        return self.closed_pnl_usd - self.fees_usd


def perp_realized_by_coin(*, whale_id: int) -> dict[str, PerpRealized]:
    """{coin: PerpRealized} of ``whale_id``'s Hyperliquid perp trades: sum(closedPnl), sum(fees).

    Source: Trade.pnl_usd / fee_usd of perp trades (module docstring), one GROUP BY base_asset.
    """
    rows = (Trade.objects.filter(PERP_Q, whale_id=whale_id).values("base_asset")
            .annotate(pnl=Coalesce(Sum("pnl_usd"), _USD0), fees=Coalesce(Sum("fee_usd"), _USD0), n=Count("id"))
            .order_by())
    return {r["base_asset"]: PerpRealized(r["pnl"], r["fees"], r["n"]) for r in rows}
