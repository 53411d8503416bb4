"""Reads of assets and prices. ``price_at`` for one lookup, ``PriceBook`` for a batch without per-row queries.

Pricing rules (assumptions, stated once here):
- ``is_stablecoin`` assets are worth exactly 1 USD (a de-peg is not modelled);
- an asset with ``price_reference`` takes that asset's price (WETH = ETH, WBTC = BTC, 1:1);
- otherwise the latest PriceHistory row at or before the instant, refused (None) when it is older
  than ``settings.PRICE_MAX_AGE_HOURS``. The recorded CoinGecko series is daily (00:00 UTC), so a
  recorded price may be up to ~24 h older than the trade it values.
"""

import bisect
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from ledgers.exchange.market.models import Asset, PriceHistory

ONE = Decimal(1)


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """What the collectors need of an asset: id, symbol, decimals and how it is priced."""

    id: int
    symbol: str
    decimals: int
    contract_address: str
    is_stablecoin: bool  # priced at exactly 1 USD: a stablecoin, or priced through one
    priced_by_id: int  # the asset whose PriceHistory values this one (itself, or its reference)


def _info(asset: Asset) -> AssetInfo:
    # A token priced through a stablecoin (e.g. a wrapped USDC) is itself worth 1 USD: the reference
    # has no PriceHistory to take. (Reads price_reference: select_related it for many assets.)
    reference = asset.price_reference if asset.price_reference_id else None
    return AssetInfo(
        id=asset.id,
        symbol=asset.symbol,
        decimals=asset.decimals,
        contract_address=asset.contract_address,
        is_stablecoin=asset.is_stablecoin or (reference is not None and reference.is_stablecoin),
        priced_by_id=asset.price_reference_id or asset.id,
    )


def asset_map(*, chain: str) -> dict[str, AssetInfo]:
    """``{contract_address: AssetInfo}`` of the assets on ``chain``; the native coin is under ""."""
    assets = Asset.objects.filter(chain=chain).select_related("price_reference")
    return {a.contract_address: _info(a) for a in assets}


def max_price_age() -> timedelta:
    """How old a price may be and still value a trade (settings.PRICE_MAX_AGE_HOURS)."""
    return timedelta(hours=settings.PRICE_MAX_AGE_HOURS)


def price_at(*, asset: Asset | AssetInfo, when: datetime) -> Decimal | None:
    """USD price of ``asset`` at ``when`` (aware UTC), by the rules in this module's docstring.

    Returns None when there is no price at or before ``when`` within PRICE_MAX_AGE_HOURS.
    Source: PriceHistory (CoinGecko, imported by ``import_prices`` or the live price task).
    """
    info = asset if isinstance(asset, AssetInfo) else _info(asset)
    if info.is_stablecoin:
        return ONE
    row = (
        PriceHistory.objects.filter(asset_id=info.priced_by_id, timestamp__lte=when,
                                    timestamp__gte=when - max_price_age())
        .order_by("-timestamp")
        .values_list("price_usd", flat=True)
        .first()
    )
    return row


class PriceBook:
    """Prices of several assets over a time range, loaded in one query, for pricing a batch.

    ``usd(asset, when)`` follows exactly the rules of ``price_at``; use ``PriceBook.load`` with the
    batch's time range (it loads PRICE_MAX_AGE_HOURS before ``start`` as well).
    """

    def __init__(self, series: dict[int, tuple[list[datetime], list[Decimal]]]) -> None:
        self._series = series
        self._max_age = max_price_age()

    @classmethod
    def load(cls, *, assets: Iterable[AssetInfo], start: datetime, end: datetime) -> "PriceBook":
        """Load the PriceHistory of ``assets`` for [start - max age, end]."""
        ids = {a.priced_by_id for a in assets if not a.is_stablecoin}
        series: dict[int, tuple[list[datetime], list[Decimal]]] = {i: ([], []) for i in ids}
        rows = (
            PriceHistory.objects.filter(asset_id__in=ids, timestamp__gte=start - max_price_age(),
                                        timestamp__lte=end)
            .order_by("asset_id", "timestamp")
            .values_list("asset_id", "timestamp", "price_usd")
        )
        for asset_id, timestamp, price in rows:
            series[asset_id][0].append(timestamp)
            series[asset_id][1].append(price)
        return cls(series)

    def usd(self, asset: AssetInfo, when: datetime) -> Decimal | None:
        """USD price of ``asset`` at ``when``; None when not priced (see ``price_at``)."""
        if asset.is_stablecoin:
            return ONE
        times, prices = self._series.get(asset.priced_by_id, ([], []))
        i = bisect.bisect_right(times, when) - 1
        if i < 0 or when - times[i] > self._max_age:
            return None
        return prices[i]


def latest_price(*, asset: Asset | AssetInfo) -> tuple[Decimal, datetime] | None:
    """The newest known USD price of ``asset`` and its time, however old (for valuing holdings "at the
    latest price"; a stablecoin is 1 USD now). None when the asset has no price at all."""
    info = asset if isinstance(asset, AssetInfo) else _info(asset)
    if info.is_stablecoin:
        return ONE, timezone.now()
    row = (PriceHistory.objects.filter(asset_id=info.priced_by_id).order_by("-timestamp")
           .values_list("price_usd", "timestamp").first())
    return None if row is None else (row[0], row[1])
