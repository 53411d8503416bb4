"""``python manage.py monitor_mempool [--duration S] [--ws-url URL]``: the mempool whale monitor process.

Without ``--duration`` it runs until SIGTERM/SIGINT, and a run that ends on its own (a fatal connection
error, the database unreachable at start-up) is started again after a backoff (``ledgers.supervisor``).
"""

import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledgers.glass.bitcoin.monitor import MempoolMonitor
from ledgers.glass.bitcoin.monitor_run import MONITOR_NAME, monitor_once
from ledgers.registry import CollectorResult, positive_float
from ledgers.supervisor import supervise
from whales.models import RunStatus


class Command(BaseCommand):
    help = ("Follow the Bitcoin mempool (mempool.space WebSocket API) and record unconfirmed whale "
            "transactions until SIGTERM/SIGINT, restarting after failures.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ws-url", help="WebSocket URL instead of BITCOIN_WS_URL")
        parser.add_argument("--api-url", help="Esplora URL instead of BITCOIN_API_URL")
        parser.add_argument("--duration", type=positive_float,
                            help="one run of this many seconds (default: run until stopped, restarting after failures)")

    def handle(self, *args: Any, **options: Any) -> None:
        url = options["ws_url"] or settings.BITCOIN_WS_URL
        self.stdout.write(f"Monitoring {url} for unconfirmed transactions >= "
                          f"{settings.BITCOIN_MEMPOOL_WHALE_MIN_BTC} BTC (Ctrl+C or SIGTERM to stop)")
        self.stdout.flush()

        def started(monitor: MempoolMonitor) -> None:
            self.stdout.write(f"  dedupe LRU {monitor.watcher.recent.maxsize} tx hashes; dropped after "
                              f"{monitor.drop_after_s} s unseen")
            self.stdout.flush()

        if options["duration"] is not None:
            result = monitor_once(duration_s=options["duration"], ws_url=url, api_url=options["api_url"],
                                  handle_signals=True, on_start=started)
            self._report(result)
            if result.status == RunStatus.FAILED:
                raise CommandError(f"{result.collector}: failed: {result.error}")
            return
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)

        def one_run() -> CollectorResult:
            result = monitor_once(ws_url=url, api_url=options["api_url"], stop_when=stop.is_set, on_start=started)
            self._report(result)
            return result

        runs = supervise(name=MONITOR_NAME, run=one_run, stop=stop)
        self.stdout.write(self.style.SUCCESS(f"{MONITOR_NAME}: stopped after {runs} run(s)"))

    def _report(self, result: CollectorResult) -> None:
        s = result.extra
        line = (f"{result.collector}: {result.status}; {s.get('messages', 0)} messages, "
                f"{s.get('transactions', 0)} transactions, {s.get('whales', 0)} whales "
                f"({s.get('whales_published', 0)} new events), {s.get('duplicates_skipped', 0)} duplicates skipped, "
                f"{s.get('malformed', 0)} malformed, {s.get('reconnects', 0)} reconnects, "
                f"{s.get('replaced', 0)} replaced, {s.get('confirmed', 0)} confirmed, {s.get('dropped', 0)} dropped, "
                f"{s.get('store_failures', 0)} store failures retried")
        if result.status == RunStatus.FAILED:
            line += f"; error: {result.error}"
        self.stdout.write(line)
        self.stdout.flush()
