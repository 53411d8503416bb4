"""Celery task of the Bitcoin address collector (all logic is in services.addresses_collect; retries in
ledgers.tasks). The mempool monitor is a long-running process (``manage.py monitor_mempool``), not a task."""

from ledgers.glass.bitcoin.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="bitcoin.collect_addresses", retry_backoff=10, soft_time_limit=540, time_limit=600)
def collect_addresses() -> None:
    """Beat, every 5 minutes (migration 0002). Retried when the source was unavailable before any address
    was synced (a run cut short later is continued by the next one)."""
    collector_task_run(COLLECTOR_NAME)
