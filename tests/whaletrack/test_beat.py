"""The beat scheduler sees a row re-timed while it starts: django-celery-beat's own scheduler reads the rows
(initial read), and only at its next look notes the change marker, so an admin edit landing in between
is taken as already read, and the old schedule stays until its 5-minute full sync."""

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler as UpstreamScheduler

from tests.processes import BASE_DIR, database_url, stop
from whaletrack.beat import BEAT_DISABLED_MARK, DatabaseScheduler
from whaletrack.celery import app

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
ROW = "market: update prices"
DEFAULT_S = 600  # the migration's interval for ROW


def retime(every_s: int) -> None:
    """Re-time ROW as the admin's save does (the save bumps PeriodicTasks.last_update)."""
    interval, _ = IntervalSchedule.objects.get_or_create(every=every_s, period=IntervalSchedule.SECONDS)
    row = PeriodicTask.objects.get(name=ROW)
    row.interval = interval
    row.save()


def interval_after_an_edit_during_start(scheduler_cls) -> int:
    """Start ``scheduler_cls`` with ROW re-timed to 2 s just after the initial read; the interval (s) the
    scheduler then gives ROW."""

    class Probe(scheduler_cls):
        edited = False

        def all_as_schedule(self):
            schedule = super().all_as_schedule()
            if not Probe.edited:  # the admin saves between the initial read and the next look
                Probe.edited = True
                retime(2)
            return schedule

    scheduler = Probe(app=app, lazy=False)
    return int(scheduler.schedule[ROW].schedule.run_every.total_seconds())


def test_an_edit_while_beat_starts_is_seen():
    assert interval_after_an_edit_during_start(DatabaseScheduler) == 2


def test_the_upstream_scheduler_misses_it():
    """Why whaletrack.beat exists: when this fails, django-celery-beat has fixed it and the subclass can go."""
    assert interval_after_an_edit_during_start(UpstreamScheduler) == DEFAULT_S


def test_a_later_edit_is_seen_too():
    scheduler = DatabaseScheduler(app=app, lazy=False)
    assert scheduler.schedule[ROW].schedule.run_every.total_seconds() == DEFAULT_S
    retime(3)
    assert scheduler.schedule[ROW].schedule.run_every.total_seconds() == 3


def test_every_mode_uses_it(settings):
    from whaletrack import runtime

    assert settings.CELERY_BEAT_SCHEDULER == "whaletrack.beat:DatabaseScheduler"
    assert runtime.DatabaseScheduler is DatabaseScheduler


# --- a row whose schedule cannot be built (issue 14, item 2) ----------------------------------------

BAD_CRONTABS = [", * * * *", "*/* * * * *", "-1 * * * *", "61 * * * *"]


def bad_row(minute: str, name: str = "bad crontab row") -> PeriodicTask:
    """A row with a crontab celery cannot parse, stored as an old API or a hand edit could (no validation)."""
    cron = CrontabSchedule.objects.create(minute=minute, hour="*", day_of_month="*", month_of_year="*",
                                          day_of_week="*", timezone="UTC")
    return PeriodicTask.objects.create(name=name, task="trading.run_strategy", crontab=cron,
                                       kwargs='{"strategy_id": 1}', description="mirror whale 7")


@pytest.mark.parametrize("expression", BAD_CRONTABS)
def test_a_row_beat_cannot_parse_is_skipped_logged_and_disabled(expression, caplog):
    row = bad_row(expression.split()[0])
    with caplog.at_level(logging.ERROR, logger="whaletrack.beat"):
        scheduler = DatabaseScheduler(app=app, lazy=False)
    assert row.name not in scheduler.schedule
    assert scheduler.schedule[ROW].schedule.run_every.total_seconds() == DEFAULT_S  # the good rows stay
    row.refresh_from_db()
    assert row.enabled is False
    assert row.description.startswith(BEAT_DISABLED_MARK)
    assert row.description.endswith("\nmirror whale 7")
    assert [r.getMessage().split(":")[0] for r in caplog.records] == ["beat"]
    assert repr(row.name) in caplog.records[0].getMessage()


@pytest.mark.slow
def test_a_running_beat_process_survives_a_bad_row_and_runs_the_good_ones(tmp_path):
    """``celery -A whaletrack beat`` on the test PostgreSQL, started with a bad row present: it keeps
    running and sends the good rows (a 1 s row's run count rises); upstream exited at start."""
    bad = bad_row(",")
    every_s, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    good = PeriodicTask.objects.create(name="good 1 s row", task="trading.check_daily_loss", interval=every_s)
    log = tmp_path / "beat.log"
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603  (our own Celery app with fixed arguments)
            [str(Path(sys.executable).parent / "celery"), "-A", "whaletrack", "beat", "--loglevel=INFO",
             "-S", "whaletrack.beat:DatabaseScheduler", "--pidfile=", f"--schedule={tmp_path / 'beat-schedule'}"],
            cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "whaletrack.settings", "DATABASE_URL": database_url(),
                 "CELERY_BROKER_URL": "memory://localhost/"})
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            good.refresh_from_db()
            if good.total_run_count >= 3:
                break
            time.sleep(0.5)
        assert process.poll() is None, log.read_text()[-3000:]
        good.refresh_from_db()
        assert good.total_run_count >= 3, log.read_text()[-3000:]
    finally:
        stop(process)
    bad.refresh_from_db()
    assert (bad.enabled, bad.total_run_count) == (False, 0)
    assert bad.description.startswith(BEAT_DISABLED_MARK)
    assert "unreadable schedule" in log.read_text()
