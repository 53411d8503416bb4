"""The beat scheduler sees a row re-timed while it starts: django-celery-beat's own scheduler reads the rows
(initial read), and only at its next look notes the change marker, so an admin edit landing in between
is taken as already read, and the old schedule stays until its 5-minute full sync."""

import pytest
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler as UpstreamScheduler

from whaletrack.beat import DatabaseScheduler
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
