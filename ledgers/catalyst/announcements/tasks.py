"""Celery task of the announcements collector: a thin wrapper (logic in ``services``; retries in ledgers.tasks)."""

from ledgers.catalyst.announcements.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="announcements.collect", retry_backoff=60, soft_time_limit=240, time_limit=300)
def collect() -> None:
    """Beat, hourly (migration 0003): every active announcement feed."""
    collector_task_run(COLLECTOR_NAME)
