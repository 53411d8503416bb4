"""Celery wrappers for the Bitcoin address collector (all logic is in services.addresses_collect).

The mempool monitor is a long-running process (``manage.py monitor_mempool``), not a beat task.
"""

from celery import shared_task

from ledgers.glass.bitcoin.client import EsploraClient, EsploraUnavailable
from ledgers.glass.bitcoin.services import addresses_collect
from whales.models import RunStatus


@shared_task(
    name="bitcoin.collect_addresses",  # permanent: PeriodicTask rows store this string
    autoretry_for=(EsploraUnavailable,),
    retry_backoff=10, retry_backoff_max=300, max_retries=5, soft_time_limit=540, time_limit=600,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service is idempotent
)
def collect_addresses() -> None:
    """Beat, every 5 minutes (migration 0002). Raises EsploraUnavailable for Celery to retry when the
    source was unavailable before any address was synced."""
    client = EsploraClient.from_settings()
    try:
        result = addresses_collect(client=client)
    finally:
        client.close()
    if result.status == RunStatus.FAILED and result.extra.get("addresses_done", 0) == 0 and result.error:
        raise EsploraUnavailable(result.error)
