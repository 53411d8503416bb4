"""Admin of the collector kit: the run log and the stream cursors, read-only."""

import pytest
from django.urls import reverse

from ledgers.models import SyncCursor
from tests.ledgers.factories import CollectorRunFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["synccursor", "collectorrun"])
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
