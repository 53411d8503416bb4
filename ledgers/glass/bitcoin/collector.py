"""Registers the Bitcoin collectors in the whales collector registry (imported by BitcoinConfig.ready)."""

from ledgers.glass.bitcoin.monitor import live_stats
from ledgers.glass.bitcoin.monitor_run import MONITOR_NAME, monitor_once
from ledgers.glass.bitcoin.services import COLLECTOR_NAME, collect_once
from whales.collectors import Collector, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    run=collect_once,
    description="Bitcoin whale addresses (Esplora REST) -> sends, receives, exchange flows, balances",
    stale_after_s=900,
))
collector_register(Collector(
    name=MONITOR_NAME,
    run=monitor_once,
    description="Bitcoin mempool whale monitor (mempool.space WebSocket): unconfirmed txs >= 100 BTC",
    stale_after_s=600,
    live_stats=live_stats,
))
