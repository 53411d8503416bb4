"""Where a paper account takes its prices (``Account.venue``), as a ``PriceSource``.

* ``market`` (default): ``trading.selectors.market_price``, the stored ``ledgers.exchange.market`` prices.
* ``hyperliquid``: the Hyperliquid mid price (``allMids`` of the Info API, through
  ``ledgers.glass.hyperliquid.client.HyperliquidClient`` with its timeout, retries and shared weight
  budget). Mids exist only for the present: a price asked for a time more than
  ``TRADING_HYPERLIQUID_MID_MAX_AGE_S`` (default 60 s) away from now is None, so a backtest or a
  stale check blocks instead of using today's mid for the past. The answer is kept in process for
  ``TRADING_HYPERLIQUID_MID_TTL_S`` (default 5 s), so one order's checks see one consistent set of
  mids and a burst of orders costs one request. An unreachable API or a malformed answer gives
  None (logged): trading is blocked, never priced from nothing. Coins are Hyperliquid's names
  (``BTC``, ``ETH``, ``SOL``...); a symbol is matched upper-cased.

The network call is made with no lock held: the process-wide lock guards only the cache, and the
trading services take their price source from ``price_source_prefetched`` BEFORE they lock an account
(a slow venue must not hold the account's rows, or every other thread's prices, for its timeout).
"""

import logging
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from ledgers.glass.hyperliquid.client import HyperliquidClient, HyperliquidError, HyperliquidUnavailable
from ledgers.glass.hyperliquid.types import BadRecord
from trading.models import Venue
from trading.selectors import PriceSource, market_price
from whales.errors import InvalidParameter

logger = logging.getLogger(__name__)


_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, Decimal] | None]] = {}


def _mids() -> dict[str, Decimal] | None:
    """The current mids by coin (Decimal), cached for the TTL; None when they cannot be fetched."""
    ttl = float(getattr(settings, "TRADING_HYPERLIQUID_MID_TTL_S", 5))
    url = settings.HYPERLIQUID_API_URL
    with _lock:
        cached = _cache.get(url)
        if cached is not None and time.monotonic() - cached[0] < ttl:
            return cached[1]
    # Fetched with no lock held (two threads may both fetch once when the cache expires; neither waits).
    client = HyperliquidClient.from_settings(url)
    try:
        mids: dict[str, Decimal] | None = {coin.upper(): price for coin, price in client.all_mids().items()
                                           if price.is_finite() and price > 0}
    except (HyperliquidError, HyperliquidUnavailable, BadRecord) as exc:
        logger.warning("trading.venue.hyperliquid_mids_failed", extra={"error": str(exc)})
        mids = None
    finally:
        client.close()
    with _lock:
        _cache[url] = (time.monotonic(), mids)
    return mids


def hyperliquid_mid(symbol: str, when: datetime) -> Decimal | None:
    """The Hyperliquid mid of ``symbol`` (USD) if ``when`` is now (module docstring), else None."""
    max_age = timedelta(seconds=float(getattr(settings, "TRADING_HYPERLIQUID_MID_MAX_AGE_S", 60)))
    if abs(timezone.now() - when) > max_age:
        return None
    mids = _mids()
    return None if mids is None else mids.get(symbol.strip().upper())


def price_source_prefetched(venue: str) -> PriceSource:
    """The PriceSource of ``venue`` with its network part done now: for ``hyperliquid`` the mids are
    fetched here (call this before taking any lock) and the returned source only reads that snapshot,
    under the same time rule as ``hyperliquid_mid``; ``market`` reads the database as before.
    Raises: InvalidParameter for an unknown venue."""
    if venue != Venue.HYPERLIQUID:
        return price_source_for(venue)
    mids = _mids()
    max_age = timedelta(seconds=float(getattr(settings, "TRADING_HYPERLIQUID_MID_MAX_AGE_S", 60)))

    def snapshot(symbol: str, when: datetime) -> Decimal | None:
        if mids is None or abs(timezone.now() - when) > max_age:
            return None
        return mids.get(symbol.strip().upper())

    return snapshot


def mids_cache_clear() -> None:
    """Forget the cached mids (tests, or after changing HYPERLIQUID_API_URL)."""
    with _lock:
        _cache.clear()


def price_source_for(venue: str) -> PriceSource:
    """The PriceSource of a venue (``Venue``). Raises: InvalidParameter for an unknown venue."""
    if venue == Venue.MARKET:
        return market_price
    if venue == Venue.HYPERLIQUID:
        return hyperliquid_mid
    raise InvalidParameter(f"unknown venue {venue!r}; expected one of {', '.join(Venue.values)}")
