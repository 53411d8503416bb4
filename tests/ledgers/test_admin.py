"""Admin of the collector kit: the run log and the stream cursors, read-only."""

import pytest
from django.urls import reverse

from ledgers.models import SyncCursor
from tests.ledgers.factories import CollectorRunFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["synccursor", "collectorrun", "qualityissue", "qualityreport"])
def test_changelists_load(admin_client, name):
    assert admin_client.get(reverse(f"admin:ledgers_{name}_changelist")).status_code == 200


def test_the_run_log_and_cursors_are_read_only(admin_client):
    run = CollectorRunFactory(error="")
    cursor = SyncCursor.objects.create(stream="ethereum.blocks", position=5)
    assert admin_client.get(reverse("admin:ledgers_collectorrun_add")).status_code == 403
    admin_client.post(reverse("admin:ledgers_collectorrun_change", args=[run.pk]), {"error": "edited"})
    admin_client.post(reverse("admin:ledgers_synccursor_change", args=[cursor.pk]), {"position": 9})
    run.refresh_from_db()
    cursor.refresh_from_db()
    assert (run.error, cursor.position) == ("", 5)


def test_the_run_log_shows_each_collectors_health_above_it(admin_client):
    from datetime import timedelta

    from django.utils import timezone
    from django.utils.html import escape

    from ledgers.registry import collector_names
    from ledgers.selectors import collector_health_list

    now = timezone.now()
    for minutes, status, duration in ((30, "ok", 100), (20, "ok", 300), (10, "failed", 900), (1, "ok", 200)):
        CollectorRunFactory(collector="ethereum", started_at=now - timedelta(minutes=minutes),
                            finished_at=now - timedelta(minutes=minutes), status=status, duration_ms=duration)
    page = admin_client.get(reverse("admin:ledgers_collectorrun_changelist")).content.decode()
    table = page.split('<table id="collector-health">', 1)[1].split("</table>", 1)[0]
    assert table.count("<tr data-collector=") == len(collector_names())
    row = table.split('<tr data-collector="ethereum">', 1)[1].split("</tr>", 1)[0]
    health = next(item for item in collector_health_list() if item["name"] == "ethereum")
    assert (health["state"], health["latency_p50_ms"], health["latency_p95_ms"]) == ("degraded", 200, 900)
    assert "<strong>degraded</strong>" in row and "75 %" in row and "200 / 900" in row
    assert escape(health["state_reason"]) in row
