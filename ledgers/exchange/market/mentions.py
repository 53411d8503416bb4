"""Which coins a text mentions, against the Asset table: for exchange announcements and social posts.

Rules (stated so analysts can predict a hit):
- a symbol matches when written exactly as stored (``BTC``, ``stETH``), as a whole token, optionally with a
  leading ``$`` (``$PEPE``); a symbol that is also a common English word written in capitals (``ONE``, ``GAS``,
  ``ALL``, ``OMG``; ``COMMON_WORDS``) matches only with the ``$``;
- a name matches case-insensitively as whole words: the asset's name (``Bitcoin``, ``Chainlink``) and its
  CoinGecko id with dashes as spaces (``ethereum``, ``shiba inu``), when at least MIN_NAME_LENGTH letters;
- a wrapped token counts as the coin it wraps (``WETH`` -> ``ETH``: the asset's ``price_reference``).
Symbols of one character are never matched bare. The result lists canonical symbols in order of first mention.
"""

import re
from dataclasses import dataclass

COMMON_WORDS = frozenset({
    "A", "ALL", "AND", "ANY", "ARE", "BE", "BIG", "BY", "CAN", "FOR", "FUN", "GAS", "GET", "GO", "GOOD", "HOT",
    "IN", "IS", "IT", "JUST", "KEY", "LOVE", "MORE", "MOON", "NEW", "NEXT", "NOT", "NOW", "OF", "OMG", "ON", "ONE",
    "OR", "OUT", "PUMP", "SAFE", "SO", "THE", "TO", "UP", "US", "WE", "WIN", "YES",
})
MIN_NAME_LENGTH = 4
_BOUNDARY = r"(?<![A-Za-z0-9_$])"
_END = r"(?![A-Za-z0-9_])"


@dataclass(frozen=True)
class CoinMatcher:
    """A compiled matcher: ``symbols`` (as stored -> canonical symbol), ``names`` (lower-case -> canonical)."""

    symbols: dict[str, str]
    names: dict[str, str]

    def __post_init__(self) -> None:
        bare = sorted((s for s in self.symbols if len(s) > 1 and s.upper() not in COMMON_WORDS), key=len, reverse=True)
        dollar = sorted(self.symbols, key=len, reverse=True)
        names = sorted(self.names, key=len, reverse=True)
        parts = []
        if dollar:
            parts.append(r"\$(?P<dollar>" + "|".join(map(re.escape, dollar)) + r")" + _END)
        if bare:
            parts.append(_BOUNDARY + r"(?P<symbol>" + "|".join(map(re.escape, bare)) + r")" + _END)
        if names:
            parts.append(_BOUNDARY + r"(?i:(?P<name>" + "|".join(
                r"\s+".join(map(re.escape, name.split())) for name in names) + r"))" + _END)
        object.__setattr__(self, "_pattern", re.compile("|".join(parts)) if parts else None)

    def mentions(self, text: str) -> list[str]:
        """Canonical symbols mentioned in ``text``, in order of first mention, each once."""
        pattern: re.Pattern[str] | None = self._pattern  # type: ignore[attr-defined]
        found: list[str] = []
        if pattern is None:
            return found
        for match in pattern.finditer(text):
            if match["dollar"] is not None:
                symbol = self.symbols[match["dollar"]]
            elif match["symbol"] is not None:
                symbol = self.symbols[match["symbol"]]
            else:
                symbol = self.names[" ".join(match["name"].lower().split())]
            if symbol not in found:
                found.append(symbol)
        return found


def coin_matcher() -> CoinMatcher:
    """A matcher over every Asset (symbols, names, CoinGecko ids; module docstring). One query; build it once
    per run, not per text."""
    from ledgers.exchange.market.models import Asset

    symbols: dict[str, str] = {}
    names: dict[str, str] = {}
    for symbol, name, coingecko_id, reference in Asset.objects.values_list(
            "symbol", "name", "coingecko_id", "price_reference__symbol").order_by("id"):
        canonical = reference or symbol
        symbols.setdefault(symbol, canonical)
        for alias in (name, coingecko_id.replace("-", " ")):
            alias = " ".join(alias.lower().split())
            if len(alias.replace(" ", "")) >= MIN_NAME_LENGTH and alias.upper() not in COMMON_WORDS:
                names.setdefault(alias, canonical)
    return CoinMatcher(symbols=symbols, names=names)
