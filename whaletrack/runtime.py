"""The embedded runtime of ``make run``: the real Celery worker and beat, in threads of the serving process.

Why threads of one process: without Redis the broker is kombu's in-memory transport (``memory://``) and
the channel layer is the in-memory ``alerts.layers.EmbeddedChannelLayer``; both live inside one process.
So the worker (Celery's ``WorkController`` with its thread pool) and beat (``celery.beat.Service`` with
django-celery-beat's ``DatabaseScheduler``) run beside daphne: the tasks that views, services and beat
send reach this worker, and the events its tasks publish reach this process's WebSocket clients.

It is the same worker and the same beat that production runs as processes (``celery -A whaletrack
worker`` and ``celery -A whaletrack beat``), on the same tasks and the same beat rows: analysts edit the
rows in the admin, and beat reloads a changed row within ``CELERY_BEAT_MAX_LOOP_INTERVAL`` seconds. With
Redis configured the embedded worker and beat use it as well (and share the work with any other worker).

Long-running services that are not tasks (the mempool monitor) are added with ``add_service``: each runs
in its own thread under ``ledgers.supervisor.supervise``, restarted after failures, stopped with the rest.

The worker's threads share one interpreter lock with daphne's event loop, which does the WebSocket
fan-out: ``start`` shortens the interpreter's thread switch interval from 5 ms to ``SWITCH_INTERVAL_S``
so the loop gets the lock back sooner while tasks run. Measured by ``bench/alert_latency.py`` (worker
path, 200 clients, 20 events/s): p99 from commit to client 70-190 ms across runs with 5 ms, 44-69 ms
with 1 ms.
"""

import functools
import logging
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from celery import beat
from celery.worker import WorkController

from ledgers.registry import CollectorResult
from ledgers.supervisor import supervise
from whaletrack.beat import DatabaseScheduler
from whaletrack.celery import app

logger = logging.getLogger(__name__)

SWITCH_INTERVAL_S = 0.001


class EmbeddedRuntime:
    """A Celery worker (``concurrency`` threads) and beat (unless ``beat=False``), plus supervised services,
    in daemon threads.

    ``start()`` returns once the worker consumes from the broker (or raises RuntimeError after
    ``ready_timeout_s``); ``stop()`` asks every part to finish and waits up to ``timeout_s`` for each.
    """

    def __init__(self, *, concurrency: int, beat: bool = True, ready_timeout_s: float = 30.0) -> None:
        self.concurrency = concurrency
        self.with_beat = beat
        self.ready_timeout_s = ready_timeout_s
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._services: list[tuple[str, Callable[[threading.Event], CollectorResult]]] = []
        self._worker: WorkController | None = None
        self._beat: Any = None  # celery.beat.Service (celery ships no types)

    def add_service(self, name: str, run: Callable[[threading.Event], CollectorResult]) -> None:
        """Run ``run(stop)`` supervised once the runtime starts: it must return soon after ``stop`` is set."""
        self._services.append((name, run))

    def start(self) -> None:
        """Start the worker, then beat and the services. Raises: RuntimeError when the worker is not ready
        in time (the broker cannot be reached)."""
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        self._worker = WorkController(
            app=app, hostname=f"embedded@{socket.gethostname()}", pool_cls="threads", concurrency=self.concurrency,
            without_heartbeat=True, without_mingle=True, without_gossip=True,
            ready_callback=lambda consumer: self._ready.set(),
        )
        self._thread("celery-worker", self._worker.start)
        if not self._ready.wait(self.ready_timeout_s):
            raise RuntimeError(f"the embedded Celery worker did not connect to {app.conf.broker_url!r} "
                               f"within {self.ready_timeout_s:.0f} s")
        if self.with_beat:
            self._beat = beat.Service(app=app, scheduler_cls=DatabaseScheduler)
            self._thread("celery-beat", self._beat.start)
        for name, run in self._services:
            self._thread(name, functools.partial(supervise, name=name, run=functools.partial(run, self._stop),
                                                 stop=self._stop))
        logger.info("runtime.started", extra={"concurrency": self.concurrency, "services": len(self._services)})

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop the services, beat and the worker (running tasks get ``timeout_s`` to finish)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.stop()
        if self._worker is not None:
            self._worker.stop()
        for thread in self._threads:
            thread.join(timeout_s)
        logger.info("runtime.stopped", extra={"alive": [t.name for t in self._threads if t.is_alive()]})

    def _thread(self, name: str, target: Callable[[], object]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)
