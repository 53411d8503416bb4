"""Reads of the whale registry: querysets with their joins applied, and small summaries. Never writes."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Max, QuerySet, Sum
from django.utils import timezone

from whales.chains import Chain
from whales.collectors import collector_get, collector_names
from whales.models import CollectorRun, RunStatus, Trade, Whale, WhaleEvent


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


def collector_health_list() -> list[dict]:
    """Freshness of every registered collector from its newest run log rows.

    Shape: [{name, description, last_run_at, last_success_at, last_status, last_error,
    last_duration_ms, runs_24h, failures_24h, stale_after_s, is_stale}] sorted by name.
    ``is_stale`` = no successful run within the collector's ``stale_after_s``.
    """
    now = timezone.now()
    since = now - timedelta(hours=24)
    names = collector_names()
    last_success = dict(
        CollectorRun.objects.filter(collector__in=names, status=RunStatus.OK)
        .values("collector").annotate(at=Max("started_at")).values_list("collector", "at")
    )
    counts = {
        row["collector"]: row
        for row in CollectorRun.objects.filter(collector__in=names, started_at__gte=since)
        .values("collector")
        .annotate(runs=Count("id"), failures=Count("id", filter=_failed()))
    }
    items = []
    for name in names:
        collector = collector_get(name)
        last = CollectorRun.objects.filter(collector=name).order_by("-started_at").first()
        success_at = last_success.get(name)
        items.append({
            "name": name,
            "description": collector.description,
            "last_run_at": last.started_at.isoformat() if last else None,
            "last_success_at": success_at.isoformat() if success_at else None,
            "last_status": last.status if last else None,
            "last_error": last.error if last else "",
            "last_duration_ms": last.duration_ms if last else None,
            "runs_24h": counts.get(name, {}).get("runs", 0),
            "failures_24h": counts.get(name, {}).get("failures", 0),
            "stale_after_s": collector.stale_after_s,
            "is_stale": success_at is None or (now - success_at).total_seconds() > collector.stale_after_s,
        })
    return items


def _failed():
    from django.db.models import Q

    return Q(status=RunStatus.FAILED)


def dashboard_summary() -> dict:
    """Headline figures for the dashboard (DESIGN.md section 7, ``dashboard/summary``).

    Shape: {total_tracked_whales, active_whales_24h, total_volume_24h_usd (Decimal),
    hyperliquid_whales, events_24h, latest_block_time (ISO or None), collectors}. "24h" is
    relative to the newest stored activity when the data is recorded (older than a day), so the
    offline dashboard shows the recorded day rather than zeros; ``window_end`` says which.
    """
    latest = Trade.objects.aggregate(latest=Max("block_time"))["latest"]
    now = timezone.now()
    window_end = now if latest is None or now - latest < timedelta(hours=24) else latest
    since = window_end - timedelta(hours=24)
    tracked = Whale.objects.filter(is_tracked=True)
    recent_trades = Trade.objects.filter(block_time__gt=since, block_time__lte=window_end)
    volume = recent_trades.filter(is_internal=False).aggregate(total=Sum("value_usd"))["total"]
    return {
        "total_tracked_whales": tracked.count(),
        "active_whales_24h": recent_trades.values("whale_id").distinct().count(),
        "total_volume_24h_usd": volume if volume is not None else Decimal(0),
        "hyperliquid_whales": tracked.filter(chain=Chain.HYPERLIQUID).count(),
        "events_24h": WhaleEvent.objects.filter(block_time__gt=since, block_time__lte=window_end).count(),
        "window_end": window_end.isoformat(),
        "latest_block_time": latest.isoformat() if latest else None,
        "collectors": collector_health_list(),
    }
