"""The daily-history backfill (``whales.analytics.history``) valued at the exchange ledger's prices: the engine
lives with the metrics; the prices it needs live here (``whales`` imports no other app)."""

from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

from ledgers.exchange.market.selectors import AssetInfo, PriceBook, asset_map
from whales.analytics.history import BackfillProgress, BackfillResult, PriceOf
from whales.analytics.history import metrics_backfill as _metrics_backfill


class MarketDailyPrices:
    """``whales.analytics.history.DailyPrices`` over the market app: a token is priced only through its own Asset
    row (by contract address on its chain, "" = the native coin), by the rules of ``ledgers.exchange.market.
    selectors`` (stablecoins 1 USD, price references, the latest daily close within PRICE_MAX_AGE_HOURS).
    One PriceHistory query per call, for every asset of the chain over [start, end]."""

    def __init__(self) -> None:
        self._assets: dict[str, dict[str, AssetInfo]] = {}

    def for_chain(self, chain: str, start: datetime, end: datetime) -> PriceOf:
        """``price_of(token_address, when)`` for ``chain`` over [start, end] (None: no price then)."""
        assets = self._assets.get(chain)
        if assets is None:
            assets = self._assets[chain] = asset_map(chain=chain)
        book = PriceBook.load(assets=assets.values(), start=start, end=end)

        def price_of(token_address: str, when: datetime) -> Decimal | None:
            asset = assets.get(token_address)
            return None if asset is None else book.usd(asset, when)

        return price_of


def metrics_backfill(*, whale_ids: Sequence[int] | None = None, days: int | None = None, today: date | None = None,
                     progress: Callable[[BackfillProgress], None] | None = None) -> BackfillResult:
    """``whales.analytics.history.metrics_backfill`` at the market's daily prices (same arguments, result and
    guarantees: idempotent, one transaction per whale, today never written)."""
    return _metrics_backfill(prices=MarketDailyPrices(), whale_ids=whale_ids, days=days, today=today,
                             progress=progress)
