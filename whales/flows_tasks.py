"""Celery wrapper for the smart-money flows (all logic is in whales.flows).

Kept out of whales/tasks.py (edited concurrently by the scoring work). Celery's autodiscovery only
imports ``whales.tasks``, so this module must be imported at start-up: from ``WhalesConfig.ready()``
(``import whales.flows_tasks  # noqa: F401``) or ``CELERY_IMPORTS``. Importing it also registers the
smart-money cache invalidation with the scoring-finished hook in the process that runs scoring.
"""

from celery import shared_task
from django.conf import settings

from whales.flows import flows_collect
from whales.smartmoney_api import smart_money_cache_hook_register


@shared_task(
    name="whales.collect_flows",  # permanent: PeriodicTask rows store this string
    soft_time_limit=240, time_limit=300,
    # Not acks_late: a redelivered run would store a second collection for the same moment.
    ignore_result=True,
)
def collect_flows() -> None:
    """Beat, every 15 min (migration 0010): one SmartMoneyFlow per token and window (flows_collect)."""
    # Kill switch: settings.SMART_MONEY_FLOWS_ENABLED (default on).
    if getattr(settings, "SMART_MONEY_FLOWS_ENABLED", True):
        flows_collect()


smart_money_cache_hook_register()
