"""Celery tasks of the Ethereum collectors (logic in services.blocks_collect and holdings.holdings_collect;
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


@collector_task(name="ethereum.refresh_pending_holdings", retry_backoff=10, retry_backoff_max=300,
                soft_time_limit=840, time_limit=900)
def refresh_pending_holdings(*, rpc_url: str | None = None) -> None:
    """Queued by holdings.holdings_mark_pending once a collected batch commits (coalesced, debounced by
    ETH_HOLDINGS_DEBOUNCE_S): the holdings of every whale marked pending, from ``rpc_url`` (default
    ETH_RPC_URL). No beat row of its own: the full refresh's row (every 15 min) also clears the marks."""
    collector_task_run(HOLDINGS_COLLECTOR, pending=True, rpc_url=rpc_url)
