"""Registers the Hyperliquid collector in the whales collector registry (imported by HyperliquidConfig.ready)."""

from ledgers.hyperliquid.services import COLLECTOR_NAME, collect_once
from whales.collectors import Collector, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    run=collect_once,
    description="Hyperliquid whales (Info API) -> perp positions, fills as trades, deposits and withdrawals",
    stale_after_s=900,
))
