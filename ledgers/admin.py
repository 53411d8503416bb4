"""Admin of the collector bookkeeping: stream cursors and the run log, read-only; an action on the run log
runs collectors now on the worker."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from ledgers.models import CollectorRun, QualityIssue, QualityReport, SyncCursor
from ledgers.registry import UnknownCollector
from ledgers.runlog import CollectorNotTriggerable, collector_trigger
from ledgers.selectors import collector_health_list
from whales.admin import BigTableAdmin


@admin.register(SyncCursor)
class SyncCursorAdmin(BigTableAdmin):
    """Where each collector stream stands, read-only."""

    list_display = ("stream", "position", "position_hash", "updated_at")
    search_fields = ("stream",)
    ordering = ("stream",)


@admin.register(CollectorRun)
class CollectorRunAdmin(BigTableAdmin):
    """The collector run log, read-only, under every collector's health (state with its reason, 24 h success
    rate, p50/p95 duration, records per run: ``ledgers.selectors.collector_health_list``)."""

    list_display = ("collector", "started_at", "status", "blocks", "items_seen", "items_written", "events_written",
                    "duration_ms", "error")
    list_filter = ("collector", "status")
    ordering = ("-started_at",)
    actions = ["run_collectors_now"]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        return super().changelist_view(request, {**(extra_context or {}),
                                                 "collector_health": collector_health_list()})

    @admin.action(description="Run the selected runs' collectors now (on the worker)")
    def run_collectors_now(self, request: HttpRequest, queryset: QuerySet[CollectorRun]) -> None:
        for name in sorted(set(queryset.values_list("collector", flat=True))):
            try:
                task = collector_trigger(name=name)
            except UnknownCollector:
                self.message_user(request, f"{name}: no such collector is registered now", messages.WARNING)
            except CollectorNotTriggerable as exc:
                self.message_user(request, f"{name}: {exc}", messages.WARNING)
            else:
                self.message_user(request, f"{name}: queued {task}", messages.SUCCESS)


@admin.register(QualityIssue)
class QualityIssueAdmin(BigTableAdmin):
    """Data-quality issues (``ledgers.quality``), open and closed, read-only: the monitor opens and closes them."""

    list_display = ("severity", "ledger", "kind", "message", "count", "opened_at", "last_seen_at", "closed_at")
    list_filter = ("severity", "ledger", "kind", ("closed_at", admin.EmptyFieldListFilter))
    search_fields = ("key", "message")
    ordering = ("-opened_at",)


@admin.register(QualityReport)
class QualityReportAdmin(BigTableAdmin):
    """The data-quality monitor's runs: scores per ledger, issues and check counts, read-only."""

    list_display = ("computed_at", "score", "duration_ms")
    ordering = ("-computed_at",)
