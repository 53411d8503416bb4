"""``manage.py replay_node``: serve the recorded data in the foreground until SIGINT/SIGTERM."""

import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledgers.replay.mempool_ws import DEFAULT_WS_RATE
from ledgers.replay.services import start_replay_node


class Command(BaseCommand):
    help = ("Serve the recorded mainnet data (Ethereum JSON-RPC, CoinGecko, Esplora, Hyperliquid Info API, "
            "Arbitrum JSON-RPC) over loopback HTTP, and mempool.space's WebSocket.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.REPLAY_HOST)
        parser.add_argument("--port", type=int, default=settings.REPLAY_PORT, help="0 = any free port")
        parser.add_argument("--data-dir", type=Path, default=settings.REPLAY_DATA_DIR)
        parser.add_argument("--eth-copies", type=int, default=0,
                            help="serve N synthetic copies of blocks 19433902-19433903 after them (benchmarks)")
        parser.add_argument("--head-block", type=int, default=None, help="override eth_blockNumber")
        parser.add_argument("--ws-port", type=int, default=0, help="WebSocket port (0 = any free port)")
        parser.add_argument("--ws-rate", type=float, default=DEFAULT_WS_RATE,
                            help="WebSocket frames per second (0 = as fast as possible)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            server = start_replay_node(
                data_dir=options["data_dir"], host=options["host"], port=options["port"],
                eth_copies=options["eth_copies"], head_block=options["head_block"],
                ws_port=options["ws_port"], ws_rate=options["ws_rate"],
            )
        except (FileNotFoundError, ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            summary = server.summary()
            self.stdout.write(f"Replay node serving recordings from {server.data_dir}")
            self.stdout.write(
                f"  ethereum: {summary['blocks']} blocks ({summary['full_blocks']} with full transactions, "
                f"{summary['blocks_with_receipts']} with receipts), {summary['receipts']} receipts, "
                f"{summary['transactions']} transactions, {summary['eth_copies']} synthetic copies of the "
                f"19433902-19433903 pair, head {summary['head_block']}"
            )
            series = ", ".join(f"{k} <- {v}" for k, v in summary["coingecko_series"].items()) or "none"
            self.stdout.write(
                f"  coingecko: {summary['coingecko_responses']} recorded responses; daily series: {series}")
            self.stdout.write(f"  ETH_RPC_URL={server.eth_url}")
            self.stdout.write(f"  COINGECKO_API_URL={server.coingecko_url}")
            self.stdout.write(
                f"  bitcoin: {summary['bitcoin_txs']} transactions indexed, {summary['bitcoin_addresses']} addresses, "
                f"tip height {summary['bitcoin_tip_height']}, {summary['bitcoin_script_frames']} WebSocket script "
                f"frames at {server.ws_rate:g}/s")
            self.stdout.write(f"  BITCOIN_API_URL={server.bitcoin_url}")
            self.stdout.write(f"  BITCOIN_WS_URL={server.bitcoin_ws_url}")
            self.stdout.write(f"  control: {server.url}/_replay/faults, {server.url}/_replay/stats")
            self.stdout.write(
                f"  hyperliquid: {summary['hyperliquid_recordings']} recorded /info answers, "
                f"{summary['hyperliquid_users']} users, {summary['hyperliquid_types']} request types")
            self.stdout.write(f"  HYPERLIQUID_API_URL={server.hyperliquid_url}")
            self.stdout.write(
                f"  arbitrum: {summary['arbitrum_blocks']} blocks, {summary['arbitrum_receipts']} receipts, "
                f"{summary['arbitrum_logs']} logs, head {summary['arbitrum_head_block']}")
            self.stdout.write(f"  ARBITRUM_RPC_URL={server.arbitrum_url}")
            self.stdout.write(f"  sec: {summary['sec_submissions']} recorded submissions files, "
                              f"{summary['sec_feed_pages']} latest-filings feed pages")
            self.stdout.write(f"  SEC_DATA_URL={server.sec_data_url}")
            self.stdout.write(f"  SEC_WWW_URL={server.sec_www_url}")
            self.stdout.write(f"  reddit: {summary['reddit_listings']} recorded listings")
            self.stdout.write(f"  REDDIT_URL={server.reddit_url}")
            self.stdout.write("Press Ctrl+C to stop.")
            self.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            server.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write("Replay node stopped.")
