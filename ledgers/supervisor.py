"""Keeping a long-running collector (the mempool monitor) alive.

A monitor's run ends when its connection fails for good, its database goes away at start-up, or
something unforeseen is raised. ``supervise`` starts it again after an exponential backoff with jitter,
until asked to stop; a run that lasted longer than the longest backoff resets the backoff, so one fault
after hours of service waits seconds, not minutes. Each run logs itself in the run log (the
collector's own ``collector_run_start``/``finish``); the supervisor logs the restarts.
"""

import logging
import random
import threading
import time
from collections.abc import Callable

from ledgers.redact import error_redact
from ledgers.registry import CollectorResult
from whales.models import RunStatus

logger = logging.getLogger(__name__)


def backoff_delay_s(failures: int, *, min_s: float, max_s: float) -> float:
    """Seconds to wait after ``failures`` failures in a row (>= 1): min_s x 2^(failures-1), at most max_s,
    with "equal jitter" (between half and all of it), so restarts of several processes spread out."""
    delay = min(max_s, min_s * 2 ** max(failures - 1, 0))
    return delay / 2 + random.uniform(0, delay / 2)


def supervise(*, name: str, run: Callable[[], CollectorResult], stop: threading.Event,
              backoff_min_s: float = 1.0, backoff_max_s: float = 60.0) -> int:
    """Call ``run()`` until ``stop`` is set, waiting ``backoff_delay_s`` between runs; return the runs made.

    ``run`` should return when ``stop`` is set (the monitor's ``stop_when``). A run that returns a failed
    result or raises is logged (with the traceback for an exception) and counted as a failure; one that
    returns otherwise while ``stop`` is not set is restarted as well, at the shortest backoff.
    Raises: nothing (KeyboardInterrupt and SystemExit pass through).
    """
    runs = failures = 0
    while not stop.is_set():
        started = time.monotonic()
        runs += 1
        try:
            result = run()
            failed = result.status == RunStatus.FAILED
            error = result.error
        except Exception as exc:  # the supervisor's whole job: nothing a run raises may end it
            logger.exception("supervisor.run_raised", extra={"service": name})
            failed, error = True, f"{type(exc).__name__}: {exc}"
        if stop.is_set():
            break
        lasted_s = time.monotonic() - started
        failures = failures + 1 if failed and lasted_s < backoff_max_s else (1 if failed else 0)
        delay = backoff_delay_s(max(failures, 1), min_s=backoff_min_s, max_s=backoff_max_s)
        logger.warning("supervisor.restart", extra={
            "service": name, "failed": failed, "error": error_redact(error)[:300],
            "lasted_s": round(lasted_s, 1), "delay_s": round(delay, 1)})
        stop.wait(delay)
    return runs
