"""The collectors API and the dashboard summary under /api/v1/, and the dashboard page (PostgreSQL, real
URLs, APIClient)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.api import assert_error
from tests.ledgers.factories import CollectorRunFactory
from tests.whales.factories import EntityFactory, TradeFactory, WhaleEventFactory, WhaleFactory
from whales.chains import Chain
from whales.models import RunStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("only_test_collector")]

API = "/api/v1"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_throttle():
    cache.clear()
    yield
    cache.clear()


# --- dashboard/summary --------------------------------------------------------------------------


def test_dashboard_summary_counts_the_last_24h(api_client):
    now = timezone.now()
    eth = WhaleFactory()
    hl = WhaleFactory(chain=Chain.HYPERLIQUID)
    WhaleFactory(chain=Chain.HYPERLIQUID, is_tracked=False)
    TradeFactory(whale=eth, block_time=now - timedelta(hours=1), value_usd=Decimal("1000.25"))
    TradeFactory(whale=eth, block_time=now - timedelta(hours=2), value_usd=Decimal("0.00000001"))
    TradeFactory(whale=hl, block_time=now - timedelta(hours=3), value_usd=Decimal("5"), is_internal=True)
    TradeFactory(whale=hl, block_time=now - timedelta(hours=30), value_usd=Decimal("7"))
    WhaleEventFactory(whale=eth, block_time=now - timedelta(hours=1))
    WhaleEventFactory(whale=eth, block_time=now - timedelta(hours=25))
    CollectorRunFactory(started_at=now - timedelta(minutes=1), duration_ms=1200)

    response = api_client.get(f"{API}/dashboard/summary")

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in ("total_tracked_whales", "active_whales_24h", "total_volume_24h_usd",
                                  "hyperliquid_whales", "events_24h")} == {
        "total_tracked_whales": 2,
        "active_whales_24h": 2,
        "total_volume_24h_usd": "1000.25000001",
        "hyperliquid_whales": 1,
        "events_24h": 1,
    }
    assert [(c["name"], c["last_status"], c["is_stale"], c["runs_24h"], c["last_duration_ms"])
            for c in body["collectors"]] == [("test.collector", "ok", False, 1, 1200)]
    assert body["activity_stale"] is False


def test_dashboard_summary_flags_activity_older_than_the_window(api_client):
    latest = timezone.now() - timedelta(hours=30)
    TradeFactory(whale=WhaleFactory(), block_time=latest, value_usd=Decimal("7"))
    body = api_client.get(f"{API}/dashboard/summary").json()
    assert (body["activity_stale"], body["latest_block_time"], body["window_end"]) == (
        True, latest.isoformat().replace("+00:00", "Z"), latest.isoformat().replace("+00:00", "Z"))
    assert (body["active_whales_24h"], body["total_volume_24h_usd"]) == (1, "7.00000000")


# --- collectors -------------------------------------------------------------------------------


def test_collectors_health_lists_registered_collectors(api_client, staff_user):
    now = timezone.now()
    CollectorRunFactory(started_at=now - timedelta(hours=2), status=RunStatus.OK)
    CollectorRunFactory(started_at=now - timedelta(minutes=1), status=RunStatus.FAILED, error="boom",
                        duration_ms=15)
    CollectorRunFactory(collector="unregistered", started_at=now)
    response = api_client.get(f"{API}/collectors/health")
    assert response.status_code == 200
    [item] = response.json()["items"]
    assert item == {
        "name": "test.collector", "description": "Test collector",
        "last_run_at": (now - timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
        "last_success_at": (now - timedelta(hours=2)).isoformat().replace("+00:00", "Z"),
        "last_status": "failed", "last_error": "failed (the detail is shown to staff only)",
        "last_duration_ms": 15, "runs_24h": 2, "failures_24h": 1, "stale_after_s": 600, "is_stale": True,
        "live": None, "ledger": "glass", "success_rate_24h": None, "latency_p50_ms": None, "latency_p95_ms": None,
        "records_per_run_24h": None, "state": "failing", "state_reason": "stale, and its last run failed",
    }
    api_client.force_authenticate(staff_user)  # staff read the error itself
    assert api_client.get(f"{API}/collectors/health").json()["items"][0]["last_error"] == "boom"


def test_collector_health_figures_and_state_over_the_last_24_hours(api_client):
    now = timezone.now()
    durations = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
    statuses = [RunStatus.OK] * 8 + [RunStatus.PARTIAL, RunStatus.FAILED]
    for n, (duration, status) in enumerate(zip(durations, statuses, strict=True)):
        started = now - timedelta(minutes=10 - n)
        CollectorRunFactory(started_at=started, finished_at=started + timedelta(milliseconds=duration),
                            duration_ms=duration, status=status, items_written=n)
    CollectorRunFactory(started_at=now - timedelta(hours=30), finished_at=now - timedelta(hours=30),
                        duration_ms=99_999, status=RunStatus.FAILED)  # older than 24 h: not counted
    [item] = api_client.get(f"{API}/collectors/health").json()["items"]
    assert item["success_rate_24h"] == 0.9  # ok or partial: 9 of 10
    assert (item["latency_p50_ms"], item["latency_p95_ms"]) == (500, 1000)  # nearest rank: 5th and 10th of 10
    assert item["records_per_run_24h"] == 4.5
    # The last run failed, but one ended ok 3 minutes ago: not stale, so degraded by the last run.
    assert (item["is_stale"], item["state"], item["state_reason"]) == (False, "degraded", "its last run was failed")


@pytest.mark.parametrize(("is_stale", "last_status", "rate", "state"), [
    (True, None, None, "failing"), (True, "failed", 1.0, "failing"), (False, "ok", 0.49, "failing"),
    (True, "ok", 0.95, "degraded"), (False, "partial", 1.0, "degraded"), (False, "ok", 0.89, "degraded"),
    (False, "ok", 0.9, "healthy"), (False, "ok", None, "healthy"),
])
def test_collector_state_rules(is_stale, last_status, rate, state):
    from ledgers.selectors import collector_state

    assert collector_state(is_stale=is_stale, last_status=last_status, success_rate=rate)[0] == state


def test_collector_detail_has_health_and_20_newest_runs(api_client):
    runs = [CollectorRunFactory(started_at=T0 + timedelta(minutes=n), items_written=n) for n in range(25)]
    CollectorRunFactory(collector="other", started_at=T0 + timedelta(hours=1))
    response = api_client.get(f"{API}/collectors/test.collector")
    assert response.status_code == 200
    body = response.json()
    assert (body["name"], body["last_status"], body["is_stale"]) == ("test.collector", "ok", True)
    assert [run["id"] for run in body["runs"]] == [r.id for r in reversed(runs[5:])]
    assert body["runs"][0] == {
        "id": runs[24].id, "started_at": "2026-11-20T12:24:00Z", "finished_at": None, "status": "ok",
        "from_position": None, "to_position": None, "blocks": 0, "items_seen": 0, "items_written": 24,
        "events_written": 0, "error": "", "duration_ms": None, "details": {},
    }


def test_unknown_collector_is_404(api_client):
    assert_error(api_client.get(f"{API}/collectors/nope"), 404, "not_found")




def test_dashboard_page_renders_summary_events_whales_and_collectors(client):
    now = timezone.now()
    whale = WhaleFactory(name="Jump 1", entity=EntityFactory(name="Jump Trading"),
                         last_active_at=now - timedelta(hours=1))
    WhaleFactory(name="Never active")
    TradeFactory(whale=whale, block_time=now - timedelta(hours=1), value_usd=Decimal("1234567.891"))
    WhaleEventFactory(whale=whale, block_time=now - timedelta(hours=1), summary="Jump 1 moved 500 ETH",
                      value_usd=Decimal("1234567.891"))
    WhaleEventFactory.create_batch(20, whale=None, block_time=now - timedelta(days=2), summary="older event")
    CollectorRunFactory(started_at=now - timedelta(minutes=1))

    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="card-value" id="total-tracked-whales">2</span>' in html
    assert '<span class="card-value" id="active-whales-24h">1</span>' in html
    assert '<span class="card-value" id="total-volume-24h-usd">$1,234,567.89</span>' in html
    assert '<span class="card-value" id="events-24h">1</span>' in html
    assert "Jump 1 moved 500 ETH" in html
    assert html.count("older event") == 19  # 20 newest events: 1 recent + 19 of the older ones
    assert f'href="/wallets/ethereum/{whale.address}/">Jump 1</a>' in html  # the wallet page
    assert "Never active" not in html
    assert "Jump Trading" in html
    assert 'href="/api/v1/collectors/test.collector">test.collector</a>' in html
    assert "badge-fresh" in html
    for link in ('href="/admin/"', 'href="/api/docs/"', 'href="/api/v1/whales"'):
        assert link in html
    assert "/static/whaletrack/dashboard.css" in html


# --- trigger ------------------------------------------------------------------------------------


def test_trigger_queues_the_collectors_task_once_the_request_commits(staff_user, api_client, broker_queue,
                                                                     django_capture_on_commit_callbacks):
    api_client.force_authenticate(staff_user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post(f"{API}/collectors/test.collector/trigger")
    assert (response.status_code, response.json()) == (202, {"collector": "test.collector", "task": "tests.collect"})
    assert len(callbacks) == 1
    assert broker_queue() == ["tests.collect"]


@pytest.mark.parametrize("who", ["anonymous", "analyst"])
def test_trigger_is_staff_only_and_queues_nothing(who, user, api_client, broker_queue,
                                                  django_capture_on_commit_callbacks):
    if who == "analyst":
        api_client.force_authenticate(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post(f"{API}/collectors/test.collector/trigger")
    # Token auth comes first (issue 17): an anonymous caller is 401 not_authenticated with a WWW-Authenticate
    # challenge; a signed-in non-staff caller is 403.
    if who == "anonymous":
        assert_error(response, 401, "not_authenticated")
        assert response["WWW-Authenticate"] == "Token"
    else:
        assert_error(response, 403, "permission_denied")
    assert broker_queue() == []


def test_trigger_of_an_unknown_collector_is_404_and_of_a_monitor_409(staff_user, api_client, only_test_collector,
                                                                     monkeypatch, broker_queue,
                                                                     django_capture_on_commit_callbacks):
    import dataclasses

    import ledgers.registry

    monkeypatch.setitem(ledgers.registry._REGISTRY, "monitor", dataclasses.replace(only_test_collector, name="monitor",
                                                                                    task=""))
    api_client.force_authenticate(staff_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert_error(api_client.post(f"{API}/collectors/nope/trigger"), 404, "not_found")
        detail = assert_error(api_client.post(f"{API}/collectors/monitor/trigger"), 409, "not_triggerable")
    assert "long-running monitor" in detail
    assert broker_queue() == []


def test_the_run_log_admin_action_queues_each_selected_collector_once(admin_client, broker_queue,
                                                                      django_capture_on_commit_callbacks):
    runs = [CollectorRunFactory(), CollectorRunFactory(), CollectorRunFactory(collector="gone")]
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/ledgers/collectorrun/", {
            "action": "run_collectors_now", "_selected_action": [r.pk for r in runs]}, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert messages == ["gone: no such collector is registered now", "test.collector: queued tests.collect"]
    assert broker_queue() == ["tests.collect"]
