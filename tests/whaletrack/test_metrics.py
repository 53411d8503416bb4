"""``GET /metrics``: off by default, protected when on, and its figures equal the database's, read back with
prometheus-client's own parser."""

import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from alerts.connections import KEY_PREFIX
from tests.ledgers.factories import CollectorRunFactory
from tests.requirements import require
from tests.whales.factories import WhaleEventFactory
from whales.models import RunStatus

pytestmark = pytest.mark.django_db
TOKEN = "scrape-secret-0123456789"


def samples(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(body.decode()) for s in family.samples}


@pytest.fixture
def metrics_on(settings, only_test_collector):
    settings.METRICS_ENABLED = True
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_IPS = []
    return settings


def test_off_by_default_it_is_not_there(client):
    assert django_settings.METRICS_ENABLED is False
    assert client.get("/metrics").status_code == 404


def test_on_without_a_token_or_an_allowed_address_it_refuses(client, metrics_on):
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
    metrics_on.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403  # on, but nothing set


def test_an_allowed_network_may_scrape_without_the_token(client, metrics_on):
    metrics_on.METRICS_TOKEN = ""
    metrics_on.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics").status_code == 403  # the test client is 127.0.0.1
    metrics_on.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200


def test_the_figures_are_the_databases(client, metrics_on):
    now = timezone.now()
    for minutes, status, duration in ((30, RunStatus.OK, 100), (20, RunStatus.OK, 300), (10, RunStatus.FAILED, 900),
                                      (1, RunStatus.OK, 200)):
        started = now - timedelta(minutes=minutes)
        CollectorRunFactory(started_at=started, finished_at=started, status=status, duration_ms=duration)
    events = WhaleEventFactory.create_batch(3)
    events[0].published_at = now
    events[0].save()
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")
    figures = samples(answer.content)
    labels = (("collector", "test.collector"), ("ledger", "glass"))
    assert figures[("whaletrack_collector_runs_total", (*labels, ("status", "ok")))] == 3
    assert figures[("whaletrack_collector_runs_total", (*labels, ("status", "failed")))] == 1
    assert figures[("whaletrack_collector_failures_24h", labels)] == 1
    assert figures[("whaletrack_collector_duration_ms", (*labels, ("quantile", "0.5")))] == 200  # 2nd of 4
    assert figures[("whaletrack_collector_duration_ms", (*labels, ("quantile", "0.95")))] == 900
    assert figures[("whaletrack_collector_state", labels)] == 1  # fresh, but 3 of 4 ok (75 % < 90 %): degraded
    assert figures[("whaletrack_collector_stale", labels)] == 0
    assert figures[("whaletrack_events_total", ())] == 3
    assert figures[("whaletrack_events_published_total", ())] == 1
    assert figures[("whaletrack_collector_last_success_timestamp_seconds", labels)] == pytest.approx(
        (now - timedelta(minutes=1)).timestamp(), abs=1e-3)


def test_signed_in_websocket_connections_are_counted_from_their_leases(client, metrics_on):
    require(bool(django_settings.REDIS_URL), "REDIS_URL (Redis) for the WebSocket leases")
    store = redis.Redis.from_url(django_settings.REDIS_URL)
    keys = [f"{KEY_PREFIX}metrics-test-{n}" for n in range(2)]
    try:
        store.zadd(keys[0], {"a": time.time() + 60, "b": time.time() + 60, "gone": time.time() - 1})
        store.zadd(keys[1], {"c": time.time() + 60})
        before = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)
        assert before[("whaletrack_websocket_connections", ())] >= 3
        store.delete(keys[1])
        after = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)
        assert before[("whaletrack_websocket_connections", ())] - after[("whaletrack_websocket_connections", ())] == 1
    finally:
        store.delete(*keys)


def test_quality_scores_are_the_latest_reports(client, metrics_on):
    from ledgers.quality import quality_run

    assert not any(name.startswith("whaletrack_quality")
                   for name, _ in samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content))
    report = quality_run().report
    figures = samples(client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").content)
    assert figures[("whaletrack_quality_score", (("ledger", "system"),))] == float(report.score)
    for ledger, parts in report.ledgers.items():
        assert figures[("whaletrack_quality_score", (("ledger", ledger),))] == float(parts["score"])
        for part in ("completeness", "timeliness", "accuracy"):
            assert figures[("whaletrack_quality_part", (("ledger", ledger), ("part", part)))] == float(parts[part])
    for severity in ("high", "medium"):
        assert figures[("whaletrack_quality_issues", (("severity", severity),))] == len(
            [i for i in report.issues if i["severity"] == severity])
    assert figures[("whaletrack_quality_issues", (("severity", "high"),))] >= 4  # empty: every ledger lacks data
