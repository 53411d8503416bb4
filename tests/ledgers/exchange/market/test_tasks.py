"""market.update_prices: only the wiring (the service is tested in test_prices_update.py)."""

from unittest import mock

import pytest
from django_celery_beat.models import PeriodicTask

from ledgers.exchange.market import services, tasks
from ledgers.exchange.market.client import CoinGeckoClient, PriceSourceUnavailable
from ledgers.models import CollectorRun

pytestmark = pytest.mark.django_db


def test_update_prices_calls_the_service_with_a_client_from_settings(settings):
    settings.COINGECKO_API_URL = "http://127.0.0.1:9/api/v3"
    with mock.patch.object(services, "prices_update", return_value=4) as service:
        tasks.update_prices(days=3)

    service.assert_called_once()
    kwargs = service.call_args.kwargs
    assert kwargs["days"] == 3
    assert isinstance(kwargs["client"], CoinGeckoClient)
    assert kwargs["client"].base_url == "http://127.0.0.1:9/api/v3"
    assert list(CollectorRun.objects.values_list("collector", "status", "items_written")) == [("market", "ok", 4)]


def test_update_prices_raises_for_celery_to_retry_when_the_source_is_unavailable(settings):
    settings.COINGECKO_API_URL = "http://127.0.0.1:9/api/v3"
    down = PriceSourceUnavailable("GET coins/ethereum/market_chart: HTTP 503 after retries")
    with mock.patch.object(services, "prices_update", side_effect=down), pytest.raises(PriceSourceUnavailable):
        tasks.update_prices()
    run = CollectorRun.objects.get()
    assert (run.collector, run.status, run.error) == ("market", "failed", f"PriceSourceUnavailable: {down}")


def test_update_prices_does_nothing_when_switched_off(settings):
    settings.MARKET_PRICE_UPDATES_ENABLED = False
    with mock.patch.object(services, "prices_update") as service:
        tasks.update_prices()
    service.assert_not_called()


def test_update_prices_is_registered_retryable_and_safe_to_redeliver():
    task = tasks.update_prices
    assert task.name == "market.update_prices"
    assert issubclass(PriceSourceUnavailable, task.autoretry_for)
    assert (task.acks_late, task.reject_on_worker_lost, task.ignore_result) == (True, True, True)
    assert task.max_retries == 3
    assert task.soft_time_limit < task.time_limit


def test_beat_runs_update_prices_every_ten_minutes():
    row = PeriodicTask.objects.get(task="market.update_prices")
    assert (row.name, row.enabled) == ("market: update prices", True)
    assert (row.interval.every, row.interval.period) == (10, "minutes")
    assert row.expire_seconds == 600  # <= interval: a backlog of stale runs is dropped
