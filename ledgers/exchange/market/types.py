"""What the market client returns: plain records, no ORM."""

from datetime import datetime
from decimal import Decimal
from typing import NamedTuple


class PricePoint(NamedTuple):
    """One price of a coin: ``timestamp`` aware UTC, ``price_usd`` in USD (CoinGecko ``prices`` entry, or a
    CSV row). A tuple, so ``(timestamp, price_usd)`` pairs compare and unpack alike."""

    timestamp: datetime
    price_usd: Decimal
