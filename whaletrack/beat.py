"""The beat scheduler of every mode (``CELERY_BEAT_SCHEDULER``, and the embedded runtime's beat).

django-celery-beat's DatabaseScheduler reads the PeriodicTask rows once at start, then re-reads them
whenever the change marker (``PeriodicTasks.last_update``, bumped by every admin save) moves. It notes the
marker only at its first check after that initial read, so an edit made in between (an analyst re-timing a
row right after a deploy, or ``make run`` just started) is taken as already read and stays unseen until
its forced full sync 5 minutes later. This subclass notes the marker before the initial read.

A row whose schedule cannot be built (a crontab celery cannot parse, stored before the API checked it, or by
hand) made upstream's read raise celery's ``ParseException``, which it does not catch: beat exited at start,
and at every restart, stopping every job. This subclass skips such a row, logs it, and disables it with a
``BEAT_DISABLED_MARK`` description, so the admin's periodic task list shows it off and why.
"""

import logging

from django.utils import timezone
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler as _DatabaseScheduler

logger = logging.getLogger(__name__)

BEAT_DISABLED_MARK = "[disabled by beat: unreadable schedule]"
"""Start of the description beat gives a row it disabled (then the time and the error)."""


class DatabaseScheduler(_DatabaseScheduler):
    """DatabaseScheduler that sees every change made after it started and survives unreadable rows
    (module docstring)."""

    def all_as_schedule(self) -> dict:
        """{name: entry} of every enabled row whose schedule builds; each other row is logged and disabled."""
        entries = {}
        for model in self.enabled_models():
            try:
                entries[model.name] = self.Entry(model, app=self.app)
            except Exception as exc:  # any row error: skip it, never stop beat
                self._disable_unreadable(model, exc)
        return entries

    def _disable_unreadable(self, model: PeriodicTask, exc: Exception) -> None:
        logger.error("beat: periodic task %r (id %s) has an unreadable schedule, disabled: %r",
                     model.name, model.pk, exc)
        note = f"{BEAT_DISABLED_MARK} {timezone.now():%Y-%m-%d %H:%M:%S} UTC: {exc!r}"[:1000]
        try:
            # update(), not save(): no change marker bump, so no re-read loop; the row is off from now on.
            PeriodicTask.objects.filter(pk=model.pk).update(
                enabled=False, description=f"{note}\n{model.description}".strip())
        except Exception:  # database down: the row is skipped anyway, retried next read
            logger.exception("beat: could not disable periodic task %r", model.name)

    def setup_schedule(self) -> None:
        """Note the change marker, then install the schedule as upstream does (module docstring)."""
        # Before the initial read: a change after it moves the marker past this and is seen at the next
        # check; one made before it (or the default entries installed below) costs one extra read.
        self._last_timestamp = self.Changes.last_change()
        super().setup_schedule()
