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


class QualitySeverity(models.TextChoices):
    """How much a data-quality issue matters: high raises a ``data_quality`` event and staff alerts."""

    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"


class QualityReport(models.Model):
    """One run of the data-quality monitor (``ledgers.quality``): scores 0-100 of the system and of each
    ledger with its parts, the issues found, and what each accuracy check counted.

    ``ledgers``: {ledger: {"score", "completeness", "timeliness", "accuracy"}} (numbers as strings, one
    decimal); ``issues``: the issues open after the run (``QualityIssue`` fields); ``checks``: {check:
    {"ledger", "severity", "checked", "failed"}}.
    """

    computed_at = models.DateTimeField(default=timezone.now)
    score = models.DecimalField(max_digits=4, decimal_places=1)
    ledgers = models.JSONField(default=dict)
    issues = models.JSONField(default=list)
    checks = models.JSONField(default=dict)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["-computed_at"], name="qualityreport_time")]

    def __str__(self) -> str:
        return f"quality {self.score} at {self.computed_at:%Y-%m-%d %H:%M:%S}"


class QualityIssue(models.Model):
    """A data-quality problem from the moment a run first finds it (``opened_at``) until a run no longer
    does (``closed_at``). ``key`` names what is wrong ("timeliness:ethereum", "accuracy:event_without_trade");
    at most one open issue per key. ``event_id``: the ``data_quality`` WhaleEvent raised when it was (or
    became) high; None while it has not been."""

    key = models.CharField(max_length=200)
    ledger = models.CharField(max_length=20)
    kind = models.CharField(max_length=20, help_text="completeness, timeliness or accuracy")
    severity = models.CharField(max_length=10, choices=QualitySeverity.choices)
    message = models.CharField(max_length=500)
    action = models.CharField(max_length=500, help_text="What to do about it")
    count = models.PositiveIntegerField(default=0, help_text="Rows or collectors found at fault")
    examples = models.JSONField(default=list, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key"], condition=models.Q(closed_at__isnull=True),
                                               name="qualityissue_open_key")]
        indexes = [models.Index(fields=["-opened_at"], name="qualityissue_opened")]

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"
