"""Reads of the whale registry: querysets with their joins applied, and small summaries. Never writes."""

from datetime import timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.db.models import Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from whales.chains import Chain
from whales.models import (
    Direction,
    Entity,
    EventType,
    Holding,
    Label,
    LabelRemoval,
    Trade,
    TradeSource,
    WalletScore,
    Whale,
    WhaleEvent,
    WhaleLabel,
)

# The whale list's sort keys (API and pages) -> the field they order by.
WHALE_SORT_FIELDS = {
    "roi": "metrics__roi_percent",
    "portfolio_value": "metrics__portfolio_value_usd",
    "volume_30d": "metrics__volume_30d_usd",
    "last_active": "last_active_at",
    "score": "current_score",  # annotated by whales_order: the whale's current WalletScore
}

def whale_list() -> QuerySet[Whale]:
    """Whales with entity and current metrics joined (one query for a page)."""
    return Whale.objects.select_related("entity", "metrics")


def tracked_whale_map(*, chain: str) -> dict[str, int]:
    """``{address: whale_id}`` of the tracked whales on ``chain`` (addresses normalized)."""
    return dict(Whale.objects.filter(chain=chain, is_tracked=True).values_list("address", "id"))


def trade_list() -> QuerySet[Trade]:
    """Trades, newest first, whale joined."""
    return Trade.objects.select_related("whale").order_by("-block_time", "-id")


def event_list() -> QuerySet[WhaleEvent]:
    """WhaleEvents, newest first, whale and its entity joined."""
    return WhaleEvent.objects.select_related("whale", "whale__entity").order_by("-block_time", "-id")


class DashboardFigures(TypedDict):
    """The whale figures of the dashboard; "24h" ends at ``window_end`` (ISO 8601 UTC)."""

    total_tracked_whales: int
    active_whales_24h: int
    total_volume_24h_usd: Decimal
    hyperliquid_whales: int
    events_24h: int
    window_end: str
    latest_block_time: str | None
    activity_stale: bool


def dashboard_figures() -> DashboardFigures:
    """The whale figures of the dashboard (``dashboard/summary`` without collector freshness, which
    ``ledgers.selectors.dashboard_summary`` adds: whales imports no ledger).

    Shape: {total_tracked_whales, active_whales_24h, total_volume_24h_usd (Decimal),
    hyperliquid_whales, events_24h, window_end (ISO), latest_block_time (ISO or None), activity_stale}.
    "24h" is relative to the newest stored activity when the data is recorded (older than a day), so the
    offline dashboard shows the recorded day rather than zeros; ``window_end`` says which, and
    ``activity_stale`` is True then (and when no activity is stored at all), so the page says so in a banner
    instead of passing old figures off as today's.
    """
    latest = Trade.objects.aggregate(latest=Max("block_time"))["latest"]
    now = timezone.now()
    window_end = now if latest is None or now - latest < timedelta(hours=24) else latest
    since = window_end - timedelta(hours=24)
    tracked = Whale.objects.filter(is_tracked=True)
    # One pass over the window, read off the covering trade_time index (PostgreSQL: an index-only scan).
    window = Trade.objects.filter(block_time__gt=since, block_time__lte=window_end).aggregate(
        active=Count("whale_id", distinct=True), volume=Sum("value_usd", filter=Q(is_internal=False)))
    volume = window["volume"]
    return DashboardFigures(
        total_tracked_whales=tracked.count(),
        active_whales_24h=window["active"],
        total_volume_24h_usd=volume if volume is not None else Decimal(0),
        hyperliquid_whales=tracked.filter(chain=Chain.HYPERLIQUID).count(),
        events_24h=WhaleEvent.objects.filter(block_time__gt=since, block_time__lte=window_end).count(),
        window_end=window_end.isoformat(),
        latest_block_time=latest.isoformat() if latest else None,
        activity_stale=latest is None or window_end != now,
    )


# --- API and dashboard reads -------------------------------------------------------------------


def whale_list_with_labels() -> QuerySet[Whale]:
    """``whale_list()`` plus the whale's label rows prefetched (one extra query for a whole page).

    Shape: each whale has ``whale_labels`` (WhaleLabel rows, label and added_by joined) ordered by
    label slug then id, so a label carried by two sources is two adjacent rows.
    """
    label_rows = WhaleLabel.objects.select_related("label", "added_by").order_by("label__slug", "id")
    return whale_list().prefetch_related(Prefetch("whale_labels", queryset=label_rows))


def whale_get(*, chain: str, address: str) -> Whale:
    """The whale ``(chain, address)`` with entity, metrics, label provenance and holdings loaded.

    ``address`` must already be normalized (``whales.chains.normalize_address``).
    Shape: ``holdings`` prefetched, largest USD value first (unpriced last), then asset.
    Raises: Whale.DoesNotExist when no such whale is stored.
    """
    holdings = Holding.objects.order_by(F("value_usd").desc(nulls_last=True), "asset")
    return whale_list_with_labels().prefetch_related(Prefetch("holdings", queryset=holdings)).get(
        chain=chain, address=address
    )


def tokens_without_metadata(*, whale_id: int, limit: int = 50) -> list[str]:
    """The token contracts of ``whale_id``'s trades whose amounts are unknown (no decimals known when they were
    stored): distinct, sorted, at most ``limit``."""
    rows = (Trade.objects.filter(whale_id=whale_id, amount_base__isnull=True).exclude(base_token_address="")
            .values_list("base_token_address", flat=True).distinct().order_by("base_token_address"))
    return list(rows[:limit])


def whale_recently_active_list(*, limit: int = 10) -> list[Whale]:
    """The ``limit`` whales with the newest activity (``last_active_at`` set), newest first, then by id: the order
    of ``GET whales?sort_by=last_active`` (read off the whale_last_active index)."""
    queryset = whale_list_with_labels().filter(last_active_at__isnull=False)
    return list(whales_order(queryset, sort_by="last_active", order="desc")[:limit])


def event_recent_list(*, limit: int = 20) -> list[WhaleEvent]:
    """The ``limit`` newest WhaleEvents (by block time, then id), whale and entity joined."""
    return list(event_list()[:limit])


def whales_order(queryset: QuerySet[Whale], *, sort_by: str, order: str) -> QuerySet[Whale]:
    """``queryset`` ordered by the whale list's ``sort_by`` (WHALE_SORT_FIELDS keys: roi, portfolio_value,
    volume_30d, last_active, score) ``order`` asc/desc, missing values last, then by id. ``score`` is the
    current WalletScore (annotated with one correlated subquery)."""
    if sort_by == "score":
        current = WalletScore.objects.filter(whale=OuterRef("pk"), is_current=True).values("score")[:1]
        queryset = queryset.annotate(current_score=Subquery(current))
    field = F(WHALE_SORT_FIELDS[sort_by])
    ordering = field.asc(nulls_last=True) if order == "asc" else field.desc(nulls_last=True)
    return queryset.order_by(ordering, "id")


# Choices offered by the live-feed and alert-rule filters (a whale list longer than this is cut).
FILTER_WHALES_MAX = 500


def page_choice_labels() -> dict[str, dict[str, str]]:
    """Display names the page scripts use for rows they build (rendered with ``json_script``):
    {"chains", "event_types", "directions", "trade_sources"}: {value: label}."""
    return {"chains": dict(Chain.choices), "event_types": dict(EventType.choices),
            "directions": dict(Direction.choices), "trade_sources": dict(TradeSource.choices)}


def page_filter_choices() -> dict[str, Any]:
    """Chains, event types, tracked whales (at most FILTER_WHALES_MAX), labels and entities the filter
    forms of the pages offer, plus ``choice_labels`` (``page_choice_labels``)."""
    whales = list(Whale.objects.filter(is_tracked=True).order_by("chain", "name", "address")
                  .values("id", "chain", "address", "name")[:FILTER_WHALES_MAX])
    return {
        "choice_labels": page_choice_labels(),
        "chains": Chain.choices,
        "event_types": EventType.choices,
        "whale_choices": whales,
        "label_choices": Label.objects.filter(whale_labels__isnull=False).distinct().order_by("slug"),
        "entity_choices": Entity.objects.filter(whales__isnull=False).distinct().order_by("name"),
    }


def label_removal_list(*, whale_id: int) -> list[LabelRemoval]:
    """The label trail of whale ``whale_id``: its LabelRemovals, newest first, users joined (staff pages only)."""
    return list(LabelRemoval.objects.filter(whale_id=whale_id).select_related("removed_by", "restored_by", "added_by")
                .order_by("-removed_at", "-id"))
