"""``python manage.py collect NAME [options]``: one collector run in the foreground, with progress.

``collect ethereum [--from-block N] [--to-block M] ...``, ``collect bitcoin [--address A]``,
``collect bitcoin_mempool [--duration S]`` (the mempool monitor for S seconds),
``collect hyperliquid [--address A]``.
"""

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
        parser.add_argument("--address", help="(bitcoin, hyperliquid) only this tracked whale address")
        parser.add_argument("--api-url", help="(bitcoin, hyperliquid) API URL instead of BITCOIN_API_URL / "
                                              "HYPERLIQUID_API_URL")
        parser.add_argument("--ws-url", help="(bitcoin_mempool) WebSocket URL instead of BITCOIN_WS_URL")
        parser.add_argument("--duration", type=float, help="(bitcoin_mempool) seconds to monitor (default 60)")

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
        keys = {
            "ethereum": ("from_block", "to_block", "max_blocks", "confirmations", "rpc_url"),
            "bitcoin": ("address", "api_url"),
            "hyperliquid": ("address", "api_url"),
            "hyperliquid_bridge": ("from_block", "to_block", "rpc_url"),
            "bitcoin_mempool": ("duration", "ws_url", "api_url"),
        }.get(collector.name, ())
        given = [key for key in ("from_block", "to_block", "max_blocks", "confirmations", "rpc_url", "address",
                                 "api_url", "ws_url", "duration") if options.get(key) is not None]
        unsupported = [f"--{key.replace('_', '-')}" for key in given if key not in keys]
        if unsupported:
            raise CommandError(f"{', '.join(unsupported)} does not apply to collector {collector.name!r}")
        kwargs = {key: options[key] for key in given}
        if collector.name == "bitcoin_mempool":
            kwargs["duration_s"] = kwargs.pop("duration", 60.0)
            if kwargs["duration_s"] <= 0:
                raise CommandError("--duration must be > 0 seconds")
        else:
            kwargs["progress"] = self._progress
        try:
            result = collector.run(**kwargs)
        except ValueError as exc:  # bad input (e.g. an address that is not a tracked whale): nothing ran
            raise CommandError(str(exc)) from exc
        line = (f"{result.collector}: {result.status}, {result.blocks} blocks, {result.items_seen} items seen, "
                f"{result.items_written} trades written, {result.events_written} events")
        if result.status == RunStatus.FAILED:
            raise CommandError(f"{line}; error: {result.error}")
        self.stdout.write(self.style.SUCCESS(line))

    def _progress(self, p) -> None:
        if hasattr(p, "block_number"):
            self.stdout.write(f"  block {p.block_number} (to {p.to_block}): {p.blocks_done} blocks, "
                              f"{p.trades_written} trades, {p.events_written} events")
        elif hasattr(p, "whales_done"):
            self.stdout.write(f"  {p.address} ({p.whales_done}/{p.whales_total}): {p.status}; "
                              f"{p.trades_written} trades, {p.events_written} events so far")
        else:
            self.stdout.write(f"  {p.address} ({p.addresses_done}/{p.addresses_total}): {p.status}; "
                              f"{p.trades_written} trades, {p.events_written} events so far")
