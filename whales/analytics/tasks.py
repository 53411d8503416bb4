"""Celery wrappers for wallet metrics, classification and scoring (all logic is in whales.analytics.metrics,
whales.analytics.classification and whales.analytics.scoring)."""

from celery import shared_task
from django.conf import settings

from whales.analytics.classification import whales_classify
from whales.analytics.flows import flows_collect
from whales.analytics.metrics import metrics_recompute, metrics_recompute_all, metrics_recompute_pending
from whales.analytics.scoring import scoring_run


def _enabled() -> bool:
    # Kill switch: settings.WHALE_METRICS_ENABLED (default on).
    return getattr(settings, "WHALE_METRICS_ENABLED", True)


@shared_task(
    name="whales.recompute_metrics",  # permanent: recompute given whales now (queued by hand or by scripts)
    soft_time_limit=50, time_limit=60,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service upserts
)
def recompute_metrics(*, whale_ids: list[int]) -> None:
    """Recompute ``whale_ids`` now (metrics_recompute)."""
    if _enabled():
        metrics_recompute(whale_ids=whale_ids)


@shared_task(
    name="whales.recompute_pending_metrics",  # permanent: queued by metrics_mark_pending and its beat row
    soft_time_limit=540, time_limit=600,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: marks go only once stored
)
def recompute_pending_metrics() -> None:
    """After trades changed (metrics_mark_pending, debounced by WHALE_METRICS_DEBOUNCE_S) and on its beat
    row every minute (migration 0013): recompute the whales pending at least that long."""
    if _enabled():
        metrics_recompute_pending(debounce_s=settings.WHALE_METRICS_DEBOUNCE_S)


@shared_task(
    name="whales.recompute_all_metrics",  # permanent: PeriodicTask rows store this string
    soft_time_limit=1500, time_limit=1800,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service upserts
)
def recompute_all_metrics() -> None:
    """Beat, hourly (migration 0007): full recompute of every whale (metrics_recompute_all)."""
    if _enabled():
        metrics_recompute_all()


@shared_task(
    name="whales.score_wallets",  # permanent: PeriodicTask rows store this string
    soft_time_limit=600, time_limit=660,  # under the 15-minute interval; the run records itself as failed
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: runs never overlap (lock)
)
def score_wallets() -> None:
    """Beat, every 15 minutes (migration 0009): the smart-money scoring run (whales.analytics.scoring.scoring_run)."""
    # Kill switch: settings.WHALE_SCORING_ENABLED (default on).
    if getattr(settings, "WHALE_SCORING_ENABLED", True):
        scoring_run(batch_size=getattr(settings, "WHALE_SCORING_BATCH_SIZE", 50))


@shared_task(
    name="whales.classify_whales",  # permanent: PeriodicTask rows store this string
    soft_time_limit=1500, time_limit=1800,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service overwrites
)
def classify_whales() -> None:
    """Beat, daily (migration 0009): classify every whale (whales.analytics.classification.whales_classify)."""
    # Kill switch: settings.WHALE_CLASSIFICATION_ENABLED (default on).
    if getattr(settings, "WHALE_CLASSIFICATION_ENABLED", True):
        whales_classify()


@shared_task(
    name="whales.collect_flows",  # permanent: PeriodicTask rows store this string
    soft_time_limit=240, time_limit=300,
    # Not acks_late: a redelivered run would store a second collection for the same moment.
    ignore_result=True,
)
def collect_flows() -> None:
    """Beat, every 15 min (migration 0010): one SmartMoneyFlow per token and window (flows_collect)."""
    # Kill switch: settings.SMART_MONEY_FLOWS_ENABLED (default on).
    if getattr(settings, "SMART_MONEY_FLOWS_ENABLED", True):
        flows_collect()

