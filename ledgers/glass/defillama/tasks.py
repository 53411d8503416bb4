"""Celery task of the DeFiLlama collector: a thin wrapper (logic in ``services``; retries in ledgers.tasks)."""

from ledgers.glass.defillama.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="defillama.collect", retry_backoff=60, soft_time_limit=240, time_limit=300)
def collect() -> None:
    """Beat, daily at 00:30 UTC (migration 0002): stablecoin supply and protocol TVL."""
    collector_task_run(COLLECTOR_NAME)
