"""Serializers of the collectors API and the dashboard summary (``/api/v1/collectors/...``,
``/api/v1/dashboard/summary``)."""

from rest_framework import serializers

from ledgers.models import CollectorRun
from whales.api.serializers import IsoDateTimeField


class CollectorHealthSerializer(serializers.Serializer):
    """Freshness of one collector (``whales.selectors.collector_health_list`` item)."""

    name = serializers.CharField()
    description = serializers.CharField()
    last_run_at = IsoDateTimeField(allow_null=True)
    last_success_at = IsoDateTimeField(allow_null=True)
    last_status = serializers.CharField(allow_null=True)
    last_error = serializers.CharField(allow_blank=True)
    last_duration_ms = serializers.IntegerField(allow_null=True)
    runs_24h = serializers.IntegerField()
    failures_24h = serializers.IntegerField()
    stale_after_s = serializers.IntegerField()
    is_stale = serializers.BooleanField(
        help_text="No successful run within stale_after_s; for a long-running monitor: not connected or "
                  "no message within stale_after_s.")
    ledger = serializers.CharField(help_text="glass, human, catalyst or exchange.")
    success_rate_24h = serializers.FloatField(
        allow_null=True, help_text="Share (0-1) of the last 24 h's finished runs that ended ok or partial.")
    latency_p50_ms = serializers.IntegerField(allow_null=True, help_text="Median run duration over 24 h (ms).")
    latency_p95_ms = serializers.IntegerField(allow_null=True, help_text="95th percentile (nearest rank), ms.")
    records_per_run_24h = serializers.FloatField(allow_null=True, help_text="Mean records written per run, 24 h.")
    state = serializers.ChoiceField(
        choices=["healthy", "degraded", "failing"],
        help_text="failing: stale with a failed (or no) last run, or under 50 % of 24 h's runs succeeded; degraded: "
                  "stale, a partial or failed last run, or under 90 % succeeded; healthy otherwise.")
    state_reason = serializers.CharField(help_text="Which rule decided the state.")
    live = serializers.DictField(
        allow_null=True, default=None,
        help_text="Long-running collectors (the mempool monitor): the running process's statistics "
                  "(connected, last_message_age_s, messages, whales, duplicates_skipped, reconnects, ...); "
                  "null when no such process is running, and for run-based collectors.")


class CollectorHealthListSerializer(serializers.Serializer):
    items = CollectorHealthSerializer(many=True)


class CollectorRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = CollectorRun
        fields = ["id", "started_at", "finished_at", "status", "from_position", "to_position", "blocks",
                  "items_seen", "items_written", "events_written", "error", "duration_ms", "details"]
        read_only_fields = fields


class CollectorDetailSerializer(CollectorHealthSerializer):
    runs = CollectorRunSerializer(many=True, help_text="The 20 newest runs, newest first.")


class DashboardSummarySerializer(serializers.Serializer):
    """Headline figures; "24h" ends at ``window_end`` (now, or the newest recorded activity offline)."""

    total_tracked_whales = serializers.IntegerField()
    active_whales_24h = serializers.IntegerField()
    total_volume_24h_usd = serializers.DecimalField(max_digits=38, decimal_places=8)
    hyperliquid_whales = serializers.IntegerField()
    events_24h = serializers.IntegerField()
    window_end = IsoDateTimeField()
    latest_block_time = IsoDateTimeField(allow_null=True)
    activity_stale = serializers.BooleanField(
        help_text="True when no activity is stored from the last 24 h (or none at all): the 24h figures then "
                  "cover the 24 h before latest_block_time.")
    collectors = CollectorHealthSerializer(many=True)


class CollectorTriggerSerializer(serializers.Serializer):
    """What ``POST collectors/{name}/trigger`` queued."""

    collector = serializers.CharField()
    task = serializers.CharField(help_text="The Celery task enqueued on the worker.")


class QualityLedgerSerializer(serializers.Serializer):
    """One ledger's quality: its score and the three parts, 0-100 with one decimal (strings)."""

    score = serializers.CharField()
    completeness = serializers.CharField()
    timeliness = serializers.CharField()
    accuracy = serializers.CharField()


class QualityIssueSerializer(serializers.Serializer):
    """An open data-quality issue (``ledgers.quality``)."""

    key = serializers.CharField()
    ledger = serializers.CharField()
    kind = serializers.ChoiceField(choices=["completeness", "timeliness", "accuracy"])
    severity = serializers.ChoiceField(choices=["high", "medium"])
    message = serializers.CharField()
    action = serializers.CharField(help_text="What to do about it.")
    count = serializers.IntegerField()
    examples = serializers.ListField(child=serializers.CharField(), help_text="Up to 5 faulty rows' ids or keys.")
    opened_at = IsoDateTimeField(allow_null=True)


class QualityCheckSerializer(serializers.Serializer):
    """What one accuracy check counted in the run."""

    ledger = serializers.CharField()
    severity = serializers.CharField()
    description = serializers.CharField()
    checked = serializers.IntegerField()
    failed = serializers.IntegerField()


class QualityReportSerializer(serializers.Serializer):
    """The latest data-quality run: score = 0.30 completeness + 0.40 timeliness + 0.30 accuracy per ledger, the
    system's the mean of the four (definitions: ``ledgers.quality``)."""

    computed_at = IsoDateTimeField()
    score = serializers.DecimalField(max_digits=4, decimal_places=1)
    weights = serializers.DictField(child=serializers.CharField())
    ledgers = serializers.DictField(child=QualityLedgerSerializer())
    issues = QualityIssueSerializer(many=True)
    checks = serializers.DictField(child=QualityCheckSerializer())
    duration_ms = serializers.IntegerField()
