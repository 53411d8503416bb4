"""Wallet metrics (DESIGN.md section 9): the set-based recompute service over the FIFO engine (whales.fifo).

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

Formulas (``figures_metrics``):

- ROI % = (current value + withdrawals - deposits) / deposits x 100 (Plan.md section 1.5), flows
  valued at their time (value_usd). "Deposits" = money into the tracked account, "withdrawals" =
  money out:

  - on Hyperliquid, deposit = in and withdraw = out (the account is the exchange account; its ledger
    holds every deposit since the account opened);
  - on a chain wallet, a transfer in (receive, or withdraw: from an exchange) = in, a transfer out
    (send, or deposit: to an exchange) = out. Swaps move value inside the wallet and are neither; gas
    is neither (it lowers the current value, so it counts as a loss);
  - the **opening position** is a deposit where the collector does not see the wallet's whole history
    (``OPENING_CHAINS``: Ethereum, whose collector reads only the blocks since it started; a Bitcoin
    address's collector reads its every transaction, so it opens empty): the balances at the opening
    block (``WalletOpening``: the block before the whale's first stored trade), valued at that block's
    price, are money in at the opening. Without a usable opening (not read yet, a node that keeps no
    state at that block, a held asset unpriced at that block, or a trade stored at or before the
    opening block) the ROI is None and ``details.roi_unavailable`` says why.

  None also when there are no deposits, when a flow is unpriced, or when the portfolio value is
  unknown (each named in ``details.roi_unavailable``). Worked example (tests/whales/analytics/
  test_roi.py): opening 10 ETH at 2,000 = 20,000 USD; receives 5,000 USD of USDC; sends 3,000 USD to
  an exchange; holds 25,000 USD now: ROI = (25,000 + 3,000 - (20,000 + 5,000)) / 25,000 x 100 = 12 %.
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
import operator
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from functools import reduce

from django.conf import settings
from django.db import transaction
from django.db.models import Count, DecimalField, F, Min, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from whales.chains import Chain
from whales.fifo import FifoBook, Lot, LotLoader, LotsMissing
from whales.jobs import task_enqueue_on_commit
from whales.models import (
    Direction,
    Holding,
    MetricsPending,
    OpeningStatus,
    Trade,
    TradeSource,
    WalletFifoLot,
    WalletFifoState,
    WalletMetrics,
    WalletMetricsDaily,
    WalletOpening,
    Whale,
)
from whales.money import PERCENT_QUANTUM, USD_QUANTUM, WIDE

logger = logging.getLogger(__name__)

PERCENT_MAX = Decimal("1e19")  # percent_field is NUMERIC(24, 4)
ZERO = Decimal(0)
_CTX = WIDE

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
# A trade the FIFO books take: known amount, not a perp, not unconfirmed (mempool), a FIFO direction.
FIFO_Q = (Q(amount_base__isnull=False) & ~PERP_Q & ~Q(source=TradeSource.MEMPOOL)
          & Q(direction__in=(Direction.BUY, Direction.SELL, *TRANSFER_IN, *TRANSFER_OUT)))
HL = Q(chain=Chain.HYPERLIQUID)
INFLOW_Q = (HL & Q(direction=Direction.DEPOSIT)) | (~HL & Q(direction__in=TRANSFER_IN))
OUTFLOW_Q = (HL & Q(direction=Direction.WITHDRAW)) | (~HL & Q(direction__in=TRANSFER_OUT))
# Chains whose collector sees a wallet only from the block it started at: their ROI needs the opening
# position (module docstring, "ROI").
OPENING_CHAINS = frozenset({Chain.ETHEREUM})


# --------------------------------------------------------------------------- per-whale computation


def book_apply(book: FifoBook, direction: str, amount: Decimal, value_usd: Decimal | None,
               fee_usd: Decimal | None) -> None:
    """Route one non-perp trade to ``book`` by its direction (module docstring's table): buy and sell, a
    transfer in (receive, withdraw) opens a lot at its value, a transfer out (send, deposit) removes lots
    at cost; perp directions are not FIFO trades and are ignored."""
    if direction == Direction.BUY:
        book.buy(amount, value_usd, fee_usd)
    elif direction == Direction.SELL:
        book.sell(amount, value_usd, fee_usd)
    elif direction in TRANSFER_IN:
        book.transfer_in(amount, value_usd)
    elif direction in TRANSFER_OUT:
        book.transfer_out(amount)


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
    chain: str = ""
    first_block: int | None = None
    opening: WalletOpening | None = None


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


def _opening_value(f: WhaleFigures) -> tuple[Decimal, str]:
    """(the opening position's USD value counted as a deposit, why the ROI is unavailable or "").

    Zero and "" on a chain whose collector sees the whole history; else the ``WalletOpening``'s value when
    it is usable (module docstring, "ROI")."""
    if f.chain not in OPENING_CHAINS:
        return ZERO, ""
    opening = f.opening
    if opening is None:
        return ZERO, "the opening position (balances when tracking started) has not been read yet"
    if opening.status != OpeningStatus.OK or opening.value_usd is None:
        return ZERO, opening.reason or f"opening position {opening.status}"
    if f.first_block is not None and f.first_block <= opening.block_number:
        return ZERO, (f"a trade at block {f.first_block} is at or before the opening block "
                      f"{opening.block_number}: the opening is read again at the next holdings refresh")
    return opening.value_usd, ""


def figures_metrics(whale_id: int, f: WhaleFigures, now: datetime) -> dict:
    """The MetricsFields values (``WalletMetrics`` columns by name, plus ``whale_id``; USD and percent
    rounded to their columns) of one whale from its figures as of ``now``, by the module docstring's
    formulas. Pure: no query. Used by the recompute and by the daily history (``history``)."""
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
        opening_value, roi_unavailable = _opening_value(f)
        deposits = f.inflow + opening_value
        roi = None
        if not roi_unavailable:
            if deposits <= 0:
                roi_unavailable = "no deposits: nothing was put in"
            elif f.unpriced_flows:
                roi_unavailable = f"{f.unpriced_flows} deposits or withdrawals have no price"
            elif f.portfolio is None:
                roi_unavailable = "no priced holding: the current value is unknown"
            else:
                assert f.portfolio is not None
                # ROI % = (current value + withdrawals - deposits) / deposits x 100
                roi = (f.portfolio + f.outflow - deposits) / deposits * 100
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
            "opening_value_usd": _text(opening_value) if f.chain in OPENING_CHAINS and f.opening else None,
            "opening_block_number": f.opening.block_number if f.opening else None,
            "roi_unavailable": roi_unavailable,
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
            first_block=Min("block_number"),
        )
        .order_by()
    )
    for r in rows:
        f = figures[r["whale_id"]]
        f.trades_30d, f.trades_1d, f.volume_30d, f.volume_1d = r["t30"], r["t1"], r["v30"], r["v1"]
        f.inflow, f.outflow, f.unpriced_flows = r["inflow"], r["outflow"], r["unpriced"]
        f.perp_trades, f.perp_realized = r["perp_n"], r["perp_pnl"] - r["perp_fee"]
        f.perp_closes, f.perp_wins = r["closes"], r["close_wins"]
        f.first_block = r["first_block"]


@dataclass
class _Applied:
    """Where one whale's books stand after a pass: the highest trade id, how many trades, the last one; up
    to which id (and count) the applied trades were checked (WalletFifoState); the stored state's version the
    pass started from (0: none), and whether the books were built from every trade (the stored lots are
    then replaced whole) rather than resumed."""

    max_trade_id: int = 0
    trades: int = 0
    through: tuple[datetime, int] | None = None
    checked_trade_id: int = 0
    checked_trades: int = 0
    version: int = 0
    rebuilt: bool = True

    def add(self, block_time: datetime, trade_id: int) -> None:
        self.max_trade_id = max(self.max_trade_id, trade_id)
        self.trades += 1
        self.through = (block_time, trade_id)


_FIFO_COLUMNS = ("whale_id", "id", "block_time", "base_asset", "direction", "amount_base", "value_usd", "fee_usd")


def _apply_rows(rows: Iterable[tuple], figures: dict[int, WhaleFigures], applied: dict[int, _Applied]) -> None:
    for whale_id, trade_id, block_time, asset, direction, amount, value, fee in rows:
        books = figures[whale_id].books
        book = books.get(asset)
        if book is None:
            book = books[asset] = FifoBook()
        book_apply(book, direction, amount, value, fee)
        applied[whale_id].add(block_time, trade_id)


def _lot_loader(whale_id: int, asset: str) -> LotLoader:
    """The stored lots of (``whale_id``, ``asset``) by seq range, one query per call (whales.fifo.LotLoader)."""
    def load(from_seq: int, count: int) -> list[Lot]:
        rows = list(WalletFifoLot.objects.filter(whale_id=whale_id, asset=asset, seq__gte=from_seq,
                                                 seq__lt=from_seq + count)
                    .order_by("seq").values_list("seq", "amount", "cost_usd"))
        if [seq for seq, _, _ in rows] != list(range(from_seq, from_seq + count)):
            raise LotsMissing(f"whale {whale_id} {asset}: lots {from_seq}..{from_seq + count - 1}, {len(rows)} stored")
        return [Lot(amount, cost) for _, amount, cost in rows]
    return load


def _whale_ranges(bounds: Mapping[int, tuple[int, int | None]]) -> list[Q]:
    """Q objects (at most 200 whales each, for SQLite's expression depth) selecting each whale's trades with
    ``low < id <= high`` (``high`` None: no upper bound): index range scans on trade_whale_id."""
    terms = [Q(whale_id=whale_id, id__gt=low) & (Q() if high is None else Q(id__lte=high))
             for whale_id, (low, high) in sorted(bounds.items())]
    return [reduce(operator.or_, terms[start:start + 200]) for start in range(0, len(terms), 200)]


def _fifo_resume(states: dict[int, WalletFifoState], figures: dict[int, WhaleFigures],
                 applied: dict[int, _Applied]) -> set[int]:
    """Restore the stored books ``states`` hold (lots read lazily, ``_lot_loader``) and apply only the trades
    stored since; return the whales whose stored books cannot be trusted (see WalletFifoState), which must
    be rebuilt from every trade. Reads only trades stored since the previous compute's check."""
    rebuild = set(applied) - set(states)
    usable = {whale_id: state for whale_id, state in states.items() if whale_id in applied}
    window = {whale_id: (state.checked_trade_id, state.max_trade_id) for whale_id, state in usable.items()}
    counts: dict[int, int] = {}
    for ranges in _whale_ranges(window):
        counts.update(Trade.objects.filter(FIFO_Q, ranges).values("whale_id").annotate(n=Count("id")).order_by()
                      .values_list("whale_id", "n"))
    for whale_id, state in usable.items():
        if state.checked_trades + counts.get(whale_id, 0) != state.trades_applied:
            rebuild.add(whale_id)
            continue
        try:
            figures[whale_id].books = {asset: FifoBook.from_state(book, _lot_loader(whale_id, asset))
                                       for asset, book in state.books.items()}
        except (KeyError, ValueError, TypeError):  # not a state this code wrote: rebuild
            rebuild.add(whale_id)
            continue
        through = ((state.through_block_time, state.through_trade_id)
                   if state.through_trade_id and state.through_block_time is not None else None)
        applied[whale_id] = _Applied(state.max_trade_id, state.trades_applied, through,
                                     checked_trade_id=state.max_trade_id, checked_trades=state.trades_applied,
                                     version=state.version, rebuilt=False)
    since = {whale_id: (state.max_trade_id, None) for whale_id, state in usable.items() if whale_id not in rebuild}
    for ranges in _whale_ranges(since):
        tail = Trade.objects.filter(FIFO_Q, ranges).order_by("whale_id", "block_time", "id").values_list(*_FIFO_COLUMNS)
        for row in tail.iterator(chunk_size=20_000):
            whale_id, trade_id, block_time = row[0], row[1], row[2]
            if whale_id in rebuild:
                continue
            through = applied[whale_id].through
            if through is not None and (block_time, trade_id) <= through:  # a trade earlier than the books' end
                rebuild.add(whale_id)
                continue
            try:
                _apply_rows([row], figures, applied)
            except LotsMissing:  # the stored lots changed under us (a forget, another compute): rebuild
                logger.info("whales.metrics.lots_missing", extra={"whale_id": whale_id})
                rebuild.add(whale_id)
    return rebuild


def _fifo_pass(whale_ids: Sequence[int], figures: dict[int, WhaleFigures], *, resume: bool) -> dict[int, _Applied]:
    """Run the FIFO books of the batch: from the stored books plus the newer trades (``resume``) where
    they can be trusted, else from every non-perp trade, streamed in (whale, time) order. Every whale's
    ``_Applied`` carries the version of its stored state as read here (the store checks it)."""
    states = {state.whale_id: state for state in WalletFifoState.objects.filter(whale_id__in=whale_ids)}
    applied = {whale_id: _Applied() for whale_id in whale_ids}
    rebuild = _fifo_resume(states, figures, applied) if resume else set(whale_ids)
    for whale_id in rebuild:
        state = states.get(whale_id)
        figures[whale_id].books = {}
        applied[whale_id] = _Applied(version=state.version if state else 0)
    if rebuild:
        rows = (Trade.objects.filter(FIFO_Q, whale_id__in=sorted(rebuild)).order_by("whale_id", "block_time", "id")
                .values_list(*_FIFO_COLUMNS))
        _apply_rows(rows.iterator(chunk_size=20_000), figures, applied)
    return applied


def _openings_pass(whale_ids: Sequence[int], figures: dict[int, WhaleFigures]) -> None:
    """Each whale's chain and, on OPENING_CHAINS, its opening position (two queries for the batch)."""
    for whale_id, chain in Whale.objects.filter(id__in=whale_ids).values_list("id", "chain"):
        figures[whale_id].chain = chain
    wanted = [whale_id for whale_id in whale_ids if figures[whale_id].chain in OPENING_CHAINS]
    for opening in WalletOpening.objects.filter(whale_id__in=wanted):
        figures[opening.whale_id].opening = opening


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


@dataclass
class BooksWrite:
    """One whale's FIFO books as a compute left them, to store (``_store``): the state row (``books`` holds
    each book's figures and lot-queue header), the books themselves (their queues know which lots changed),
    the version of the stored state the compute started from, and whether the books were rebuilt from every
    trade (the whale's stored lots are then replaced whole)."""

    state: WalletFifoState
    books: dict[str, FifoBook]
    read_version: int
    rebuilt: bool


def metrics_compute(*, whale_ids: Sequence[int], now: datetime | None = None, resume: bool = True
                    ) -> tuple[dict[int, dict], list[BooksWrite]]:
    """Compute (not store) the metrics of ``whale_ids``: ({whale_id: MetricsFields values}, the FIFO books
    to store for the next compute).

    Incremental where the formulas allow: with ``resume`` the FIFO books (realized P&L, lots, round trips)
    carry on from each whale's stored ``WalletFifoState`` with only the trades stored since, when that
    state can be trusted, reading only the stored lots those trades consume; every other figure (the
    windowed volumes and counts, the flows, the perp sums) is one GROUP BY in the database. Shape: a
    handful of queries for the whole sequence whatever its length (the GROUP BY, the states, the count of
    trades they cover, the newer trades, every trade of the whales rebuilt, the holdings), plus one query
    per chunk of stored lots a sell or transfer out reaches; callers batch (``BATCH_WHALES``).
    """
    now = now or timezone.now()
    figures = {wid: WhaleFigures() for wid in whale_ids}
    if not figures:
        return {}, []
    ids = list(figures)
    _aggregate(ids, figures, now)
    _openings_pass(ids, figures)
    applied = _fifo_pass(ids, figures, resume=resume)
    _holdings_pass(ids, figures)
    writes = [
        BooksWrite(
            state=WalletFifoState(
                whale_id=wid, books={asset: book.state() for asset, book in figures[wid].books.items()},
                max_trade_id=a.max_trade_id, trades_applied=a.trades,
                through_block_time=a.through[0] if a.through else None,
                through_trade_id=a.through[1] if a.through else None, checked_trade_id=a.checked_trade_id,
                checked_trades=a.checked_trades, version=a.version + 1, computed_at=now),
            books=figures[wid].books, read_version=a.version, rebuilt=a.rebuilt)
        for wid, a in applied.items()
    ]
    return {wid: figures_metrics(wid, f, now) for wid, f in figures.items()}, writes


STATE_FIELDS = ["books", "max_trade_id", "trades_applied", "through_block_time", "through_trade_id",
                "checked_trade_id", "checked_trades", "version", "computed_at"]


def _lots_store(writes: Sequence[BooksWrite]) -> None:
    """Write what changed in the lots of ``writes``: every stored lot of a rebuilt whale replaced; for a
    resumed one, the consumed lots deleted, a lot consumed in part overwritten, the new ones inserted."""
    rebuilt = [w.state.whale_id for w in writes if w.rebuilt]
    if rebuilt:
        WalletFifoLot.objects.filter(whale_id__in=rebuilt).delete()
    consumed: list[Q] = []
    rows: list[WalletFifoLot] = []
    for w in writes:
        whale_id = w.state.whale_id
        for asset, book in w.books.items():
            delete_below, head, new = book.lots.changes()
            if delete_below is not None and not w.rebuilt:
                consumed.append(Q(whale_id=whale_id, asset=asset, seq__lt=delete_below))
            rows.extend(WalletFifoLot(whale_id=whale_id, asset=asset, seq=seq, amount=lot.amount, cost_usd=lot.cost)
                        for seq, lot in ([head] if head else []) + new)
    for start in range(0, len(consumed), 200):
        WalletFifoLot.objects.filter(reduce(operator.or_, consumed[start:start + 200])).delete()
    WalletFifoLot.objects.bulk_create(rows, batch_size=2000, update_conflicts=True,
                                      unique_fields=["whale", "asset", "seq"], update_fields=["amount", "cost_usd"])


def _store(values: dict[int, dict], writes: list[BooksWrite], day: date) -> int:
    """Store one batch in the caller's transaction; return how many whales were stored.

    The books of a whale are stored only if its state's version is still the one the compute read (checked
    under a row lock, after inserting a version-0 row for a whale that had none); a whale whose books were
    written meanwhile (another compute, a forget) is skipped whole, books and metrics: what was stored
    meanwhile is at least as current, and a pending mark left behind recomputes it."""
    ids = sorted(w.state.whale_id for w in writes)
    WalletFifoState.objects.bulk_create([WalletFifoState(whale_id=whale_id) for whale_id in ids],
                                        batch_size=1000, ignore_conflicts=True)
    current = dict(WalletFifoState.objects.select_for_update().filter(whale_id__in=ids).order_by("whale_id")
                   .values_list("whale_id", "version"))
    fresh = [w for w in writes if current.get(w.state.whale_id) == w.read_version]
    if len(fresh) < len(writes):
        logger.info("whales.metrics.books_changed_meanwhile", extra={
            "whales": sorted(set(ids) - {w.state.whale_id for w in fresh})})
    _lots_store(fresh)
    WalletFifoState.objects.bulk_create([w.state for w in fresh], batch_size=1000, update_conflicts=True,
                                        unique_fields=["whale"], update_fields=STATE_FIELDS)
    stored = [values[w.state.whale_id] for w in fresh]
    WalletMetrics.objects.bulk_create(
        [WalletMetrics(**v) for v in stored], batch_size=1000,
        update_conflicts=True, unique_fields=["whale"], update_fields=METRIC_FIELDS)
    WalletMetricsDaily.objects.bulk_create(
        [WalletMetricsDaily(date=day, **v) for v in stored], batch_size=1000,
        update_conflicts=True, unique_fields=["whale", "date"], update_fields=METRIC_FIELDS)
    return len(stored)


def metrics_recompute(*, whale_ids: Sequence[int], now: datetime | None = None,
                      batch_size: int = BATCH_WHALES, resume: bool = True) -> int:
    """Recompute and store the metrics of ``whale_ids`` (``metrics_compute``, incremental with ``resume``);
    return how many whales were stored.

    Shape: WalletMetrics (current) upserted on whale, WalletMetricsDaily upserted on (whale, now's UTC
    date) and WalletFifoState upserted on whale: running it again the same day overwrites the same rows
    (idempotent). Ids of whales that do not exist are skipped. Each batch of ``batch_size`` whales is
    computed with a handful of queries and stored in its own transaction (``_store``: the books under a
    version check, their changed lots, then the 3 upserts); a whale whose books another compute or a forget
    wrote meanwhile is skipped and not counted.
    """
    now = now or timezone.now()
    ids = sorted(set(Whale.objects.filter(pk__in=list(whale_ids)).values_list("pk", flat=True)))
    return _recompute_ids(ids, now, now.astimezone(UTC).date(), batch_size, resume)


def _recompute_ids(ids: list[int], now: datetime, day: date, batch_size: int, resume: bool) -> int:
    stored = 0
    for start in range(0, len(ids), batch_size):
        batch = ids[start:start + batch_size]
        values, writes = metrics_compute(whale_ids=batch, now=now, resume=resume)
        with transaction.atomic():
            stored += _store(values, writes, day)
    return stored


def metrics_recompute_all(*, now: datetime | None = None, batch_size: int = BATCH_WHALES,
                          resume: bool = True) -> int:
    """Recompute and store the metrics of every whale (tracked or not: history is kept); return the
    count. Same shape as ``metrics_recompute``: queries grow with whales / batch_size, not whales.
    ``resume=False`` rebuilds every FIFO book from every trade."""
    now = now or timezone.now()
    ids = list(Whale.objects.order_by("pk").values_list("pk", flat=True))
    started = timezone.now()
    stored = _recompute_ids(ids, now, now.astimezone(UTC).date(), batch_size, resume)
    logger.info("whales.metrics.recompute_all.done", extra={
        "whales": stored, "seconds": (timezone.now() - started).total_seconds()})
    return stored


def metrics_mark_pending(*, whale_ids: Iterable[int]) -> None:
    """Mark the metrics of ``whale_ids`` for a recompute, because their trades changed (ingest, reorg,
    confirmation): one ``MetricsPending`` row per whale, upserted in the current transaction. Once it
    commits, ``whales.recompute_pending_metrics`` is enqueued to run WHALE_METRICS_DEBOUNCE_S later, at
    most once per debounce window (coalesced through the cache); the beat row of the same task sweeps up
    anything a lost message left. Nothing for an empty set."""
    ids = sorted({int(i) for i in whale_ids})
    if not ids:
        return
    now = timezone.now()
    MetricsPending.objects.bulk_create(
        [MetricsPending(whale_id=whale_id, first_marked_at=now, last_marked_at=now) for whale_id in ids],
        batch_size=1000, update_conflicts=True, unique_fields=["whale"], update_fields=["last_marked_at"])
    debounce_s = settings.WHALE_METRICS_DEBOUNCE_S
    task_enqueue_on_commit("whales.recompute_pending_metrics", countdown_s=debounce_s, coalesce_s=max(debounce_s, 1))


def metrics_recompute_pending(*, debounce_s: float, batch_size: int = BATCH_WHALES, limit: int = 100_000,
                              now: datetime | None = None) -> int:
    """Recompute the whales marked pending at least ``debounce_s`` seconds ago; return how many.

    Shape: the due marks (oldest first, at most ``limit``) are read once, then recomputed in batches
    (``metrics_recompute``, each batch in its own transaction); a mark is deleted only when its
    ``last_marked_at`` is still the value read, so a whale whose trades changed meanwhile stays pending.
    Killed part-way, the marks of unfinished batches remain for the next run.
    """
    cutoff = (now or timezone.now()) - timedelta(seconds=debounce_s)
    marks = list(MetricsPending.objects.filter(first_marked_at__lte=cutoff).order_by("first_marked_at", "whale_id")
                 .values_list("whale_id", "last_marked_at")[:limit])
    done = 0
    for start in range(0, len(marks), batch_size):
        batch = marks[start:start + batch_size]
        done += metrics_recompute(whale_ids=[whale_id for whale_id, _ in batch], batch_size=batch_size)
        for chunk in range(0, len(batch), 200):
            unchanged = Q()
            for whale_id, marked_at in batch[chunk:chunk + 200]:
                unchanged |= Q(whale_id=whale_id, last_marked_at=marked_at)
            MetricsPending.objects.filter(unchanged).delete()
    if marks:
        logger.info("whales.metrics.pending.done", extra={"whales": done, "due": len(marks)})
    oldest = MetricsPending.objects.order_by("first_marked_at").values_list("first_marked_at", flat=True).first()
    if oldest is not None:  # marks not due yet: come back when the oldest is (coalesced with new marks)
        wait_s = max((oldest + timedelta(seconds=debounce_s) - timezone.now()).total_seconds(), 1.0)
        task_enqueue_on_commit("whales.recompute_pending_metrics", countdown_s=wait_s, coalesce_s=wait_s)
    return done


@dataclass(frozen=True)
class PerpRealized:
    """Realized P&L of one whale's perp coin, the exchange's way. USD, exact sums of stored values."""

    closed_pnl_usd: Decimal
    fees_usd: Decimal
    trades: int

    @property
    def realized_pnl_usd(self) -> Decimal:
        """The exchange's closed P&L net of fees, USD."""
        return self.closed_pnl_usd - self.fees_usd


def perp_realized_by_coin(*, whale_id: int) -> dict[str, PerpRealized]:
    """{coin: PerpRealized} of ``whale_id``'s Hyperliquid perp trades: sum(closedPnl), sum(fees).

    Source: Trade.pnl_usd / fee_usd of perp trades (module docstring), one GROUP BY base_asset.
    """
    rows = (Trade.objects.filter(PERP_Q, whale_id=whale_id).values("base_asset")
            .annotate(pnl=Coalesce(Sum("pnl_usd"), _USD0), fees=Coalesce(Sum("fee_usd"), _USD0), n=Count("id"))
            .order_by())
    return {r["base_asset"]: PerpRealized(r["pnl"], r["fees"], r["n"]) for r in rows}


def metrics_books_forget(*, whale_ids: Iterable[int]) -> None:
    """Drop the stored FIFO books of ``whale_ids``, so their next compute rebuilds them from every trade:
    for services that delete stored trades or change them in place (a reorg retraction, a withdrawn
    unconfirmed trade, a confirmation moving a trade's time, an amount backfilled). Their lots are
    deleted and their state says "no books" at a new version, so a compute that read the old books cannot
    store them afterwards. Also marks them pending. Runs in the caller's transaction."""
    ids = sorted({int(i) for i in whale_ids})
    if ids:
        WalletFifoLot.objects.filter(whale_id__in=ids).delete()
        WalletFifoState.objects.filter(whale_id__in=ids).update(
            books={}, max_trade_id=0, trades_applied=0, through_block_time=None, through_trade_id=None,
            checked_trade_id=0, checked_trades=0, version=F("version") + 1)
        WalletFifoState.objects.bulk_create([WalletFifoState(whale_id=whale_id, version=1) for whale_id in ids],
                                            batch_size=1000, ignore_conflicts=True)
        metrics_mark_pending(whale_ids=ids)
