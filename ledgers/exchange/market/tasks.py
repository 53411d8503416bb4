"""Celery task of the market ledger: thin wrapper around ``services.prices_collect`` (retries in
ledgers.tasks)."""

import logging

from django.conf import settings

from ledgers.exchange.market.services import COLLECTOR_NAME
from ledgers.tasks import collector_task, collector_task_run

logger = logging.getLogger(__name__)


@collector_task(name="market.update_prices", retry_backoff=30, max_retries=3, soft_time_limit=240, time_limit=300)
def update_prices(*, days: int = 2) -> None:
    """Beat, every 10 min (migration 0003): the last ``days`` days of CoinGecko prices.

    Kill switch: MARKET_PRICE_UPDATES_ENABLED = False makes it a no-op.
    """
    if not settings.MARKET_PRICE_UPDATES_ENABLED:
        logger.info("market.update_prices.disabled")
        return
    collector_task_run(COLLECTOR_NAME, days=days)
