"""Daily metrics for past days (``WalletMetricsDaily``), rebuilt from stored trades, opening balances and daily
prices, so a fresh install charts a wallet's history, not one point.

For each whale and each UTC day D from its first trade's day (or its opening's) to yesterday, the figures are
those of ``whales.analytics.metrics`` (same formulas, same ``figures_metrics``) as of the end of D (the next
midnight UTC), from the trades with ``block_time`` before it:

- **FIFO figures** (realized P&L, round trips, win rate, unknown-cost sells) and **flows** (deposits and
  withdrawals, for the ROI), from the trades up to the end of D; perps by the exchange's closedPnl.
- **Volumes and trade counts** over the 30 days and the day before the end of D.
- **Balances at the end of D**: the opening balances (``WalletOpening``, on chains that need one; none on the
  others: the wallet's whole history is in its trades) plus every trade's signed change: + the amount for a
  buy, receive or withdraw (from an exchange), - for a sell, send or deposit; a swap moves its quote asset the
  other way by ``amount_quote``; and the native coin loses each ``fee_amount`` (the network fee on top of the
  amounts). Gas of transactions that move no asset (approvals) is in no trade: an Ethereum wallet's
  reconstructed ETH is that much high, which the live point of today (read from the node) does not share.
- **Portfolio value at the end of D** = the sum of those balances at each asset's price at that instant
  (``prices``, a ``DailyPrices``: in production the exchange ledger's daily closes within PRICE_MAX_AGE_HOURS,
  wired by ``ledgers.history``); an asset with no price then is left out, as the live portfolio leaves out
  unpriced holdings; None when nothing is priced. Hyperliquid accounts (margin, perps) are not rebuilt from
  fills: their past portfolio and ROI are None.
- **Unrealized P&L** = the lots' amounts at the day's prices minus their cost (None when a held asset is
  unpriced that day).

Today is the live recompute's row (``metrics_recompute``, from the holdings read now); the backfill writes
only days before it. Idempotent: the rows of (whale, day) are upserted with the same values on a re-run, and
each whale is stored in its own transaction, so a killed run resumes whale by whale.
"""

import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, localcontext
from typing import Protocol

from django.db import transaction
from django.db.models import Min
from django.utils import timezone

from whales.analytics.metrics import (
    CLOSE_DIRECTIONS,
    METRIC_FIELDS,
    OPENING_CHAINS,
    PERP_DIRECTIONS,
    TRADING_DIRECTIONS,
    TRANSFER_IN,
    TRANSFER_OUT,
    WhaleFigures,
    book_apply,
    figures_metrics,
)
from whales.chains import Chain
from whales.fifo import FifoBook
from whales.models import Direction, OpeningStatus, Trade, TradeSource, WalletMetricsDaily, WalletOpening, Whale
from whales.money import WIDE

logger = logging.getLogger(__name__)

ZERO = Decimal(0)
DAY = timedelta(days=1)
IN_DIRECTIONS = (Direction.BUY, *TRANSFER_IN)
OUT_DIRECTIONS = (Direction.SELL, *TRANSFER_OUT)
_COLUMNS = ("id", "block_time", "block_number", "direction", "source", "base_asset", "base_token_address",
            "quote_token_address", "amount_base", "amount_quote", "value_usd", "fee_usd", "fee_amount", "pnl_usd")


PriceOf = Callable[[str, datetime], Decimal | None]


class DailyPrices(Protocol):
    """Where the backfill's prices come from: ``for_chain(chain, start, end)`` returns ``price_of(token_address,
    when)``, the USD price of a token of ``chain`` ("" = the native coin) at an instant in [start, end], or None
    when it has none then. Implemented over the exchange ledger's prices by ``ledgers.history``."""

    def for_chain(self, chain: str, start: datetime, end: datetime) -> PriceOf: ...


@dataclass(frozen=True)
class BackfillProgress:
    """After each whale: how many whales are done of ``total``, and the days written so far."""

    done: int
    total: int
    whale_id: int
    days_written: int


@dataclass(frozen=True)
class BackfillResult:
    """What ``metrics_backfill`` did: whales seen, whales with at least one day written, days written."""

    whales: int
    whales_written: int
    days_written: int


def _day_end(day: date) -> datetime:
    return datetime.combine(day + DAY, time(), tzinfo=UTC)


class _Window:
    """Trading trades inside (end - span, end]: their count and value sum, slid forward day by day."""

    def __init__(self, span: timedelta) -> None:
        self.span = span
        self.items: deque[tuple[datetime, Decimal]] = deque()
        self.total = ZERO

    def add(self, when: datetime, value: Decimal | None) -> None:
        self.items.append((when, value or ZERO))
        self.total += value or ZERO

    def slide(self, end: datetime) -> None:
        while self.items and self.items[0][0] <= end - self.span:
            self.total -= self.items.popleft()[1]


def _is_perp(source: str, direction: str, pnl_usd: Decimal | None) -> bool:
    return source == TradeSource.HYPERLIQUID and (direction in PERP_DIRECTIONS or pnl_usd is not None)


class _Replay:
    """One whale's trades applied in (block_time, id) order, with the figures as of any day's end."""

    def __init__(self, whale_id: int, chain: str, opening: WalletOpening | None, price_of: PriceOf) -> None:
        self.whale_id, self.chain, self.price_of = whale_id, chain, price_of
        self.f = WhaleFigures(chain=chain, opening=opening)
        # Balances are rebuilt from the opening where the chain needs one (unknown without a usable one), from
        # nothing where the trades hold the whole history; never for a Hyperliquid account.
        self.balances: dict[str, Decimal] | None = None
        if chain in OPENING_CHAINS:
            if opening is not None and opening.status == OpeningStatus.OK:
                self.balances = {entry["token_address"]: Decimal(entry["amount"])
                                 for entry in opening.balances.values() if "amount" in entry}
        elif chain != Chain.HYPERLIQUID:
            self.balances = {}
        self.symbols: dict[str, str] = {}  # FIFO book (base_asset) -> its token address
        self.w30, self.w1 = _Window(timedelta(days=30)), _Window(DAY)

    def apply(self, row: tuple) -> None:
        (_, when, block, direction, source, base, base_token, quote_token, amount, amount_quote, value, fee_usd,
         fee_amount, pnl) = row
        f = self.f
        if f.first_block is None and block is not None:
            f.first_block = block
        if direction in TRADING_DIRECTIONS:
            self.w30.add(when, value)
            self.w1.add(when, value)
        in_flow = (direction == Direction.DEPOSIT) if self.chain == Chain.HYPERLIQUID else direction in TRANSFER_IN
        out_flow = (direction == Direction.WITHDRAW) if self.chain == Chain.HYPERLIQUID else direction in TRANSFER_OUT
        if in_flow or out_flow:
            if value is None:
                f.unpriced_flows += 1
            elif in_flow:
                f.inflow += value
            else:
                f.outflow += value
        if _is_perp(source, direction, pnl):
            f.perp_trades += 1
            with localcontext(WIDE):
                f.perp_realized += (pnl or ZERO) - (fee_usd or ZERO)
            if direction in CLOSE_DIRECTIONS or pnl is not None:
                f.perp_closes += 1
                f.perp_wins += (pnl or ZERO) > (fee_usd or ZERO)
            return
        if amount is None or direction not in (*IN_DIRECTIONS, *OUT_DIRECTIONS):
            return
        book = f.books.get(base)
        if book is None:
            book = f.books[base] = FifoBook()
        book_apply(book, direction, amount, value, fee_usd)
        self.symbols[base] = base_token
        if self.balances is not None:
            sign = 1 if direction in IN_DIRECTIONS else -1
            with localcontext(WIDE):
                self.balances[base_token] = self.balances.get(base_token, ZERO) + sign * amount
                if amount_quote is not None and direction in (Direction.BUY, Direction.SELL):
                    self.balances[quote_token] = self.balances.get(quote_token, ZERO) - sign * amount_quote
                if fee_amount:
                    self.balances[""] = self.balances.get("", ZERO) - fee_amount

    def figures_at(self, end: datetime) -> dict:
        """The MetricsFields values as of ``end`` (metrics module formulas)."""
        f = self.f
        self.w30.slide(end)
        self.w1.slide(end)
        f.trades_30d, f.volume_30d = len(self.w30.items), self.w30.total
        f.trades_1d, f.volume_1d = len(self.w1.items), self.w1.total
        f.prices, f.portfolio = {}, None
        if self.balances is not None:
            with localcontext(WIDE):
                for token, amount in self.balances.items():
                    price = self.price_of(token, end) if amount else None
                    if price is None:
                        continue
                    f.portfolio = (f.portfolio or ZERO) + amount * price
                for symbol, token in self.symbols.items():
                    price = self.price_of(token, end)
                    if price is not None:
                        f.prices[symbol] = price
        return figures_metrics(self.whale_id, f, end)


def _whale_days(whale: Whale, opening: WalletOpening | None, price_of: PriceOf, first_day: date | None,
                last_day: date) -> list[WalletMetricsDaily]:
    rows = (Trade.objects.filter(whale_id=whale.pk).exclude(source=TradeSource.MEMPOOL)
            .order_by("block_time", "id").values_list(*_COLUMNS))
    trades = list(rows.iterator(chunk_size=5000))
    starts = [t[1] for t in trades]
    if opening is not None and opening.block_time is not None:
        starts.append(opening.block_time)
    if not starts:
        return []
    begin = min(starts).astimezone(UTC).date()
    if begin > last_day:
        return []
    replay = _Replay(whale.pk, whale.chain, opening if whale.chain in OPENING_CHAINS else None, price_of)
    out, index, day = [], 0, begin
    while day <= last_day:
        end = _day_end(day)
        while index < len(trades) and trades[index][1] < end:
            replay.apply(trades[index])
            index += 1
        if first_day is None or day >= first_day:
            values = replay.figures_at(end)
            values.pop("whale_id")
            values["computed_at"] = timezone.now()
            out.append(WalletMetricsDaily(whale_id=whale.pk, date=day, **values))
        day += DAY
    return out


def _no_price(token_address: str, when: datetime) -> Decimal | None:
    return None  # a chain without trades or openings: no whale of it has a day to write


def metrics_backfill(*, prices: DailyPrices, whale_ids: Sequence[int] | None = None, days: int | None = None,
                     today: date | None = None, progress: Callable[[BackfillProgress], None] | None = None
                     ) -> BackfillResult:
    """Write ``WalletMetricsDaily`` for the past days of ``whale_ids`` (default: every whale) by the rules of the
    module docstring; return what was written.

    ``days`` limits the rows written to the last ``days`` days before ``today`` (the trades are still replayed
    from the first: the FIFO books need them); None writes the whole history. ``today`` (UTC date, default now)
    is never written: it is the live recompute's row. ``progress`` is called after each whale.
    Shape: one GROUP BY for each chain's earliest trade, one ``prices.for_chain`` per chain (over the whole
    window), then per whale one query for its trades and one upsert of its days in its own transaction.
    Units: USD and percent as in ``WalletMetrics``.
    """
    today = today or timezone.now().astimezone(UTC).date()
    last_day = today - DAY
    first_day = None if days is None else today - timedelta(days=days)
    whales = Whale.objects.order_by("pk")
    if whale_ids is not None:
        whales = whales.filter(pk__in=list(whale_ids))
    targets = list(whales.only("pk", "chain"))
    openings = {o.whale_id: o for o in WalletOpening.objects.filter(whale_id__in=[w.pk for w in targets])}
    trades = Trade.objects.exclude(source=TradeSource.MEMPOOL)
    if whale_ids is not None:
        trades = trades.filter(whale_id__in=[w.pk for w in targets])
    earliest = dict(trades.values("chain").annotate(first=Min("block_time")).order_by().values_list("chain", "first"))
    chain_of = {w.pk: w.chain for w in targets}
    for opening in openings.values():  # an opening comes before its whale's first trade
        if opening.block_time is not None:
            chain = chain_of[opening.whale_id]
            earliest[chain] = min(earliest.get(chain, opening.block_time), opening.block_time)
    price_of: dict[str, PriceOf] = {}
    written = whales_written = 0
    for done, whale in enumerate(targets, start=1):
        if whale.chain not in price_of and whale.chain in earliest:
            begin = earliest[whale.chain].astimezone(UTC).date()
            price_of[whale.chain] = prices.for_chain(whale.chain, _day_end(begin) - DAY, _day_end(last_day))
        rows = _whale_days(whale, openings.get(whale.pk), price_of.get(whale.chain, _no_price), first_day, last_day)
        if rows:
            with transaction.atomic():
                WalletMetricsDaily.objects.bulk_create(
                    rows, batch_size=1000, update_conflicts=True, unique_fields=["whale", "date"],
                    update_fields=METRIC_FIELDS)
            written += len(rows)
            whales_written += 1
        if progress is not None:
            progress(BackfillProgress(done, len(targets), whale.pk, written))
    logger.info("whales.metrics.backfill.done", extra={"whales": len(targets), "days": written})
    return BackfillResult(whales=len(targets), whales_written=whales_written, days_written=written)

