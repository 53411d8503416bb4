"""``GET /metrics``: Prometheus text exposition of what an operator watches, read from the database and Redis at
scrape time (so every gunicorn worker answers the same, with no per-process counters to merge).

Exposed (prometheus-client's exposition format):
- ``whaletrack_collector_runs_total{collector, ledger, status}``: run-log rows per status, ever;
- ``whaletrack_collector_state{collector, ledger}``: 0 healthy, 1 degraded, 2 failing (``ledgers.selectors``);
- ``whaletrack_collector_stale{collector, ledger}``: 1 when no successful run within its bound;
- ``whaletrack_collector_failures_24h{collector, ledger}``: failed runs in the last 24 h;
- ``whaletrack_collector_duration_ms{collector, ledger, quantile}``: p50 / p95 of the last 24 h's runs;
- ``whaletrack_collector_last_success_timestamp_seconds{collector, ledger}``;
- ``whaletrack_events_total`` / ``whaletrack_events_published_total``: whale events stored / sent to the feed;
- ``whaletrack_quality_score{ledger}``: the latest data-quality score, 0-100, per ledger and ``ledger="system"``;
  ``whaletrack_quality_part{ledger, part}``: its completeness, timeliness and accuracy;
  ``whaletrack_quality_issues{severity}``: its open issues (``ledgers.quality``); absent before the first run;
- ``whaletrack_websocket_connections``: signed-in users' open WebSocket connections (``alerts.connections``'
  leases in Redis; anonymous public-feed clients hold none and are not counted), absent without Redis.

Access (``METRICS_ENABLED``, off by default): 404 while off. When on, a request must carry
``Authorization: Bearer <METRICS_TOKEN>`` or come from an address in ``METRICS_ALLOWED_IPS`` (addresses or
networks, the client address as the throttles see it); with neither set, every request is refused (403), so
turning it on never exposes it by accident.
"""

import hmac
import ipaddress
import logging
import time
from collections.abc import Iterator
from datetime import datetime

import redis
from django.conf import settings
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from alerts.connections import KEY_PREFIX
from ledgers.models import CollectorRun
from ledgers.quality import quality_latest
from ledgers.selectors import HealthState, collector_health_list
from whales.models import WhaleEvent
from whaletrack.auth import client_ip

logger = logging.getLogger(__name__)

STATE_VALUES = {HealthState.HEALTHY: 0, HealthState.DEGRADED: 1, HealthState.FAILING: 2}
MAX_WS_KEYS = 100_000


def _websocket_connections() -> int | None:
    """Open signed-in WebSocket connections: members of the users' lease sets whose lease has not ended; None
    without Redis or when it cannot be read (logged)."""
    if not settings.REDIS_URL:
        return None
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
        now = time.time()
        total = 0
        for n, key in enumerate(client.scan_iter(match=f"{KEY_PREFIX}*", count=1000)):
            if n >= MAX_WS_KEYS:
                break
            total += int(client.zcount(key, now, "+inf"))
        return total
    except redis.RedisError as exc:
        logger.warning("metrics.websocket_connections.unreadable", extra={"error": str(exc)[:200]})
        return None


class WhaleTrackCollector:
    """A prometheus-client custom collector: every metric of the module docstring, computed per scrape."""

    def collect(self) -> Iterator[Metric]:
        health = collector_health_list()
        ledgers = {item["name"]: item["ledger"] for item in health}
        runs = CounterMetricFamily("whaletrack_collector_runs", "Collector runs in the run log, by status.",
                                   labels=["collector", "ledger", "status"])
        for name, status, count in (CollectorRun.objects.filter(collector__in=list(ledgers))
                                    .values_list("collector", "status").annotate(n=Count("id")).order_by()):
            runs.add_metric([name, ledgers[name], status], count)
        yield runs
        state = GaugeMetricFamily("whaletrack_collector_state", "0 healthy, 1 degraded, 2 failing.",
                                  labels=["collector", "ledger"])
        stale = GaugeMetricFamily("whaletrack_collector_stale", "1 when no successful run within its bound.",
                                  labels=["collector", "ledger"])
        failures = GaugeMetricFamily("whaletrack_collector_failures_24h", "Failed runs in the last 24 hours.",
                                     labels=["collector", "ledger"])
        duration = GaugeMetricFamily("whaletrack_collector_duration_ms", "Run duration over the last 24 hours.",
                                     labels=["collector", "ledger", "quantile"])
        success = GaugeMetricFamily("whaletrack_collector_last_success_timestamp_seconds",
                                    "Start of the last successful run (Unix time).", labels=["collector", "ledger"])
        for item in health:
            labels = [item["name"], item["ledger"]]
            state.add_metric(labels, STATE_VALUES[item["state"]])
            stale.add_metric(labels, int(item["is_stale"]))
            failures.add_metric(labels, item["failures_24h"])
            for quantile, value in (("0.5", item["latency_p50_ms"]), ("0.95", item["latency_p95_ms"])):
                if value is not None:
                    duration.add_metric([*labels, quantile], value)
            if item["last_success_at"]:
                success.add_metric(labels, datetime.fromisoformat(item["last_success_at"]).timestamp())
        yield from (state, stale, failures, duration, success)
        yield CounterMetricFamily("whaletrack_events", "Whale events stored.", value=WhaleEvent.objects.count())
        yield CounterMetricFamily("whaletrack_events_published", "Whale events sent to the live feed.",
                                  value=WhaleEvent.objects.filter(published_at__isnull=False).count())
        yield from _quality_metrics()
        connections = _websocket_connections()
        if connections is not None:
            yield GaugeMetricFamily("whaletrack_websocket_connections",
                                    "Signed-in users' open WebSocket connections (anonymous feed clients "
                                    "are not counted).", value=connections)


def _quality_metrics() -> Iterator[Metric]:
    """The latest quality report's scores and open issues (nothing before the first run)."""
    report = quality_latest()
    if report is None:
        return
    score = GaugeMetricFamily("whaletrack_quality_score", "Data-quality score 0-100 (latest run).", labels=["ledger"])
    part = GaugeMetricFamily("whaletrack_quality_part", "Data-quality completeness, timeliness and accuracy 0-100.",
                             labels=["ledger", "part"])
    score.add_metric(["system"], float(report.score))
    for ledger, figures in sorted(report.ledgers.items()):
        score.add_metric([ledger], float(figures["score"]))
        for name in ("completeness", "timeliness", "accuracy"):
            part.add_metric([ledger, name], float(figures[name]))
    issues = GaugeMetricFamily("whaletrack_quality_issues", "Open data-quality issues (latest run).",
                               labels=["severity"])
    for severity in ("high", "medium"):
        issues.add_metric([severity], sum(1 for i in report.issues if i["severity"] == severity))
    yield from (score, part, issues)


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(WhaleTrackCollector())


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    if settings.METRICS_ALLOWED_IPS:
        try:
            address = ipaddress.ip_address(client_ip(request))
        except ValueError:
            return False
        return any(address in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_IPS)
    return False


def metrics(request: HttpRequest) -> HttpResponse:
    """GET /metrics (module docstring): 404 while METRICS_ENABLED is off, 403 without the token or an allowed
    address, else the exposition text."""
    if not settings.METRICS_ENABLED:
        raise Http404("metrics are off (METRICS_ENABLED)")
    if not _allowed(request):
        return HttpResponse("403 Forbidden: send Authorization: Bearer <METRICS_TOKEN> or scrape from an address "
                            "in METRICS_ALLOWED_IPS\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
