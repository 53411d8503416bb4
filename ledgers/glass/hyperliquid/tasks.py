"""Celery tasks of the Hyperliquid collectors (logic in services.whales_collect and
bridge.bridge_deposits_discover; retries in ledgers.tasks)."""

from ledgers.glass.hyperliquid import bridge
from ledgers.glass.hyperliquid.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run


@collector_task(name="hyperliquid.collect_whales", retry_backoff=10, soft_time_limit=540, time_limit=600)
def collect_whales() -> None:
    """Beat, every minute (migration 0001). Retried when the API was unavailable before any whale was
    synced."""
    collector_task_run(COLLECTOR_NAME)


@collector_task(name="hyperliquid.discover_bridge_whales", retry_backoff=30, soft_time_limit=540, time_limit=600)
def discover_bridge_whales() -> None:
    """Beat, hourly (migration 0002): bridge deposits on Arbitrum since the cursor make their depositors
    Hyperliquid whales."""
    collector_task_run(bridge.COLLECTOR_NAME)
