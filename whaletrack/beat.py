"""The beat scheduler of every mode (``CELERY_BEAT_SCHEDULER``, and the embedded runtime's beat).

django-celery-beat's DatabaseScheduler reads the PeriodicTask rows once at start, then re-reads them
whenever the change marker (``PeriodicTasks.last_update``, bumped by every admin save) moves. It notes the
marker only at its first check after that initial read, so an edit made in between (an analyst re-timing a
row right after a deploy, or ``make run`` just started) is taken as already read and stays unseen until
its forced full sync 5 minutes later. This subclass notes the marker before the initial read.
"""

from django_celery_beat.schedulers import DatabaseScheduler as _DatabaseScheduler


class DatabaseScheduler(_DatabaseScheduler):
    """DatabaseScheduler that sees every change made after it started (module docstring)."""

    def setup_schedule(self) -> None:
        """Note the change marker, then install the schedule as upstream does (module docstring)."""
        # Before the initial read: a change after it moves the marker past this and is seen at the next
        # check; one made before it (or the default entries installed below) costs one extra read.
        self._last_timestamp = self.Changes.last_change()
        super().setup_schedule()
