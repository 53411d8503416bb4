"""``python manage.py collect NAME [--from-block N] [--to-block M]``: one collector run in the foreground."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from whales.collectors import collector_get, collector_names
from whales.models import RunStatus


class Command(BaseCommand):
    help = "Run one collector once in the foreground with progress output."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="collector name (see --list)", nargs="?")
        parser.add_argument("--list", action="store_true", help="list the registered collectors")
        parser.add_argument("--from-block", type=int, help="(ethereum) start here; re-walking stored blocks is safe")
        parser.add_argument("--to-block", type=int, help="(ethereum) stop after this block")
        parser.add_argument("--max-blocks", type=int, help="(ethereum) at most this many blocks")
        parser.add_argument("--confirmations", type=int, help="(ethereum) blocks behind head (ETH_CONFIRMATIONS)")
        parser.add_argument("--rpc-url", help="(ethereum) node URL instead of ETH_RPC_URL")

    def handle(self, *args, **options) -> None:
        if options["list"] or not options["name"]:
            for name in collector_names():
                self.stdout.write(f"{name}: {collector_get(name).description}")
            return
        try:
            collector = collector_get(options["name"])
        except KeyError:
            known = ", ".join(collector_names())
            raise CommandError(f"unknown collector {options['name']!r}; known: {known}") from None
        kwargs = {key: options[key] for key in ("from_block", "to_block", "max_blocks", "confirmations", "rpc_url")
                  if options.get(key) is not None}
        kwargs["progress"] = self._progress
        result = collector.run(**kwargs)
        line = (f"{result.collector}: {result.status}, {result.blocks} blocks, {result.items_seen} items seen, "
                f"{result.items_written} trades written, {result.events_written} events")
        if result.status == RunStatus.FAILED:
            raise CommandError(f"{line}; error: {result.error}")
        self.stdout.write(self.style.SUCCESS(line))

    def _progress(self, p) -> None:
        self.stdout.write(f"  block {p.block_number} (to {p.to_block}): {p.blocks_done} blocks, "
                          f"{p.trades_written} trades, {p.events_written} events")
