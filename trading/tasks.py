"""Celery wrappers for the trading periodic jobs (all logic is in trading.services).

Both are idempotent: matching fills only orders that are still ``submitted`` and crossed (under the
account lock), and the daily-loss check leaves a halted account alone; so an overlapping or repeated
run changes nothing twice. Beat rows: migration 0002_schedule_tasks; each strategy has its own
row running ``run_strategy``.
"""

import logging

from celery import shared_task

from trading.models import Account, Strategy
from trading.services import daily_loss_check, limit_orders_match
from trading.strategies.services import RunSummary, strategy_run

logger = logging.getLogger(__name__)


@shared_task(
    name="trading.match_limit_orders",  # permanent: PeriodicTask rows store this string
    soft_time_limit=25, time_limit=30, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def match_limit_orders() -> int:
    """Beat, every 30 s: fill resting limit orders whose price crossed; return how many filled."""
    filled = limit_orders_match()
    if filled:
        logger.info("trading: filled %d limit order(s)", filled)
    return filled


@shared_task(
    name="trading.check_daily_loss",  # permanent: PeriodicTask rows store this string
    soft_time_limit=50, time_limit=60, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def check_daily_loss() -> list[int]:
    """Beat, every 60 s: apply the daily-loss rule to every non-halted account; return the ids halted now.
    An account whose check fails is logged and skipped; the others are still checked."""
    halted = []
    for account_id in Account.objects.filter(halted=False).order_by("pk").values_list("pk", flat=True):
        try:
            if daily_loss_check(account_id=account_id):
                halted.append(account_id)
        except Exception:  # one account's bad data must not stop the guard for every later account
            logger.exception("trading: daily-loss check failed for account %s", account_id)
    if halted:
        logger.warning("trading: daily loss limit halted account(s) %s", halted)
    return halted


@shared_task(
    name="trading.run_strategy",  # permanent: each strategy's PeriodicTask row stores this string
    soft_time_limit=240, time_limit=300, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def run_strategy(strategy_id: int) -> RunSummary | None:
    """Beat, on the strategy's own row (trading.strategies.services.strategy_schedule): run it once.

    Safe to repeat or overlap: every signal is acted on once (by its key). A deleted strategy whose
    row is left logs a warning and does nothing."""
    try:
        result = strategy_run(strategy_id=strategy_id)
    except Strategy.DoesNotExist:
        logger.warning("trading: strategy %s no longer exists; its beat row can be deleted", strategy_id)
        return None
    return result.as_dict()


@shared_task(
    name="trading.reconcile_live_accounts",  # permanent: PeriodicTask rows store this string
    soft_time_limit=110, time_limit=120, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def reconcile_live_accounts() -> dict[int, str]:
    """Beat, every 60 s: reconcile every live account with its venue (``trading.live.live_accounts_reconcile``);
    {account id: ok | drift | error | failed}. Idempotent: fills are imported once each."""
    from trading.live import live_accounts_reconcile

    return live_accounts_reconcile()


@shared_task(
    name="trading.resolve_order",  # permanent: queued by name
    soft_time_limit=50, time_limit=60, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def resolve_order(order_id: int) -> str:
    """Settle a live order whose submit timed out (``trading.live.order_resolve``); its status after."""
    from trading.live import order_resolve

    return order_resolve(order_id=order_id).status


@shared_task(
    name="trading.emergency_stop",  # permanent: queued by name
    soft_time_limit=110, time_limit=120, acks_late=True, reject_on_worker_lost=True, ignore_result=True,
)
def emergency_stop(account_id: int, flatten: bool, reason: str) -> dict:
    """The emergency stop off the request (``trading.live.account_emergency_stop``), e.g. after the daily-loss
    rule halted a live account; what it did."""
    from trading.live import account_emergency_stop

    report = account_emergency_stop(account_id=account_id, flatten=flatten, reason=reason)
    return {"cancelled": report.cancelled, "flatten_orders": report.flatten_orders, "failures": report.failures}
