"""The collector kit's run wrapper and task rule: a database fault ends a run failed (recorded in the run
log) and is raised for a retry; a source that is down is retried, a terminal source error is not."""

import dataclasses

import pytest
from django.db import connection

import ledgers.registry
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.models import CollectorRun, SyncCursor
from ledgers.registry import CollectorResult
from ledgers.runlog import (
    DATABASE_FAULTS,
    collector_execute,
    collector_run_finish,
    collector_run_start,
    cursor_advance,
    cursor_get_or_create,
)
from ledgers.tasks import RETRYABLE, collector_task_run
from whales.models import RunStatus


@pytest.fixture
def collector_running(only_test_collector, monkeypatch):
    """Give ``test.collector`` the ``run`` passed to the returned function."""
    def use(run):
        monkeypatch.setitem(ledgers.registry._REGISTRY, "test.collector",
                            dataclasses.replace(only_test_collector, run=run))
    return use


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_a_lost_database_connection_fails_the_run_in_the_log_and_is_raised_for_a_retry(collector_running):
    def run(**_):
        collector_run_start(collector="test.collector")
        with connection.cursor() as cursor:  # the server ends this session, as a restart or failover does
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        return CollectorResult(collector="test.collector", status=RunStatus.OK)

    collector_running(run)
    with pytest.raises(DATABASE_FAULTS) as fault:
        collector_execute("test.collector")

    assert isinstance(fault.value, RETRYABLE)
    logged = CollectorRun.objects.get()  # the next query reconnects: the fault did not stick
    assert (logged.status, logged.finished_at is not None) == (RunStatus.FAILED, True)
    assert logged.error.startswith("OperationalError: terminating connection due to administrator command")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_only_the_runs_the_faulted_run_opened_are_closed(collector_running):
    other = collector_run_start(collector="test.collector")  # another run of the same collector, elsewhere

    def run(**_):
        mine = collector_run_start(collector="test.collector")
        collector_run_finish(run=mine, status=RunStatus.OK)  # finished before the fault: kept as it is
        collector_run_start(collector="test.collector")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    collector_running(run)
    with pytest.raises(DATABASE_FAULTS):
        collector_execute("test.collector")

    statuses = list(CollectorRun.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [RunStatus.RUNNING, RunStatus.OK, RunStatus.FAILED]
    assert CollectorRun.objects.get(pk=other.pk).status == RunStatus.RUNNING


@pytest.mark.django_db
def test_a_source_that_is_down_is_raised_for_a_retry_and_a_terminal_error_is_not(collector_running):
    down = SourceUnavailable("HTTP 503 after retries")
    collector_running(lambda **_: CollectorResult(collector="test.collector", status="failed", failure=down))
    with pytest.raises(SourceUnavailable) as raised:
        collector_task_run("test.collector")
    assert raised.value is down

    broken = SourceError("malformed body")
    collector_running(lambda **_: CollectorResult(collector="test.collector", status="failed", failure=broken))
    assert collector_task_run("test.collector").failure is broken


@pytest.mark.django_db
def test_options_reach_the_collectors_run(collector_running):
    calls = []
    collector_running(lambda **options: calls.append(options) or CollectorResult("test.collector", "ok"))
    collector_task_run("test.collector", max_blocks=3)
    assert calls == [{"max_blocks": 3}]


@pytest.mark.django_db
def test_a_cursor_moves_only_from_the_position_it_was_read_at():
    cursor_get_or_create(stream="s", start=10)
    assert cursor_get_or_create(stream="s", start=99).position == 10  # created once
    assert cursor_advance(stream="s", expected=10, position=12, position_hash="0xab") is True
    assert cursor_advance(stream="s", expected=10, position=14, position_hash="0xcd") is False  # lost the race
    assert SyncCursor.objects.values_list("position", "position_hash").get() == (12, "0xab")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_a_fault_before_the_run_logged_itself_gets_a_failed_run_of_its_own(collector_running):
    def run(**_):
        with connection.cursor() as cursor:  # the session dies before the run's first write
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    collector_running(run)
    with pytest.raises(DATABASE_FAULTS):
        collector_execute("test.collector")

    logged = CollectorRun.objects.get()
    assert (logged.collector, logged.status, logged.duration_ms) == ("test.collector", RunStatus.FAILED, 0)
    assert logged.error.startswith("OperationalError: terminating connection")
