"""A fork server for the worker fault test: imports Django and the Celery app once, then runs one round of the
Celery worker's work in a fresh child process for every ``round`` line on stdin, so a test can SIGKILL a real
worker process many times without paying Django's start-up (seconds) per kill.

A round is what the worker does when beat's sweep rows come due: for each of
``whales.recompute_pending_metrics``, ``alerts.publish_pending`` and ``alerts.redeliver_webhooks``, in that
order, the task is run with ``apply`` (Celery's own task execution, in the process) and then the broker's
queue is drained: every message the tasks sent (``alerts.deliver_webhook``, ``whales.recompute_pending_metrics``)
is run the same way, in order, and acknowledged after it ran (acks_late), until the queue is empty. A countdown
is not waited.

The broker is kombu's in-memory transport (``CELERY_BROKER_URL=memory://`` in the driver's environment), so a
killed child loses the messages it had queued: the harsher fault of the two (a Redis broker with acks_late
would deliver them again). What the worker left unfinished must then be found by the sweeps of a later round.
The sweep delays come from the environment (``ALERTS_PUBLISH_SWEEP_AFTER_S``, ``ALERTS_WEBHOOK_SWEEP_AFTER_S``,
``WHALE_METRICS_DEBOUNCE_S``; the test sets them to 0: the time between two beat ticks has passed).

Protocol (one line each way, stdout flushed):

- ``round`` -> ``pid <child pid>``, then, when the child ends, ``exit <code>`` (``-9`` when SIGKILLed; 0 when
  every task it ran succeeded, 1 otherwise). The child writes each task's outcome and duration, then
  ``ran <n> tasks``, to stderr.
- end of input: the server exits.

The server holds no database connection of its own while a child runs (closed before each fork).
"""

import os
import sys
import time
import traceback

SWEEPS = ("whales.recompute_pending_metrics", "alerts.publish_pending", "alerts.redeliver_webhooks")
QUEUE = "celery"  # Celery's default queue: where send_task puts a task with no route


def _run(app, name: str, args: list, kwargs: dict) -> bool:
    """Run task ``name`` in this process (``Task.apply``); True when it succeeded. Its outcome and duration go
    to stderr."""
    started = time.monotonic()
    result = app.tasks[name].apply(args=args, kwargs=kwargs)
    print(f"{os.getpid()} task {name} {kwargs} {result.state} in {time.monotonic() - started:.3f} s"
          + ("" if result.successful() else f": {result.result!r}"), file=sys.stderr, flush=True)
    return result.successful()


def _drain(app) -> tuple[int, bool]:
    """Run every message queued on the broker, in order, until the queue is empty; (how many, all succeeded)."""
    ran, ok = 0, True
    with app.connection_for_read() as conn:
        queue = conn.SimpleQueue(QUEUE)
        while True:
            try:
                message = queue.get(block=False)
            except queue.Empty:
                return ran, ok
            args, kwargs, _embed = message.payload
            ok = _run(app, message.headers["task"], args, kwargs) and ok
            message.ack()  # acks_late: after the task ran
            ran += 1


def _child_round() -> int:
    from whaletrack.celery import app

    ran, ok = 0, True
    for name in SWEEPS:
        ok = _run(app, name, [], {}) and ok
        drained, drained_ok = _drain(app)
        ran, ok = ran + 1 + drained, ok and drained_ok
    print(f"ran {ran} tasks", file=sys.stderr, flush=True)
    return 0 if ok else 1


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")
    import django

    django.setup()
    from django.db import connections

    from whaletrack.celery import app

    app.loader.import_default_modules()  # the tasks, registered once before the forks

    for line in sys.stdin:
        command = line.strip()
        if command != "round":
            print(f"error unknown command {command!r}", flush=True)
            continue
        connections.close_all()
        pid = os.fork()
        if pid == 0:  # the child: a worker process of its own
            code = 1
            try:
                code = _child_round()
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    main()
