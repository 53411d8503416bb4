"""Celery task of the Reddit collector: a thin wrapper (logic in ``services``; retries in ledgers.tasks)."""

from ledgers.human.reddit.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="reddit.collect", retry_backoff=60, soft_time_limit=240, time_limit=300)
def collect() -> None:
    """Beat, every 15 minutes (migration 0003): every followed subreddit's listings."""
    collector_task_run(COLLECTOR_NAME)
