"""Celery wrappers for the wallet metrics (all logic is in whales.metrics)."""

from celery import shared_task
from django.conf import settings

from whales.metrics import metrics_recompute, metrics_recompute_all


def _enabled() -> bool:
    # Kill switch: settings.WHALE_METRICS_ENABLED (default on).
    return getattr(settings, "WHALE_METRICS_ENABLED", True)


@shared_task(
    name="whales.recompute_metrics",  # permanent: queued by whales.metrics.metrics_after_trades
    soft_time_limit=50, time_limit=60,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service upserts
)
def recompute_metrics(*, whale_ids: list[int]) -> None:
    """Incremental recompute of ``whale_ids`` after new trades (metrics_recompute)."""
    if _enabled():
        metrics_recompute(whale_ids=whale_ids)


@shared_task(
    name="whales.recompute_all_metrics",  # permanent: PeriodicTask rows store this string
    soft_time_limit=1500, time_limit=1800,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service upserts
)
def recompute_all_metrics() -> None:
    """Beat, hourly (migration 0007): full recompute of every whale (metrics_recompute_all)."""
    if _enabled():
        metrics_recompute_all()
