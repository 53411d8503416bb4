"""Wiring of the Hyperliquid collector: Celery task, beat row and ``collect hyperliquid``."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from ledgers.glass.hyperliquid import tasks
from ledgers.glass.hyperliquid.client import HyperliquidUnavailable
from tests.ledgers.glass.hyperliquid import recorded
from whales.models import Holding, Trade, Whale

pytestmark = pytest.mark.django_db


def test_the_beat_row_schedules_the_registered_task_every_minute():
    row = PeriodicTask.objects.get(task="hyperliquid.collect_whales")
    assert (row.interval.every, row.interval.period, row.expire_seconds, row.enabled) == (1, "minutes", 60, True)
    assert tasks.collect_whales.name == "hyperliquid.collect_whales"


def test_the_task_collects_and_raises_for_celery_to_retry_when_the_api_is_down(replay, settings):
    settings.HYPERLIQUID_API_URL = replay.hyperliquid_url
    settings.HYPERLIQUID_WEIGHT_BUDGET = "1000000/minute"
    settings.HYPERLIQUID_RETRIES = 0
    Whale.objects.create(chain="hyperliquid", address=recorded.POSITIONS_USER)
    tasks.collect_whales.run()
    assert Holding.objects.filter(is_perp=True).count() == 12
    replay.faults.add("/hyperliquid/info", status=503)
    with pytest.raises(HyperliquidUnavailable, match="HTTP 503"):
        tasks.collect_whales.run()


def test_bridge_discovery_has_its_own_task_and_hourly_beat_row():
    row = PeriodicTask.objects.get(task="hyperliquid.discover_bridge_whales")
    assert (row.interval.every, row.interval.period, row.expire_seconds, row.enabled) == (1, "hours", 3600, True)
    assert tasks.discover_bridge_whales.name == "hyperliquid.discover_bridge_whales"


def test_collect_command_for_one_whale(replay, settings):
    settings.HYPERLIQUID_WEIGHT_BUDGET = "1000000/minute"
    Whale.objects.create(chain="hyperliquid", address=recorded.FILLS_USER)
    Whale.objects.create(chain="hyperliquid", address=recorded.LEDGER_USER)
    out = StringIO()
    call_command("collect", "hyperliquid", "--address", recorded.LEDGER_USER, "--api-url", replay.hyperliquid_url,
                 stdout=out)
    assert f"{recorded.LEDGER_USER} (1/1): ok" in out.getvalue()
    assert set(Trade.objects.values_list("whale__address", flat=True)) == {recorded.LEDGER_USER}
    with pytest.raises(CommandError, match="not a tracked Hyperliquid whale"):
        call_command("collect", "hyperliquid", "--address", "0x" + "1" * 40)
