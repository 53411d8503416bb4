"""Registers the Ethereum collectors: blocks, and holdings (imported by EthereumConfig.ready)."""

from ledgers.glass.ethereum.holdings import COLLECTOR_NAME as HOLDINGS_COLLECTOR
from ledgers.glass.ethereum.holdings import holdings_collect
from ledgers.glass.ethereum.services import COLLECTOR_NAME, collect_once
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register, non_negative_int, positive_int

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.GLASS,
    run=collect_once,
    task="ethereum.collect_blocks",
    description="Ethereum blocks and receipts -> whale transfers, swaps and exchange flows",
    stale_after_s=600,
    reports_progress=True,
    options=(
        CollectorOption("--from-block", "from_block", non_negative_int,
                        "start here; re-walking stored blocks is safe"),
        CollectorOption("--to-block", "to_block", non_negative_int, "stop after this block"),
        CollectorOption("--max-blocks", "max_blocks", positive_int, "at most this many blocks"),
        CollectorOption("--confirmations", "confirmations", non_negative_int,
                        "blocks behind head (default ETH_CONFIRMATIONS)"),
        CollectorOption("--rpc-url", "rpc_url", str, "node URL instead of ETH_RPC_URL"),
    ),
))

collector_register(Collector(
    name=HOLDINGS_COLLECTOR,
    ledger=Ledger.GLASS,
    run=holdings_collect,
    task="ethereum.refresh_holdings",
    description="ETH and ERC-20 balances of the tracked Ethereum whales at the confirmed head -> holdings",
    stale_after_s=3600,
    options=(CollectorOption("--rpc-url", "rpc_url", str, "node URL instead of ETH_RPC_URL"),),
))
