"""Writes of the collector bookkeeping: stream cursors (compare-and-set) and the run log.

Every ledger moves its cursor with ``cursor_advance`` in the same transaction as the rows it covers,
and logs each run with ``collector_run_start`` / ``collector_run_finish``.
"""

import logging
import threading
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from celery import current_app
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from ledgers.models import CollectorRun, SyncCursor
from ledgers.redact import error_redact
from ledgers.registry import CollectorResult, collector_get
from whales.errors import Conflict
from whales.logcontext import correlation_id, correlation_scope, new_correlation_id
from whales.models import RunStatus

logger = logging.getLogger(__name__)

DATABASE_FAULTS = (OperationalError, InterfaceError)
"""Database errors waiting can fix: a lost connection, a server restart, SQLite's "database is locked"."""

# Run-log rows opened by the collector run in progress in this context (``collector_execute``).
_open_runs: ContextVar[list[int] | None] = ContextVar("ledgers_open_runs", default=None)
# Database faults not yet in the run log because the database itself was failing: (collector, run ids,
# when, error), written by the next ``collector_execute`` of this process that reaches the database.
_unrecorded_faults: list[tuple[str, list[int], datetime, str]] = []
_unrecorded_lock = threading.Lock()


def cursor_get_or_create(*, stream: str, start: int) -> SyncCursor:
    """The cursor of ``stream``, created at ``start`` when missing."""
    cursor, _ = SyncCursor.objects.get_or_create(stream=stream, defaults={"position": start})
    return cursor


def cursor_advance(*, stream: str, expected: int, position: int, position_hash: str) -> bool:
    """Compare-and-set: move ``stream`` from ``expected`` to ``position``; False if another run moved it."""
    updated = SyncCursor.objects.filter(stream=stream, position=expected).update(
        position=position, position_hash=position_hash, updated_at=timezone.now()
    )
    return updated == 1


def collector_run_start(*, collector: str, from_position: int | None = None) -> CollectorRun:
    """Open a run-log row (committed at once, so a killed run still shows as 'running')."""
    run = CollectorRun.objects.create(collector=collector, from_position=from_position,
                                      details={"correlation_id": correlation_id.get()} if correlation_id.get() else {})
    opened = _open_runs.get()
    if opened is not None:
        opened.append(run.pk)
    return run


def collector_run_finish(
    *, run: CollectorRun, status: str, error: str = "", to_position: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> CollectorRun:
    """Close ``run`` with ``status`` (ok/partial/failed), its duration and error text (credentials in URLs
    removed by ``ledgers.redact.error_redact`` before it is stored or logged)."""
    error = error_redact(error)
    run.finished_at = timezone.now()
    run.status = status
    run.error = error[:5000]
    run.to_position = to_position
    if details:
        run.details = {**run.details, **details}
    run.duration_ms = int((run.finished_at - run.started_at).total_seconds() * 1000)
    run.save()
    log = logger.warning if status == RunStatus.FAILED else logger.info
    log("collector.run.finished", extra={"collector": run.collector, "status": status, "error": error[:200]})
    return run


def collector_execute(name: str, **options: Any) -> CollectorResult:
    """Run the registered collector ``name`` once in this process (the ``collect`` command, the tasks).

    Shape: ``options`` are the keywords of the collector's ``run`` (``Collector.options``, ``progress``).
    A source failure is in the result (``failure``), as the collectors return it. A database fault
    (``DATABASE_FAULTS``) ends the run: the broken connection is dropped, so the next attempt connects
    afresh; the run-log rows this run opened are closed as failed with the reason (a run that could not
    open its row gets a failed row of its own), at once or, while the database still fails, by the next
    run of any collector in this process; and the fault is raised for the caller to retry.
    The run has its own correlation id (``whales.logcontext``): every log line it writes carries it, and its
    run-log rows keep it in ``details["correlation_id"]``.
    Raises: UnknownCollector for an unknown name; InvalidParameter for bad options (nothing ran);
    DATABASE_FAULTS.
    """
    collector = collector_get(name)
    token = _open_runs.set([])
    try:
        _faults_record()
        with correlation_scope(new_correlation_id(name)):
            return collector.run(**options)
    except DATABASE_FAULTS as exc:
        error = error_redact(f"{type(exc).__name__}: {exc}")[:5000]
        logger.warning("collector.run.database_fault", extra={"collector": name, "error": error[:200]})
        if not connection.in_atomic_block:  # inside the caller's transaction, the caller decides
            connection.close()
            with _unrecorded_lock:
                _unrecorded_faults.append((name, list(_open_runs.get() or []), timezone.now(), error))
            _faults_record()
        raise
    finally:
        _open_runs.reset(token)


def _faults_record() -> None:
    """Write the database faults this process could not log yet: close the runs they interrupted as
    failed, or add a failed run for a fault that struck before its run was logged. Keeps them for later
    while the database still fails."""
    with _unrecorded_lock:
        faults, _unrecorded_faults[:] = list(_unrecorded_faults), []
    for index, (name, run_ids, at, error) in enumerate(faults):
        try:
            closed = CollectorRun.objects.filter(pk__in=run_ids, status=RunStatus.RUNNING).update(
                status=RunStatus.FAILED, finished_at=at, error=error)
            if not run_ids:
                CollectorRun.objects.create(collector=name, started_at=at, finished_at=at, status=RunStatus.FAILED,
                                            error=error, duration_ms=0)
            logger.info("collector.run.fault_recorded", extra={"collector": name, "closed": closed})
        except DATABASE_FAULTS:
            connection.close()
            with _unrecorded_lock:
                _unrecorded_faults[:0] = faults[index:]
            return


class CollectorNotTriggerable(Conflict):
    """409 ``not_triggerable``: the collector has no task to run on the worker (a long-running monitor
    runs as its own process)."""

    code = "not_triggerable"


def collector_trigger(*, name: str) -> str:
    """Run collector ``name`` now on the worker: its task is enqueued once the current transaction commits
    (at once outside one), beside its beat schedule. Returns the task name.

    Raises: UnknownCollector for an unknown collector; CollectorNotTriggerable for one without a task.
    """
    collector = collector_get(name)
    if not collector.task:
        raise CollectorNotTriggerable(f"{name} is a long-running monitor, not a scheduled task: it runs as its "
                                      "own process (manage.py monitor_mempool) and cannot be triggered")
    transaction.on_commit(lambda: current_app.send_task(collector.task))
    logger.info("collector.triggered", extra={"collector": name, "task": collector.task})
    return collector.task
