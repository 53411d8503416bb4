"""``python manage.py monitor_mempool [--duration S] [--ws-url URL]``: the mempool whale monitor process."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledgers.glass.bitcoin.monitor import MempoolMonitor
from ledgers.glass.bitcoin.monitor_run import monitor_once
from whales.models import RunStatus


class Command(BaseCommand):
    help = ("Follow the Bitcoin mempool (mempool.space WebSocket API) and record unconfirmed whale "
            "transactions until SIGTERM/SIGINT.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ws-url", help="WebSocket URL instead of BITCOIN_WS_URL")
        parser.add_argument("--api-url", help="Esplora URL instead of BITCOIN_API_URL")
        parser.add_argument("--duration", type=float, help="stop after this many seconds (default: run until stopped)")

    def handle(self, *args, **options) -> None:
        if options["duration"] is not None and options["duration"] <= 0:
            raise CommandError("--duration must be > 0 seconds")
        url = options["ws_url"] or settings.BITCOIN_WS_URL
        self.stdout.write(f"Monitoring {url} for unconfirmed transactions >= "
                          f"{settings.BITCOIN_MEMPOOL_WHALE_MIN_BTC} BTC (Ctrl+C or SIGTERM to stop)")
        self.stdout.flush()

        def started(monitor: MempoolMonitor) -> None:
            self.stdout.write(f"  dedupe LRU {monitor.watcher.recent.maxsize} txids; dropped after "
                              f"{monitor.drop_after_s} s unseen")

        result = monitor_once(duration_s=options["duration"], ws_url=url, api_url=options["api_url"],
                              handle_signals=True, on_start=started)
        s = result.extra
        line = (f"{result.collector}: {result.status}; {s.get('messages', 0)} messages, "
                f"{s.get('transactions', 0)} transactions, {s.get('whales', 0)} whales "
                f"({s.get('whales_published', 0)} new events), {s.get('duplicates_skipped', 0)} duplicates skipped, "
                f"{s.get('malformed', 0)} malformed, {s.get('reconnects', 0)} reconnects, "
                f"{s.get('replaced', 0)} replaced, {s.get('confirmed', 0)} confirmed, {s.get('dropped', 0)} dropped")
        if result.status == RunStatus.FAILED:
            raise CommandError(f"{line}; error: {result.error}")
        self.stdout.write(self.style.SUCCESS(line))
