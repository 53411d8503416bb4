"""What the DeFiLlama client returns: plain records, no ORM. USD amounts are Decimal, parsed from the JSON text."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class StablecoinSupply:
    """A stablecoin's circulating supply in USD (``peggedUSD``) now, a week ago and a month ago (None where the
    answer has no such figure)."""

    symbol: str
    circulating_usd: Decimal
    prev_week_usd: Decimal | None
    prev_month_usd: Decimal | None


@dataclass(frozen=True, slots=True)
class ProtocolTvl:
    """A protocol's total value locked in USD (``/protocols``), with its chains and category."""

    slug: str
    name: str
    category: str
    chains: tuple[str, ...]
    tvl_usd: Decimal
