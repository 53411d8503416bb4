"""Pure parsing of DeFiLlama answers (JSON decoded with ``parse_float=Decimal``, so USD figures keep every digit
the answer printed) and the supply-change rule. No I/O, no ORM."""

from decimal import Decimal
from typing import Any

from ledgers.glass.defillama.types import ProtocolTvl, StablecoinSupply
from whales.money import q_percent


class DefiLlamaFormatError(ValueError):
    """An answer is not the shape DeFiLlama documents."""


def _usd(value: Any) -> Decimal | None:
    if isinstance(value, dict):
        value = value.get("peggedUSD")
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return Decimal(value)
    return None


def stablecoins_parse(raw: Any) -> list[StablecoinSupply]:
    """``GET stablecoins.llama.fi/stablecoins``: each pegged asset with a USD circulating figure (others skipped).
    Raises: DefiLlamaFormatError without a ``peggedAssets`` list."""
    if not isinstance(raw, dict) or not isinstance(raw.get("peggedAssets"), list):
        raise DefiLlamaFormatError("no peggedAssets list")
    out = []
    for asset in raw["peggedAssets"]:
        if not isinstance(asset, dict):
            continue
        circulating = _usd(asset.get("circulating"))
        symbol = str(asset.get("symbol") or "").strip()
        if circulating is None or not symbol:
            continue
        out.append(StablecoinSupply(symbol=symbol[:30], circulating_usd=circulating,
                                    prev_week_usd=_usd(asset.get("circulatingPrevWeek")),
                                    prev_month_usd=_usd(asset.get("circulatingPrevMonth"))))
    return out


def protocols_parse(raw: Any) -> list[ProtocolTvl]:
    """``GET api.llama.fi/protocols``: each protocol with a numeric ``tvl``. Raises: DefiLlamaFormatError when the
    answer is not a list."""
    if not isinstance(raw, list):
        raise DefiLlamaFormatError("protocols answer is not a list")
    out = []
    for item in raw:
        tvl = _usd(item.get("tvl")) if isinstance(item, dict) else None
        if tvl is None or not item.get("slug"):
            continue
        out.append(ProtocolTvl(slug=str(item["slug"])[:100], name=str(item.get("name") or item["slug"])[:200],
                               category=str(item.get("category") or "")[:100],
                               chains=tuple(str(c) for c in item.get("chains") or [])[:50], tvl_usd=tvl))
    return out


def supply_change_percent(now: Decimal, before: Decimal | None) -> Decimal | None:
    """(now - before) / before x 100, 4 places; None without a positive ``before``."""
    if before is None or before <= 0:
        return None
    return q_percent((now - before) / before * 100)
