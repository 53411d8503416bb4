"""Registers the Ethereum collector in the whales collector registry (imported by EthereumConfig.ready)."""

from ledgers.glass.ethereum.services import COLLECTOR_NAME, collect_once
from whales.collectors import Collector, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    run=collect_once,
    description="Ethereum blocks and receipts -> whale transfers, swaps and exchange flows",
    stale_after_s=600,
))
