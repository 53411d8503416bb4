"""Celery wrappers for the Hyperliquid collector (all logic is in services.whales_collect)."""

from celery import shared_task

from ledgers.glass.hyperliquid.client import HyperliquidClient, HyperliquidUnavailable
from ledgers.glass.hyperliquid.services import whales_collect
from whales.models import RunStatus


@shared_task(
    name="hyperliquid.collect_whales",  # permanent: PeriodicTask rows store this string
    autoretry_for=(HyperliquidUnavailable,),
    retry_backoff=10, retry_backoff_max=300, max_retries=5, soft_time_limit=540, time_limit=600,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service is idempotent
)
def collect_whales() -> None:
    """Beat, every minute (migration 0001). Raises HyperliquidUnavailable for Celery to retry when the
    API was unavailable before any whale was synced."""
    client = HyperliquidClient.from_settings()
    try:
        result = whales_collect(client=client)
    finally:
        client.close()
    if result.status == RunStatus.FAILED and result.extra.get("whales_done", 0) == 0 and result.error:
        raise HyperliquidUnavailable(result.error)
