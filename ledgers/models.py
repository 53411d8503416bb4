"""Collector bookkeeping shared by every ledger: where each stream stands, and the run log."""

from django.db import models
from django.utils import timezone

from whales.models import RunStatus


class SyncCursor(models.Model):
    """Where a collector stream stands: a block number (or time, or height) and its hash.

    Moved by compare-and-set in the same transaction as the rows it covers (``ledgers.runlog``).
    """

    stream = models.CharField(max_length=200, unique=True)
    position = models.BigIntegerField(help_text="Next block/height/time to read.")
    position_hash = models.CharField(max_length=100, blank=True, help_text="Hash of the last block read.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.stream} @ {self.position}"


class CollectorRun(models.Model):
    """One run of a collector: what it read and wrote, how long it took and why it failed."""

    collector = models.CharField(max_length=100)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    from_position = models.BigIntegerField(null=True, blank=True)
    to_position = models.BigIntegerField(null=True, blank=True)
    blocks = models.IntegerField(default=0)
    items_seen = models.IntegerField(default=0)
    items_written = models.IntegerField(default=0)
    details = models.JSONField(default=dict, blank=True, help_text="What the run used or found (its own keys).")
    events_written = models.IntegerField(default=0)
    error = models.TextField(blank=True)
    duration_ms = models.IntegerField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["collector", "-started_at"], name="run_collector_time")]

    def __str__(self) -> str:
        return f"{self.collector} {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"
