"""Wiring of the Bitcoin address collector's Celery task and its beat row."""

import pytest
from django_celery_beat.models import PeriodicTask

from ledgers.glass.bitcoin import tasks
from ledgers.glass.bitcoin.client import EsploraUnavailable
from ledgers.models import CollectorRun
from tests.ledgers.glass.bitcoin import recorded
from whales.models import RunStatus, Trade, Whale

pytestmark = pytest.mark.django_db


def test_the_beat_row_schedules_the_registered_task_every_5_minutes():
    row = PeriodicTask.objects.get(task="bitcoin.collect_addresses")
    assert (row.interval.every, row.interval.period, row.expire_seconds, row.enabled) == (5, "minutes", 300, True)
    assert tasks.collect_addresses.name == "bitcoin.collect_addresses"


def test_the_task_collects_from_the_configured_source(replay, settings):
    settings.BITCOIN_API_URL = replay.bitcoin_url
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    tasks.collect_addresses.run()
    assert Trade.objects.count() == len(recorded.exposed("satoshi-genesis-txs.json"))


def test_the_task_raises_for_celery_to_retry_when_the_source_is_down(replay, settings):
    settings.BITCOIN_API_URL = replay.bitcoin_url
    settings.BITCOIN_API_RETRIES = 0
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    replay.faults.add("/bitcoin/api/", status=503)
    with pytest.raises(EsploraUnavailable, match="HTTP 503"):
        tasks.collect_addresses.run()
    assert not Trade.objects.exists()


def test_a_partial_run_does_not_retry(replay, settings):
    settings.BITCOIN_API_URL = replay.bitcoin_url
    Whale.objects.create(chain="bitcoin", address="1BoatSLRHtKNngkdXEeobR76b53LETtpyT")  # not in the recordings
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    tasks.collect_addresses.run()
    assert CollectorRun.objects.get(collector="bitcoin").status == RunStatus.PARTIAL
