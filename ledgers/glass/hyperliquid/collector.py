"""Registers the Hyperliquid collector in the whales collector registry (imported by HyperliquidConfig.ready)."""

from ledgers.glass.hyperliquid import bridge
from ledgers.glass.hyperliquid.services import COLLECTOR_NAME, collect_once
from whales.collectors import Collector, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    run=collect_once,
    description="Hyperliquid whales (Info API) -> perp positions, fills as trades, deposits and withdrawals",
    stale_after_s=900,
))
collector_register(Collector(
    name=bridge.COLLECTOR_NAME,
    run=bridge.collect_once,
    description="Hyperliquid bridge deposits on Arbitrum -> depositors become Hyperliquid whales",
    stale_after_s=3600,
))
