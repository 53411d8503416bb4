"""Registers the Bitcoin collectors (imported by BitcoinConfig.ready): the address collector, a beat task,
and the mempool monitor, a long-running process (``manage.py monitor_mempool``)."""

from ledgers.glass.bitcoin.monitor import live_stats
from ledgers.glass.bitcoin.monitor_run import MONITOR_NAME, monitor_collect
from ledgers.glass.bitcoin.services import COLLECTOR_NAME, collect_once
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register, positive_float

API_URL = CollectorOption("--api-url", "api_url", str, "Esplora URL instead of BITCOIN_API_URL")

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.GLASS,
    run=collect_once,
    task="bitcoin.collect_addresses",
    description="Bitcoin whale addresses (Esplora REST) -> sends, receives, exchange flows, balances",
    stale_after_s=900,
    reports_progress=True,
    options=(CollectorOption("--address", "address", str, "only this tracked whale address"), API_URL),
))
collector_register(Collector(
    name=MONITOR_NAME,
    ledger=Ledger.GLASS,
    run=monitor_collect,
    description="Bitcoin mempool whale monitor (mempool.space WebSocket): unconfirmed txs >= 100 BTC",
    stale_after_s=600,
    live_stats=live_stats,
    options=(
        CollectorOption("--duration", "duration_s", positive_float, "seconds to monitor (default 60)"),
        CollectorOption("--ws-url", "ws_url", str, "WebSocket URL instead of BITCOIN_WS_URL"),
        API_URL,
    ),
))
