"""Admin of the collector bookkeeping: stream cursors and the run log, read-only; an action on the run log
runs collectors now on the worker."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from ledgers.models import CollectorRun, SyncCursor
from ledgers.registry import UnknownCollector
from ledgers.runlog import CollectorNotTriggerable, collector_trigger
from whales.admin import BigTableAdmin


@admin.register(SyncCursor)
class SyncCursorAdmin(BigTableAdmin):
    """Where each collector stream stands, read-only."""

    list_display = ("stream", "position", "position_hash", "updated_at")
    search_fields = ("stream",)
    ordering = ("stream",)


@admin.register(CollectorRun)
class CollectorRunAdmin(BigTableAdmin):
    """The collector run log, read-only."""

    list_display = ("collector", "started_at", "status", "blocks", "items_seen", "items_written", "events_written",
                    "duration_ms", "error")
    list_filter = ("collector", "status")
    ordering = ("-started_at",)
    actions = ["run_collectors_now"]

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
