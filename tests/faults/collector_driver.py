"""A fork server for the fault tests: imports Django once, then runs the Ethereum block collector in a fresh
child process for every ``run`` line on stdin, so a test can SIGKILL a real collector process many times
without paying Django's start-up (seconds) per kill.

Protocol (one line each way, stdout flushed):

- ``run`` -> ``pid <child pid>``, then, when the child ends, ``exit <code>`` (``-9`` when SIGKILLed).
  The child runs ``collector_execute("ethereum", rpc_url=..., to_block=..., confirmations=0)`` (exit 0 when
  the run's status is ok, 1 otherwise) or, with ``--task``, the Celery task ``ethereum.collect_blocks``
  in this process (``apply``: Celery's own retry policy, its retries run at once), exit 0 on success.
- ``settle`` -> ``settled events=<n> metrics=<m>``, then ``exit <code>``: in a child, what the beat sweeps do
  once the collector is done: ``events_publish_pending(older_than_s=0)`` (events stored but not sent) and
  ``metrics_recompute_pending(debounce_s=0)`` (the metrics of the whales whose trades changed).
- end of input: the server exits.

The server holds no database connection of its own while a child runs (Django connects lazily; it is
closed before each fork).
"""

import argparse
import os
import sys
import traceback


def _child_run(args: argparse.Namespace) -> int:
    from ledgers.runlog import collector_execute

    if args.task:
        from ledgers.glass.ethereum.tasks import collect_blocks

        result = collect_blocks.apply(kwargs={"max_blocks": 1_000_000})
        return 0 if result.successful() else 1
    outcome = collector_execute("ethereum", rpc_url=args.rpc_url, to_block=args.to_block, confirmations=0)
    return 0 if outcome.status == "ok" else 1


def _child_settle() -> int:
    from alerts.services import events_publish_pending
    from whales.analytics.metrics import metrics_recompute_pending

    events = events_publish_pending(older_than_s=0)
    metrics = metrics_recompute_pending(debounce_s=0)
    print(f"settled events={events} metrics={metrics}", flush=True)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rpc-url", required=True)
    parser.add_argument("--to-block", type=int, required=True)
    parser.add_argument("--task", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")
    import django

    django.setup()
    from django.db import connections

    for line in sys.stdin:
        command = line.strip()
        if command not in ("run", "settle"):
            print(f"error unknown command {command!r}", flush=True)
            continue
        connections.close_all()
        pid = os.fork()
        if pid == 0:  # the child: a collector process of its own
            code = 1
            try:
                code = _child_run(args) if command == "run" else _child_settle()
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                os._exit(code)
        if command == "run":
            print(f"pid {pid}", flush=True)
        _, status = os.waitpid(pid, 0)
        print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)


if __name__ == "__main__":
    main()
