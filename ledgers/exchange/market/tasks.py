"""Celery tasks of the market ledger: thin wrappers around ``services`` (STYLE.md section 4)."""

import logging

from celery import shared_task
from django.conf import settings

from ledgers.exchange.market.client import CoinGeckoClient, PriceSourceUnavailable
from ledgers.exchange.market.services import prices_update

logger = logging.getLogger(__name__)


@shared_task(
    name="market.update_prices",  # permanent: PeriodicTask rows store this string
    autoretry_for=(PriceSourceUnavailable,),  # only failures that waiting can fix
    retry_backoff=30, retry_backoff_max=300, retry_jitter=True, max_retries=3,
    soft_time_limit=240, time_limit=300,
    acks_late=True, reject_on_worker_lost=True, ignore_result=True,  # safe: the service is idempotent
)
def update_prices(*, days: int = 2) -> None:
    """Beat, every 10 min (migration 0003). All logic is in services.prices_update.

    Kill switch: MARKET_PRICE_UPDATES_ENABLED = False makes it a no-op.
    """
    if not settings.MARKET_PRICE_UPDATES_ENABLED:
        logger.info("market.update_prices.disabled")
        return
    client = CoinGeckoClient.from_settings()
    try:
        prices_update(client=client, days=days)
    finally:
        client.close()
