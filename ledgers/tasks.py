"""How every collector runs as a Celery task: one set of retry rules, decided by the exception's class.

A ledger's ``tasks.py`` declares its task with ``collector_task`` and calls ``collector_task_run``:

    @collector_task(name="ethereum.collect_blocks", retry_backoff=5, soft_time_limit=240, time_limit=300)
    def collect_blocks() -> None:
        collector_task_run(COLLECTOR_NAME)

Retried with exponential backoff and jitter (Celery ``autoretry_for``): ``SourceUnavailable`` (the
source could not answer now) and the database faults waiting can fix (``DATABASE_FAULTS``). Anything
else is a bug or a terminal answer: the run log has it, and the next beat tick runs again.
"""

from collections.abc import Callable
from typing import Any

from celery import shared_task
from django.conf import settings

from ledgers.errors import SourceUnavailable
from ledgers.history import metrics_backfill
from ledgers.registry import CollectorResult
from ledgers.runlog import DATABASE_FAULTS, collector_execute

RETRYABLE = (SourceUnavailable, *DATABASE_FAULTS)


def collector_task(
    *,
    name: str,
    retry_backoff: int,
    soft_time_limit: int,
    time_limit: int,
    retry_backoff_max: int = 300,
    max_retries: int = 5,
) -> Callable[[Callable[..., Any]], Any]:
    """``shared_task`` with the collectors' options: ``name`` is permanent (PeriodicTask rows store it),
    retries as the module docstring says, ``acks_late`` with ``reject_on_worker_lost`` (safe: collectors
    are idempotent), no result stored."""
    return shared_task(
        name=name, autoretry_for=RETRYABLE, retry_backoff=retry_backoff, retry_backoff_max=retry_backoff_max,
        retry_jitter=True, max_retries=max_retries, soft_time_limit=soft_time_limit, time_limit=time_limit,
        acks_late=True, reject_on_worker_lost=True, ignore_result=True,
    )


def collector_task_run(name: str, **options: Any) -> CollectorResult:
    """Run collector ``name`` (``ledgers.runlog.collector_execute``); raise its ``failure`` when it is a
    ``SourceUnavailable``, so the task retries. Raises: SourceUnavailable, DATABASE_FAULTS."""
    result = collector_execute(name, **options)
    if isinstance(result.failure, SourceUnavailable):
        raise result.failure
    return result


@shared_task(
    name="ledgers.backfill_metrics",  # permanent: PeriodicTask rows store this string
    soft_time_limit=1500, time_limit=1800,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service upserts per whale
)
def backfill_metrics(*, days: int | None = 2) -> None:
    """Beat, daily at 00:20 UTC (ledgers migration 0004): the daily metrics of the last ``days`` days (yesterday's is
    final once its day has ended) from the trades, openings and daily prices (``ledgers.history``). The whole
    history is ``manage.py backfill_metrics`` (``days`` None). Kill switch: WHALE_METRICS_ENABLED."""
    if getattr(settings, "WHALE_METRICS_ENABLED", True):
        metrics_backfill(days=days)


@shared_task(
    name="ledgers.quality_run",  # permanent: PeriodicTask rows store this string
    soft_time_limit=240, time_limit=300,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: one transaction, idempotent
)
def quality_run_task() -> None:
    """Beat, every 15 minutes (ledgers migration 0006): the data-quality monitor (``ledgers.quality.quality_run``)."""
    from ledgers.quality import quality_run

    quality_run()
