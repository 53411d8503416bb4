"""Registers the DeFiLlama collector (imported by DefiLlamaConfig.ready)."""

from ledgers.glass.defillama.services import COLLECTOR_NAME, defillama_collect
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.GLASS,
    run=defillama_collect,
    task="defillama.collect",
    description="DeFiLlama stablecoin supply (USDT, USDC, ...) and protocol TVL -> daily snapshots, supply moves",
    stale_after_s=2 * 86_400,
    options=(
        CollectorOption("--api-url", "api_url", str, "TVL API instead of DEFILLAMA_API_URL"),
        CollectorOption("--stablecoins-url", "stablecoins_url", str,
                        "stablecoins API instead of DEFILLAMA_STABLECOINS_URL"),
    ),
))
