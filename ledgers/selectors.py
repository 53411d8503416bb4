"""Reads of the collector bookkeeping: freshness of every registered collector, its run log, and the
dashboard that puts them beside the whale figures. Never writes."""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any, NotRequired, TypedDict

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from ledgers.models import CollectorRun
from ledgers.redact import error_for_viewer, error_redact
from ledgers.registry import collector_get, collector_names
from whales.models import RunStatus, Whale, WhaleEvent
from whales.readcache import read_cache_value
from whales.selectors import DashboardFigures, dashboard_figures, event_recent_list, whale_recently_active_list


class CollectorHealth(TypedDict):
    """Freshness of one collector (``collector_health_list``). Times are ISO 8601 UTC, durations ms."""

    name: str
    description: str
    last_run_at: str | None
    last_success_at: str | None
    last_status: str | None
    last_error: str
    last_duration_ms: int | None
    runs_24h: int
    failures_24h: int
    stale_after_s: int
    is_stale: bool
    ledger: str
    success_rate_24h: float | None
    latency_p50_ms: int | None
    latency_p95_ms: int | None
    records_per_run_24h: float | None
    state: str
    state_reason: str
    live: NotRequired[Mapping[str, Any] | None]


class HealthState:
    """A collector's state, by the first rule it meets (``collector_state``)."""

    FAILING = "failing"
    DEGRADED = "degraded"
    HEALTHY = "healthy"


FAILING_BELOW = 0.5
DEGRADED_BELOW = 0.9


def percentile(values: list[int], fraction: float) -> int | None:
    """The nearest-rank percentile of ``values`` (``fraction`` 0.5 for p50): the smallest value with at least
    that fraction of the values at or below it; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(fraction * 1000) * len(ordered) // 1000))  # ceil(fraction x n), in integers
    return ordered[rank - 1]


def collector_state(*, is_stale: bool, last_status: str | None, success_rate: float | None) -> tuple[str, str]:
    """(state, why) of a collector, by the first rule it meets:
    1. failing: stale (no successful run within its ``stale_after_s``) and its last run failed or it never ran;
       or fewer than half of its finished runs of the last 24 h succeeded;
    2. degraded: stale; or its last run was partial or failed; or fewer than 90 % of its last 24 h's runs
       succeeded;
    3. healthy otherwise.
    A run succeeded when it ended ok or partial (it stored what it could)."""
    if is_stale and last_status in (None, RunStatus.FAILED):
        return HealthState.FAILING, "stale, and its last run failed" if last_status else "stale: it never ran"
    if success_rate is not None and success_rate < FAILING_BELOW:
        return HealthState.FAILING, f"{success_rate:.0%} of its runs in 24 h succeeded (< 50 %)"
    if is_stale:
        return HealthState.DEGRADED, "stale: no successful run within its freshness bound"
    if last_status in (RunStatus.PARTIAL, RunStatus.FAILED):
        return HealthState.DEGRADED, f"its last run was {last_status}"
    if success_rate is not None and success_rate < DEGRADED_BELOW:
        return HealthState.DEGRADED, f"{success_rate:.0%} of its runs in 24 h succeeded (< 90 %)"
    return HealthState.HEALTHY, "fresh, and its runs succeed"


class DashboardSummary(DashboardFigures):
    """``dashboard/summary``: the whale figures and every collector's freshness."""

    collectors: list[CollectorHealth]


class DashboardPage(TypedDict):
    """What the server-rendered dashboard shows."""

    summary: DashboardSummary
    events: list[WhaleEvent]
    active_whales: list[Whale]


def collector_health_list() -> list[CollectorHealth]:
    """Freshness of every registered collector from its newest run log rows.

    Shape: [{name, description, ledger, last_run_at, last_success_at, last_status, last_error,
    last_duration_ms, runs_24h, failures_24h, success_rate_24h, latency_p50_ms, latency_p95_ms,
    records_per_run_24h, stale_after_s, is_stale, state, state_reason, live?}] sorted by name.
    ``is_stale`` = no successful run within the collector's ``stale_after_s``; for a long-running
    collector (``live`` = its process's statistics, None when not running) = not connected, or no
    message within ``stale_after_s``. Over the finished runs of the last 24 h: ``success_rate_24h`` the share
    that ended ok or partial (0-1, None without runs), the nearest-rank p50/p95 of their durations (ms) and the
    mean records written per run. ``state`` and ``state_reason``: ``collector_state``.
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
        .annotate(runs=Count("id"), failures=Count("id", filter=Q(status=RunStatus.FAILED)))
    }
    finished: dict[str, list[tuple[int, str, int]]] = {}
    for collector_name, duration, status, written in CollectorRun.objects.filter(
            collector__in=names, started_at__gte=since, finished_at__isnull=False).values_list(
            "collector", "duration_ms", "status", "items_written"):
        finished.setdefault(collector_name, []).append((duration or 0, status, written or 0))
    items: list[CollectorHealth] = []
    for name in names:
        collector = collector_get(name)
        last = CollectorRun.objects.filter(collector=name).order_by("-started_at").first()
        success_at = last_success.get(name)
        items.append(CollectorHealth(
            name=name,
            description=collector.description,
            last_run_at=last.started_at.isoformat() if last else None,
            last_success_at=success_at.isoformat() if success_at else None,
            last_status=last.status if last else None,
            last_error=error_redact(last.error) if last else "",  # rows stored before redaction too
            last_duration_ms=last.duration_ms if last else None,
            runs_24h=counts.get(name, {}).get("runs", 0),
            failures_24h=counts.get(name, {}).get("failures", 0),
            stale_after_s=collector.stale_after_s,
            is_stale=success_at is None or (now - success_at).total_seconds() > collector.stale_after_s,
            ledger=str(collector.ledger),
            success_rate_24h=(sum(s in (RunStatus.OK, RunStatus.PARTIAL) for _, s, _ in runs) / len(runs)
                              if (runs := finished.get(name, [])) else None),
            latency_p50_ms=percentile([d for d, _, _ in runs], 0.5),
            latency_p95_ms=percentile([d for d, _, _ in runs], 0.95),
            records_per_run_24h=round(sum(w for _, _, w in runs) / len(runs), 1) if runs else None,
            state="", state_reason="",
        ))
        item = items[-1]
        if collector.live_stats is not None:
            live = collector.live_stats()
            age = live.get("last_message_age_s") if live else None
            item["live"] = live
            item["is_stale"] = not (live and live.get("connected") and age is not None
                                    and age <= collector.stale_after_s)
        item["state"], item["state_reason"] = collector_state(
            is_stale=item["is_stale"], last_status=item["last_status"], success_rate=item["success_rate_24h"])
    return items




def collector_health_shown(items: list[CollectorHealth], *, staff: bool) -> list[CollectorHealth]:
    """``items`` as a viewer may see them: ``last_error`` kept for staff, a fixed reason for anyone else
    (``ledgers.redact.error_for_viewer``). The public pages and API show collectors through this."""
    return [CollectorHealth(**{**item, "last_error": error_for_viewer(item["last_error"], staff=staff)})
            for item in items]


def collector_health_get(name: str) -> CollectorHealth:
    """The ``collector_health_list()`` item of collector ``name``.

    Raises: UnknownCollector when no collector of that name is registered.
    """
    collector_get(name)  # UnknownCollector for an unknown name, before any query
    return next(item for item in collector_health_list() if item["name"] == name)


def collector_run_list(*, name: str, limit: int = 20) -> QuerySet[CollectorRun]:
    """The ``limit`` newest run log rows of collector ``name`` (by start time, then id)."""
    return CollectorRun.objects.filter(collector=name).order_by("-started_at", "-id")[:limit]




def dashboard_summary() -> DashboardSummary:
    """``dashboard/summary``: ``whales.selectors.dashboard_figures()`` plus ``collectors`` (the
    ``collector_health_list()`` items)."""
    return DashboardSummary(**dashboard_figures(), collectors=collector_health_list())


def dashboard_page() -> DashboardPage:
    """Everything the server-rendered dashboard shows.

    Shape: {summary: dashboard_summary() (cached up to ``API_READ_CACHE_TTL_S``, dropped by any write to whales
    or collector runs: ``whales.readcache``), events: the 20 newest WhaleEvents,
    active_whales: the 10 whales with the newest activity}.
    """
    return DashboardPage(
        # what GET dashboard/summary shows, cached the same way (whales.readcache)
        summary=read_cache_value(name="dashboard-summary", scopes=("whales", "collectors"), build=dashboard_summary),
        events=event_recent_list(limit=20),
        active_whales=whale_recently_active_list(limit=10),
    )
