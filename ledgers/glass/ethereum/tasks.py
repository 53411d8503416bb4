"""Celery wrappers for the Ethereum collector (all logic is in services.blocks_collect)."""

from celery import shared_task

from ledgers.glass.ethereum.client import EthereumRpcClient, RpcUnavailable
from ledgers.glass.ethereum.services import blocks_collect
from whales.models import RunStatus


@shared_task(
    name="ethereum.collect_blocks",  # permanent: PeriodicTask rows store this string
    autoretry_for=(RpcUnavailable,),
    retry_backoff=5, retry_backoff_max=120, max_retries=5, soft_time_limit=240, time_limit=300,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service is idempotent
)
def collect_blocks(*, max_blocks: int | None = None) -> None:
    """Beat, every 15 s (migration 0002). Raises RpcUnavailable for Celery to retry when the node is down."""
    result = blocks_collect(client=EthereumRpcClient.from_settings(), max_blocks=max_blocks)
    if result.status == RunStatus.FAILED and result.error.startswith("RpcUnavailable"):
        raise RpcUnavailable(result.error)
