"""Registers the CryptoPanic collector (imported by CryptoPanicConfig.ready)."""

from ledgers.human.cryptopanic.services import COLLECTOR_NAME, cryptopanic_collect
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.HUMAN,
    run=cryptopanic_collect,
    task="cryptopanic.collect",
    description="CryptoPanic news (only with CRYPTOPANIC_API_KEY) -> posts with coins, votes and VADER sentiment",
    stale_after_s=1800,
    options=(CollectorOption("--api-url", "api_url", str, "CryptoPanic API URL instead of CRYPTOPANIC_URL"),),
))
