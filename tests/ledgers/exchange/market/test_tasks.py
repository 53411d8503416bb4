"""market.update_prices: only the wiring (the service is tested in test_prices_update.py)."""

from unittest import mock

import pytest
from django_celery_beat.models import PeriodicTask

from ledgers.exchange.market import tasks
from ledgers.exchange.market.client import CoinGeckoClient, PriceSourceUnavailable

pytestmark = pytest.mark.django_db


def test_update_prices_calls_the_service_with_a_client_from_settings(settings):
    settings.COINGECKO_API_URL = "http://127.0.0.1:9/api/v3"
    with mock.patch.object(tasks, "prices_update", return_value=4) as service:
        tasks.update_prices(days=3)

    service.assert_called_once()
    kwargs = service.call_args.kwargs
    assert kwargs["days"] == 3
    assert isinstance(kwargs["client"], CoinGeckoClient)
    assert kwargs["client"].base_url == "http://127.0.0.1:9/api/v3"


def test_update_prices_does_nothing_when_switched_off(settings):
    settings.MARKET_PRICE_UPDATES_ENABLED = False
    with mock.patch.object(tasks, "prices_update") as service:
        tasks.update_prices()
    service.assert_not_called()


def test_update_prices_is_registered_retryable_and_safe_to_redeliver():
    task = tasks.update_prices
    assert task.name == "market.update_prices"
    assert task.autoretry_for == (PriceSourceUnavailable,)
    assert (task.acks_late, task.reject_on_worker_lost, task.ignore_result) == (True, True, True)
    assert task.max_retries == 3
    assert task.soft_time_limit < task.time_limit


def test_beat_runs_update_prices_every_ten_minutes():
    row = PeriodicTask.objects.get(task="market.update_prices")
    assert (row.name, row.enabled) == ("market: update prices", True)
    assert (row.interval.every, row.interval.period) == (10, "minutes")
    assert row.expire_seconds == 600  # <= interval: a backlog of stale runs is dropped
