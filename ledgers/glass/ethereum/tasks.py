"""Celery task of the Ethereum collector (all logic is in services.blocks_collect; retries in ledgers.tasks)."""

from ledgers.glass.ethereum.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="ethereum.collect_blocks", retry_backoff=5, retry_backoff_max=120, soft_time_limit=240,
                time_limit=300)
def collect_blocks(*, max_blocks: int | None = None) -> None:
    """Beat, every 15 s (migration 0002): the next confirmed blocks from ETH_RPC_URL."""
    collector_task_run(COLLECTOR_NAME, max_blocks=max_blocks)
