"""Celery tasks of the SEC EDGAR collectors: thin wrappers (logic in ``services``; retries in ledgers.tasks)."""

from ledgers.catalyst.sec.services import COLLECTOR_NAME, FEED_COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="sec.collect_submissions", retry_backoff=60, soft_time_limit=1500, time_limit=1800)
def collect_submissions() -> None:
    """Beat, daily at 09:00 UTC (migration 0003): every followed issuer's filings."""
    collector_task_run(COLLECTOR_NAME)


@collector_task(name="sec.collect_feed", retry_backoff=30, soft_time_limit=240, time_limit=300)
def collect_feed() -> None:
    """Beat, every 10 minutes (migration 0003): new filings of the followed issuers from the latest-filings
    feed."""
    collector_task_run(FEED_COLLECTOR_NAME)
