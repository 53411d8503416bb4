"""Celery tasks of the Ethereum collectors (logic in services.blocks_collect and holdings.holdings_refresh;
retries in ledgers.tasks)."""

from ledgers.glass.ethereum.holdings import COLLECTOR_NAME as HOLDINGS_COLLECTOR
from ledgers.glass.ethereum.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="ethereum.collect_blocks", retry_backoff=5, retry_backoff_max=120, soft_time_limit=240,
                time_limit=300)
def collect_blocks(*, max_blocks: int | None = None) -> None:
    """Beat, every 15 s (migration 0002): the next confirmed blocks from ETH_RPC_URL."""
    collector_task_run(COLLECTOR_NAME, max_blocks=max_blocks)


@collector_task(name="ethereum.refresh_holdings", retry_backoff=30, retry_backoff_max=600, soft_time_limit=840,
                time_limit=900)
def refresh_holdings(*, whale_ids: list[int] | None = None) -> None:
    """Beat, every 15 min (migration 0003): the holdings of every tracked Ethereum whale (or ``whale_ids``)."""
    collector_task_run(HOLDINGS_COLLECTOR, whale_ids=whale_ids)
