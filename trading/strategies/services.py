"""Writes for strategies: create, schedule on their own beat row, pause/resume, and run.

Running (``strategy_run``): the strategy's ``generate_signals(now)`` returns every signal it sees;
each is acted on in its own transaction that locks the Strategy row (so two runs of one strategy
serialize), records a ``StrategySignal`` with its outcome, and, unless skipped, places the order
through ``trading.services.order_place`` (every safety check applies) with ``client_order_id``
``sig:<strategy id>:<signal key>``. A signal whose key is already recorded is not acted on again,
so a run killed at any point and re-run, or two overlapping runs, record and order each signal
once. Lock order: Strategy, then (inside order_place) Account, then Positions.

Outcomes: ``ordered`` (order filled or resting), ``rejected`` (a safety rule refused it; the
reason is the order's), ``skipped`` (the strategy's own reason, a strategy paused during the run, a
sell when the strategy holds none of the symbol, or an order the order service refused as
invalid). Nothing is dropped unrecorded. A sell larger than the strategy's holding (its net filled
quantity, capped at the account position) is placed for the holding, and the signal says so.
"""

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from celery import schedules
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from trading.models import (
    Account,
    AccountAudit,
    AccountMode,
    OrderSide,
    OrderStatus,
    SignalOutcome,
    Strategy,
    StrategyKind,
    StrategySignal,
    StrategyStatus,
)
from trading.selectors import PriceSource
from trading.services import TradingError, order_place
from trading.strategies import StrategyParamsError, strategy_impl
from trading.strategies.base import fmt
from trading.strategies.smart_money import FlowSource

logger = logging.getLogger(__name__)

RUN_TASK = "trading.run_strategy"
ZERO = Decimal(0)
DEFAULT_EVERY_SECONDS = 300


class RunSummary(TypedDict):
    """``RunResult.as_dict``: the counts of one run (stored in ``Strategy.last_run_summary``, returned
    by ``trading.run_strategy``). Units: counts of signals; ``paused`` a flag."""

    strategy_id: int
    generated: int
    ordered: int
    rejected: int
    skipped: int
    already_recorded: int
    paused: bool


@dataclass
class RunResult:
    """Counts of one strategy run: signals generated, and of those, ordered / rejected / skipped /
    already recorded by an earlier run. ``paused``: the strategy was paused, nothing generated."""

    strategy_id: int
    generated: int = 0
    ordered: int = 0
    rejected: int = 0
    skipped: int = 0
    already_recorded: int = 0
    paused: bool = False

    def as_dict(self) -> RunSummary:
        """The counts as a JSON-safe ``RunSummary`` (stored in ``Strategy.last_run_summary``, returned by
        the task)."""
        return RunSummary(strategy_id=self.strategy_id, generated=self.generated, ordered=self.ordered,
                          rejected=self.rejected, skipped=self.skipped, already_recorded=self.already_recorded,
                          paused=self.paused)


def strategy_params_validate(*, kind: str, params: dict) -> None:
    """Check ``params`` for a strategy of ``kind`` without saving anything.

    Raises: StrategyParamsError naming the kind or parameter that is wrong."""
    strategy_impl(Strategy(kind=kind, params=params, account=Account()))


def strategy_create(*, account_id: int, name: str, kind: str, params: dict | None = None,
                    every_seconds: int | None = None, crontab: str | None = None,
                    started_at: datetime | None = None, schedule: bool = True) -> Strategy:
    """Create an active strategy on the account and (``schedule``) its own beat row.

    ``every_seconds`` or ``crontab`` (5 fields, UTC) set the schedule; neither means every
    ``DEFAULT_EVERY_SECONDS``. ``started_at`` (default now): data before it is not acted on.
    Raises: StrategyParamsError (bad kind or params), TradingError (bad schedule); nothing is stored.
    """
    params = params or {}
    strategy_params_validate(kind=kind, params=params)
    with transaction.atomic():
        account = Account.objects.get(pk=account_id)
        strategy = Strategy.objects.create(account=account, name=name, kind=kind, params=params,
                                           started_at=started_at or timezone.now())
        if schedule:
            strategy_schedule(strategy_id=strategy.pk, every_seconds=every_seconds, crontab=crontab)
            strategy.refresh_from_db()
    return strategy


def crontab_parse(expression: str) -> schedules.crontab:
    """The Celery schedule of a 5-field crontab (minute hour day-of-month month day-of-week, UTC).

    Built here, as beat will build it, so a value beat cannot parse never reaches a beat row (celery's
    ``ParseException`` is not caught by django-celery-beat and would stop beat at every start).
    Raises: TradingError naming the problem (wrong field count, a field celery refuses, a date that never
    occurs)."""
    fields = expression.split() if isinstance(expression, str) else []
    if len(fields) != 5:
        raise TradingError(f"crontab: expected 5 fields (minute hour day-of-month month day-of-week), "
                           f"got {expression!r}")
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        return schedules.crontab(minute=minute, hour=hour, day_of_month=day_of_month,
                                 month_of_year=month_of_year, day_of_week=day_of_week)
    except (ValueError, TypeError, schedules.ParseException) as exc:
        raise TradingError(f"crontab: {expression!r} is not a valid schedule: {exc}") from exc


def _crontab(expression: str) -> CrontabSchedule:
    crontab_parse(expression)
    minute, hour, day_of_month, month_of_year, day_of_week = expression.split()
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year, day_of_week=day_of_week,
        timezone="UTC")
    return schedule


def strategy_schedule(*, strategy_id: int, every_seconds: int | None = None,
                      crontab: str | None = None) -> PeriodicTask:
    """Create or update the strategy's own beat row running ``trading.run_strategy(strategy_id=...)``.

    Interval (``every_seconds`` >= ``LIMITS_STRATEGY_MIN_INTERVAL_S``, default 60) or crontab
    (5 fields, UTC); neither keeps an existing row's
    schedule or uses ``DEFAULT_EVERY_SECONDS`` for a new one. The row is enabled while the strategy
    is active. Raises: TradingError on a bad schedule (nothing changed).
    """
    if every_seconds is not None and crontab is not None:
        raise TradingError("give every_seconds or crontab, not both")
    min_every = settings.LIMITS_STRATEGY_MIN_INTERVAL_S
    if every_seconds is not None and (isinstance(every_seconds, bool) or every_seconds < min_every):
        raise TradingError(f"every_seconds: must be at least {min_every}, got {every_seconds}")
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update(of=("self",)).select_related("periodic_task").get(pk=strategy_id)
        task = strategy.periodic_task or PeriodicTask(
            name=f"trading strategy {strategy.pk}: {strategy.name}"[:200], task=RUN_TASK,
            kwargs=json.dumps({"strategy_id": strategy.pk}))
        if crontab is not None:
            task.crontab, task.interval = _crontab(crontab), None
            task.expire_seconds = None
        elif every_seconds is not None or task.pk is None:
            every = every_seconds or DEFAULT_EVERY_SECONDS
            task.interval, _ = IntervalSchedule.objects.get_or_create(every=every, period=IntervalSchedule.SECONDS)
            task.crontab, task.expire_seconds = None, every
        task.enabled = strategy.status == StrategyStatus.ACTIVE
        task.save()  # PeriodicTask.save() bumps PeriodicTasks.last_update: beat reloads its schedule
        if strategy.periodic_task_id != task.pk:
            strategy.periodic_task = task
            strategy.save(update_fields=["periodic_task"])
    return task


def strategy_set_status(*, strategy_id: int, status: str, by_user: User | None = None,
                        reason: str = "") -> Strategy:
    """Pause or resume a strategy: its status and its beat row's ``enabled`` flag change together,
    audited on the account (AccountAudit ``strategy_paused`` / ``strategy_resumed``). A paused
    strategy generates nothing, and its resting orders are rejected when they would fill.
    Raises: TradingError for an unknown status."""
    if status not in StrategyStatus.values:
        raise TradingError(f"status must be one of {', '.join(StrategyStatus.values)}")
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update(of=("self",)).select_related("periodic_task").get(pk=strategy_id)
        if strategy.status == status:
            return strategy
        strategy.status = status
        strategy.save(update_fields=["status"])
        if strategy.periodic_task is not None:
            strategy.periodic_task.enabled = status == StrategyStatus.ACTIVE
            strategy.periodic_task.save()
        action = "strategy_resumed" if status == StrategyStatus.ACTIVE else "strategy_paused"
        AccountAudit.objects.create(account_id=strategy.account_id, action=action, by_user=by_user,
                                    reason=f"strategy {strategy.pk} ({strategy.name}){': ' + reason if reason else ''}")
    logger.info("trading.strategy.status", extra={"strategy": strategy_id, "status": status})
    return strategy


def strategy_delete(*, strategy_id: int) -> None:
    """Delete a strategy and its beat row (its orders stay, with the strategy unset)."""
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().get(pk=strategy_id)
        task_id = strategy.periodic_task_id
        strategy.delete()
        if task_id is not None:
            PeriodicTask.objects.filter(pk=task_id).delete()


def _live_signal_send(record: StrategySignal, quantity: Decimal, *, strategy: Strategy, price_usd: Decimal | None,
                      now: datetime) -> StrategySignal | None:
    """Send a live account's order for ``record`` (no lock held: the venue call is never made under the strategy's
    or the account's lock), then record the signal with its outcome; None when a concurrent run recorded it first.
    A crash between the two is safe: the next run regenerates the unrecorded signal and ``order_place`` returns the
    order already sent (same client order id)."""
    try:
        order = order_place(account_id=strategy.account_id, symbol=record.symbol, side=record.side, quantity=quantity,
                            client_order_id=f"sig:{strategy.pk}:{record.key}", strategy_id=strategy.pk, now=now,
                            reference_price_usd=price_usd)
    except TradingError as exc:
        order = None
        record.outcome, record.outcome_reason = SignalOutcome.SKIPPED, f"invalid order: {exc}"
    with transaction.atomic():
        Strategy.objects.select_for_update().get(pk=strategy.pk)
        if StrategySignal.objects.filter(strategy_id=strategy.pk, key=record.key).exists():
            return None
        if order is not None:
            record.order = order
            if order.status in (OrderStatus.REJECTED, OrderStatus.FAILED):
                record.outcome = SignalOutcome.REJECTED
                record.outcome_reason = "; ".join(filter(None, [order.reject_reason, record.outcome_reason]))
            else:
                record.outcome = SignalOutcome.ORDERED
        record.save()
    return record


def strategy_run(*, strategy_id: int, now: datetime | None = None, price_source: PriceSource | None = None,
                 flow_source: FlowSource | None = None) -> RunResult:
    """Run a strategy once at ``now``: generate its signals, record each with its outcome, place orders.

    Idempotent per signal key (module docstring). A paused strategy generates nothing.
    Source: the strategy's data (flows, trades) and prices from ``price_source``
    (default: the account's venue); ``flow_source`` overrides the stored flows (backtest).
    Raises: Strategy.DoesNotExist; StrategyParamsError when its params became invalid (nothing recorded).
    """
    now = now or timezone.now()
    strategy = Strategy.objects.select_related("account").get(pk=strategy_id)
    result = RunResult(strategy_id=strategy_id)
    if strategy.status != StrategyStatus.ACTIVE:
        result.paused = True
        return result
    options = {"flow_source": flow_source} if flow_source and strategy.kind == StrategyKind.FOLLOW_SMART_MONEY else {}
    impl = strategy_impl(strategy, price_source=price_source, **options)
    signals = impl.generate_signals(now)
    result.generated = len(signals)
    recorded = set(StrategySignal.objects.filter(strategy_id=strategy_id, key__in=[s.key for s in signals])
                   .values_list("key", flat=True))
    live = strategy.account.mode == AccountMode.LIVE
    for signal in signals:
        if signal.key in recorded:
            result.already_recorded += 1
            continue
        pending: tuple[StrategySignal, Decimal] | None = None
        with transaction.atomic():
            locked = Strategy.objects.select_for_update().get(pk=strategy_id)
            if StrategySignal.objects.filter(strategy_id=strategy_id, key=signal.key).exists():
                result.already_recorded += 1  # a concurrent run recorded it while we waited for the lock
                continue
            record = StrategySignal(strategy_id=strategy_id, key=signal.key, generated_at=now, symbol=signal.symbol,
                                    side=signal.side, quantity=signal.quantity, reason=signal.reason,
                                    source=signal.source)
            if signal.skip_reason:
                record.outcome, record.outcome_reason = SignalOutcome.SKIPPED, signal.skip_reason
            elif locked.status != StrategyStatus.ACTIVE:
                record.outcome = SignalOutcome.SKIPPED
                record.outcome_reason = f"strategy {locked.status} during the run"
            elif signal.side == OrderSide.SELL and (holding := impl.held().get(signal.symbol, ZERO)) <= 0:
                record.outcome = SignalOutcome.SKIPPED
                record.outcome_reason = f"no position to sell: this strategy holds no {signal.symbol}"
            else:
                # Invariant (Signal.__post_init__): a signal without a skip_reason has a quantity.
                assert signal.quantity is not None
                if signal.side == OrderSide.SELL and signal.quantity > holding:
                    # A strategy never sells more than it holds (an earlier order of this run may
                    # have been rejected); the signal keeps its quantity, the order is capped.
                    record.outcome_reason = f"sell capped at the holding of {fmt(holding)} {signal.symbol}"
                    quantity = holding
                else:
                    quantity = signal.quantity
                if live:  # a live order is sent after this transaction, with no lock held (below)
                    pending = (record, quantity)
                else:
                    try:
                        order = order_place(
                            account_id=strategy.account_id, symbol=signal.symbol, side=signal.side,
                            quantity=quantity, client_order_id=f"sig:{strategy_id}:{signal.key}",
                            strategy_id=strategy_id, now=now, price_source=price_source)
                    except TradingError as exc:
                        record.outcome, record.outcome_reason = SignalOutcome.SKIPPED, f"invalid order: {exc}"
                    else:
                        record.order = order
                        if order.status == OrderStatus.REJECTED:
                            record.outcome = SignalOutcome.REJECTED
                            record.outcome_reason = "; ".join(filter(None, [order.reject_reason,
                                                                            record.outcome_reason]))
                        else:
                            record.outcome = SignalOutcome.ORDERED
            if pending is None:  # a live signal is recorded by _live_signal_send, with its order's outcome
                record.save()
        if pending is not None:
            sent = _live_signal_send(*pending, strategy=strategy, price_usd=signal.price_usd, now=now)
            if sent is None:
                result.already_recorded += 1
                continue
            record = sent
        setattr(result, record.outcome, getattr(result, record.outcome) + 1)  # ordered / rejected / skipped
    Strategy.objects.filter(pk=strategy_id).update(last_run_at=now, last_run_summary=result.as_dict())
    logger.info("trading.strategy.run", extra=result.as_dict())
    return result


__all__ = ["RunResult", "RunSummary", "StrategyParamsError", "strategy_create", "strategy_delete",
           "strategy_params_validate", "strategy_run", "strategy_schedule", "strategy_set_status"]
