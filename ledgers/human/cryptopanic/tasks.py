"""Celery task of the CryptoPanic collector: a thin wrapper (logic in ``services``; retries in ledgers.tasks)."""

from ledgers.human.cryptopanic.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="cryptopanic.collect", retry_backoff=60, soft_time_limit=120, time_limit=180)
def collect() -> None:
    """Beat, every 5 minutes once an operator enables the row (migration 0002; off by default)."""
    collector_task_run(COLLECTOR_NAME)
