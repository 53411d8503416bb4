"""Registers the market price collector (imported by MarketConfig.ready)."""

from ledgers.exchange.market.services import COLLECTOR_NAME, prices_collect
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register, positive_int

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.EXCHANGE,
    run=prices_collect,
    task="market.update_prices",
    description="CoinGecko USD prices of the seeded assets (market_chart, hourly points)",
    stale_after_s=3600,
    options=(
        CollectorOption("--days", "days", positive_int, "days of prices to fetch (default 2)"),
        CollectorOption("--api-url", "api_url", str, "CoinGecko URL instead of COINGECKO_API_URL"),
    ),
))
