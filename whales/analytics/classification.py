"""Whale type classification (DESIGN.md section 9): holder, trader or holder_trader, from stored data.

Inputs per whale (set-based: one whale+metrics load and one GROUP BY over trades per batch):

- F, trade frequency = ``WalletMetrics.trades_30d`` (buys, sells and perp fills in the last 30 days).
- T, turnover = ``WalletMetrics.volume_30d_usd / WalletMetrics.portfolio_value_usd`` (None when the
  portfolio value is unknown or zero).
- H, holding period in days = days since the whale's last sale (a ``sell``, ``close_long`` or
  ``close_short`` trade), or, when it never sold, days since its first recorded trade (any direction):
  how long the current book has been held without being sold down. Mempool (unconfirmed) trades are
  ignored. Whole days, rounded down.
- A, history in days = days since the first recorded trade.

Rules (thresholds are settings, defaults in brackets):

1. No WalletMetrics row, or no recorded trade -> ``unclassified`` (not enough data).
2. trading = F >= WHALE_TRADER_MIN_TRADES_30D [20] or T >= WHALE_TRADER_MIN_TURNOVER [1.0].
   holding = H >= WHALE_HOLDER_MIN_HOLD_DAYS [90].
3. trading and not holding -> ``trader``; holding and not trading -> ``holder``; both (trades often
   but has not sold for a long time, e.g. an accumulator) -> ``holder_trader``.
4. Neither: when A < WHALE_CLASSIFY_MIN_HISTORY_DAYS [30] -> ``unclassified`` (too little history);
   otherwise ``holder_trader`` (occasional trading with recent sales: mixed behaviour).

A whale with ``type_is_manual=True`` (an analyst's choice, set in the admin) is never written: it is
counted as ``manual`` in the result, and the write itself is filtered on ``type_is_manual=False`` so an
analyst's edit made while the batch runs is not overwritten either. Every other whale gets ``type``,
``type_reason`` (the numbers and thresholds, human-readable) and ``type_classified_at = now``.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from whales.models import Direction, Trade, TradeSource, WalletMetrics, Whale, WhaleType

logger = logging.getLogger(__name__)

BATCH_WHALES = 1000
SALE_DIRECTIONS = (Direction.SELL, Direction.CLOSE_LONG, Direction.CLOSE_SHORT)
REASON_MAX = 300  # Whale.type_reason max_length


@dataclass(frozen=True)
class ClassifyThresholds:
    """The classification thresholds, read from settings (module docstring)."""

    trader_min_trades_30d: int
    trader_min_turnover: Decimal
    holder_min_hold_days: int
    min_history_days: int

    @classmethod
    def from_settings(cls) -> ClassifyThresholds:
        return cls(
            trader_min_trades_30d=int(getattr(settings, "WHALE_TRADER_MIN_TRADES_30D", 20)),
            trader_min_turnover=Decimal(str(getattr(settings, "WHALE_TRADER_MIN_TURNOVER", "1.0"))),
            holder_min_hold_days=int(getattr(settings, "WHALE_HOLDER_MIN_HOLD_DAYS", 90)),
            min_history_days=int(getattr(settings, "WHALE_CLASSIFY_MIN_HISTORY_DAYS", 30)),
        )


@dataclass(frozen=True)
class ClassifyInputs:
    """What one whale is classified from. USD as Decimal; days are whole days."""

    has_metrics: bool
    trades_30d: int = 0
    volume_30d_usd: Decimal = Decimal(0)
    portfolio_value_usd: Decimal | None = None
    first_trade_at: datetime | None = None
    last_sale_at: datetime | None = None


@dataclass
class ClassifyResult:
    """Counts of one classification call: ``seen`` whales, ``updated`` rows written, ``manual`` whales
    kept as the analyst set them, and ``by_type`` {type: whales written with it}."""

    seen: int = 0
    updated: int = 0
    manual: int = 0
    by_type: dict[str, int] = field(default_factory=dict)


def _days(now: datetime, then: datetime) -> int:
    return max((now - then).days, 0)


def whale_type_decide(*, inputs: ClassifyInputs, now: datetime,
                      thresholds: ClassifyThresholds) -> tuple[str, str]:
    """Return (type, reason) for one whale by the module's rules; pure (no queries)."""
    t = thresholds
    if not inputs.has_metrics:
        return WhaleType.UNCLASSIFIED, "unclassified: no wallet metrics yet"
    if inputs.first_trade_at is None:
        return WhaleType.UNCLASSIFIED, "unclassified: no recorded trades"
    turnover: Decimal | None = None
    if inputs.portfolio_value_usd:
        turnover = inputs.volume_30d_usd / inputs.portfolio_value_usd
    history = _days(now, inputs.first_trade_at)
    if inputs.last_sale_at is not None:
        hold = _days(now, inputs.last_sale_at)
        hold_text = f"{hold} days since last sale"
    else:
        hold = history
        hold_text = f"{hold} days held without a sale"
    trading = inputs.trades_30d >= t.trader_min_trades_30d or (
        turnover is not None and turnover >= t.trader_min_turnover)
    holding = hold >= t.holder_min_hold_days
    if trading and not holding:
        kind = WhaleType.TRADER
    elif holding and not trading:
        kind = WhaleType.HOLDER
    elif trading and holding:
        kind = WhaleType.HOLDER_TRADER
    elif history < t.min_history_days:
        return WhaleType.UNCLASSIFIED, (
            f"unclassified: {history} days of history (< {t.min_history_days}), "
            f"{inputs.trades_30d} trades/30d, no clear pattern")[:REASON_MAX]
    else:
        kind = WhaleType.HOLDER_TRADER
    turnover_text = (f"turnover {turnover:.2f}x (trader >= {t.trader_min_turnover})" if turnover is not None
                     else "turnover n/a (no portfolio value)")
    reason = (f"{kind.value}: {inputs.trades_30d} trades/30d (trader >= {t.trader_min_trades_30d}), "
              f"{turnover_text}, "
              f"{hold_text} (holder >= {t.holder_min_hold_days})")
    return kind, reason[:REASON_MAX]


def _classify_batch(ids: list[int], now: datetime, thresholds: ClassifyThresholds, result: ClassifyResult) -> None:
    # Query 1: the whales with their metrics (LEFT JOIN).
    whales = list(Whale.objects.filter(pk__in=ids).select_related("metrics").only(
        "id", "type", "type_is_manual", "metrics__trades_30d", "metrics__volume_30d_usd",
        "metrics__portfolio_value_usd"))
    # Query 2: first trade and last sale per whale, one GROUP BY.
    times = {
        row["whale_id"]: row
        for row in Trade.objects.filter(whale_id__in=ids).exclude(source=TradeSource.MEMPOOL)
        .values("whale_id").order_by()
        .annotate(first=Min("block_time"), last_sale=Max("block_time", filter=Q(direction__in=SALE_DIRECTIONS)))
    }
    changed: list[Whale] = []
    kinds: Counter[str] = Counter()
    for whale in whales:
        result.seen += 1
        if whale.type_is_manual:
            result.manual += 1
            continue
        try:
            metrics: WalletMetrics | None = whale.metrics
        except WalletMetrics.DoesNotExist:
            metrics = None
        row = times.get(whale.pk, {})
        inputs = ClassifyInputs(
            has_metrics=metrics is not None,
            trades_30d=metrics.trades_30d if metrics else 0,
            volume_30d_usd=metrics.volume_30d_usd if metrics else Decimal(0),
            portfolio_value_usd=metrics.portfolio_value_usd if metrics else None,
            first_trade_at=row.get("first"),
            last_sale_at=row.get("last_sale"),
        )
        whale.type, whale.type_reason = whale_type_decide(inputs=inputs, now=now, thresholds=thresholds)
        whale.type_classified_at = now
        changed.append(whale)
        kinds[whale.type] += 1
    if changed:
        # Query 3: one UPDATE ... CASE; filtered so a manual type set meanwhile is kept.
        with transaction.atomic():
            written = Whale.objects.filter(type_is_manual=False).bulk_update(
                changed, ["type", "type_reason", "type_classified_at"])
        result.updated += written
    for kind, count in kinds.items():
        result.by_type[kind] = result.by_type.get(kind, 0) + count


def whales_classify(*, whale_ids: Sequence[int] | None = None, now: datetime | None = None,
                    batch_size: int = BATCH_WHALES) -> ClassifyResult:
    """Classify ``whale_ids`` (default: every whale, tracked or not) and store type, type_reason and
    type_classified_at; return the counts.

    Shape: 1 query for the ids, then 3 per batch of ``batch_size`` whales (whales+metrics, a GROUP BY
    over trades, one bulk UPDATE), whatever the batch's length; each batch's write is its own
    transaction. Manual types are kept (module docstring).
    """
    now = now or timezone.now()
    thresholds = ClassifyThresholds.from_settings()
    qs = Whale.objects.order_by("pk")
    if whale_ids is not None:
        qs = qs.filter(pk__in=list(whale_ids))
    ids = list(qs.values_list("pk", flat=True))
    result = ClassifyResult()
    for start in range(0, len(ids), batch_size):
        _classify_batch(ids[start:start + batch_size], now, thresholds, result)
    logger.info("whales.classify.done", extra={
        "seen": result.seen, "updated": result.updated, "manual": result.manual, "by_type": result.by_type})
    return result
