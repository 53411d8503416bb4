"""Registers the Hyperliquid collectors (imported by HyperliquidConfig.ready): the whales' positions, fills
and ledger, and the bridge discovery on Arbitrum."""

from ledgers.glass.hyperliquid import bridge
from ledgers.glass.hyperliquid.services import COLLECTOR_NAME, collect_once
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register, non_negative_int

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.GLASS,
    run=collect_once,
    task="hyperliquid.collect_whales",
    description="Hyperliquid whales (Info API) -> perp positions, fills as trades, deposits and withdrawals",
    stale_after_s=900,
    reports_progress=True,
    options=(
        CollectorOption("--address", "address", str, "only this tracked whale address"),
        CollectorOption("--api-url", "api_url", str, "Info API URL instead of HYPERLIQUID_API_URL"),
    ),
))
collector_register(Collector(
    name=bridge.COLLECTOR_NAME,
    ledger=Ledger.GLASS,
    run=bridge.collect_once,
    task="hyperliquid.discover_bridge_whales",
    description="Hyperliquid bridge deposits on Arbitrum -> depositors become Hyperliquid whales",
    stale_after_s=3600,
    reports_progress=True,
    options=(
        CollectorOption("--from-block", "from_block", non_negative_int, "start here (Arbitrum block)"),
        CollectorOption("--to-block", "to_block", non_negative_int, "stop after this block"),
        CollectorOption("--rpc-url", "rpc_url", str, "Arbitrum node URL instead of ARBITRUM_RPC_URL"),
    ),
))
