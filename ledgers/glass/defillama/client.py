"""DeFiLlama client: stablecoin supply (``stablecoins.llama.fi``) and protocol TVL (``api.llama.fi``).

Both are free public APIs without a key; every request has ``timeout_s`` and the shared transport's retries.
Answers are decoded with ``parse_float=Decimal``. Raises ``DefiLlamaUnavailable`` (retryable) or
``DefiLlamaError`` (terminal), nothing else.
"""

import json
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings

from ledgers.errors import SourceError, SourceUnavailable
from ledgers.glass.defillama.activity import DefiLlamaFormatError, protocols_parse, stablecoins_parse
from ledgers.glass.defillama.types import ProtocolTvl, StablecoinSupply
from ledgers.http import RETRY_STATUSES, BudgetedHttpClient

MAX_BODY_BYTES = 50_000_000  # /protocols lists every protocol: several MB


class DefiLlamaUnavailable(SourceUnavailable):
    """DeFiLlama could not answer now: retryable."""


class DefiLlamaError(SourceError):
    """DeFiLlama answered with something unusable."""


class DefiLlamaClient(BudgetedHttpClient):
    """``base_url`` is the TVL API (DEFILLAMA_API_URL), ``stablecoins_url`` the stablecoins API
    (DEFILLAMA_STABLECOINS_URL)."""

    def __init__(self, base_url: str, *, stablecoins_url: str, timeout_s: float = 20.0) -> None:
        super().__init__(base_url, timeout_s=timeout_s)
        self.stablecoins_url = stablecoins_url.rstrip("/")

    @classmethod
    def from_settings(cls, api_url: str | None = None, stablecoins_url: str | None = None) -> "DefiLlamaClient":
        return cls(api_url or settings.DEFILLAMA_API_URL,
                   stablecoins_url=stablecoins_url or settings.DEFILLAMA_STABLECOINS_URL,
                   timeout_s=settings.DEFILLAMA_TIMEOUT_S)

    def _json(self, url: str, params: dict[str, str] | None = None) -> Any:
        try:
            response = self._session.get(url, params=params, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise DefiLlamaUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
        self.requests_made += 1
        if response.status_code in RETRY_STATUSES:
            raise DefiLlamaUnavailable(f"{url}: HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise DefiLlamaError(f"{url}: HTTP {response.status_code}")
        if len(response.content) > MAX_BODY_BYTES:
            raise DefiLlamaError(f"{url}: answer larger than {MAX_BODY_BYTES} bytes")
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise DefiLlamaError(f"{url}: malformed JSON ({str(exc)[:120]})") from exc

    def stablecoins(self) -> list[StablecoinSupply]:
        """``GET /stablecoins?includePrices=false``. Raises: DefiLlamaUnavailable, DefiLlamaError."""
        url = f"{self.stablecoins_url}/stablecoins"
        try:
            return stablecoins_parse(self._json(url, {"includePrices": "false"}))
        except DefiLlamaFormatError as exc:
            raise DefiLlamaError(f"{url}: {exc}") from exc

    def protocols(self) -> list[ProtocolTvl]:
        """``GET /protocols``. Raises: DefiLlamaUnavailable, DefiLlamaError."""
        url = f"{self.base_url}/protocols"
        try:
            return protocols_parse(self._json(url))
        except DefiLlamaFormatError as exc:
            raise DefiLlamaError(f"{url}: {exc}") from exc
