"""How services start background work: a Celery task enqueued once the transaction commits.

Every mode runs the same way (DESIGN.md section 4): the task goes to the broker and a worker runs it,
whether that is Redis with separate worker processes or the in-memory broker with the worker that
``run_main`` embeds. Services never ask which.

Tasks are named by their permanent name (the string PeriodicTask rows store, e.g.
``"alerts.deliver_webhook"``), not imported: a task module imports the services it wraps, so a service
importing its task back would make an import cycle.
"""

from collections.abc import Mapping
from typing import Any

from celery import current_app
from django.core.cache import cache
from django.db import transaction

COALESCE_KEY = "whales.jobs.coalesce:{name}"


def task_enqueue_on_commit(name: str, *, kwargs: Mapping[str, Any] | None = None,
                           countdown_s: float | None = None, coalesce_s: float | None = None) -> None:
    """Send the task called ``name`` with ``kwargs`` (JSON primitives) to the broker when the current
    transaction commits (at once outside one; never if it rolls back), to run after ``countdown_s``
    seconds. With ``coalesce_s``, at most one such send per ``coalesce_s`` seconds, shared by every
    process through the cache (for a task that does all the work pending when it runs).

    A broker or cache that cannot be reached makes the commit hook fail: Django logs it (``robust``)
    and the committing caller carries on; the sweep that watches for that kind of unfinished work
    (pending alerts and webhooks, pending metrics) enqueues it again."""
    options: dict[str, Any] = {"kwargs": dict(kwargs or {})}
    if countdown_s is not None:
        options["countdown"] = countdown_s

    def send() -> None:
        if coalesce_s is not None and not cache.add(COALESCE_KEY.format(name=name), 1, timeout=coalesce_s):
            return  # one is on its way already
        current_app.send_task(name, **options)

    transaction.on_commit(send, robust=True)
