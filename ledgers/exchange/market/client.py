"""CoinGecko REST client (``/api/v3``): current and historical USD prices, Decimal end to end.

The client knows nothing about the database or about the replay node: point ``base_url`` at
CoinGecko, a Pro/Demo endpoint, or ``ledgers.replay``'s ``/coingecko/api/v3`` and it behaves the same.

Retries are urllib3's ``Retry`` on the session (timeouts, connection errors, 429 and 5xx; exponential
backoff with jitter; ``Retry-After`` honoured up to ``RETRY_AFTER_MAX_S``). What is still failing after
the retries becomes ``PriceSourceUnavailable`` (retryable later, e.g. by Celery ``autoretry_for``);
anything that waiting cannot fix becomes ``PriceSourceError``.
"""

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import requests
from django.conf import settings

from ledgers.errors import SourceError, SourceUnavailable
from ledgers.exchange.market.types import PricePoint
from ledgers.http import RETRY_STATUSES, retrying_session

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PriceSourceUnavailable(SourceUnavailable):
    """Retryable: timeout, connection error, or 429/5xx still answered after the client's retries."""


class PriceSourceError(SourceError):
    """Terminal: a 4xx other than 429, or a body that is not the JSON shape CoinGecko documents."""


class CoinGeckoClient:
    """A small CoinGecko v3 client over one ``requests.Session`` with retries.

    ``api_key`` (optional) is sent as the ``x-cg-demo-api-key`` header. Every request has
    ``timeout=timeout_s`` (connect and read, seconds). ``retries`` is urllib3's total retry count
    (timeouts, connection errors, 429/5xx together); ``backoff_factor_s`` the first backoff sleep.
    """

    RETRY_TOTAL = 4
    BACKOFF_FACTOR_S = 0.5  # sleeps ~0.5, 1, 2, 4 s (+ up to BACKOFF_JITTER_S), capped at BACKOFF_MAX_S
    BACKOFF_JITTER_S = 0.5
    BACKOFF_MAX_S = 20.0
    RETRY_AFTER_MAX_S = 30  # a larger Retry-After is not waited for: the call fails as unavailable

    def __init__(
        self,
        base_url: str,
        api_key: str = "",
        timeout_s: float = 15.0,
        *,
        retries: int = RETRY_TOTAL,
        backoff_factor_s: float = BACKOFF_FACTOR_S,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = retrying_session(
            retries=retries, backoff_s=backoff_factor_s, methods=frozenset({"GET"}),
            backoff_jitter_s=self.BACKOFF_JITTER_S, backoff_max_s=self.BACKOFF_MAX_S,
            retry_after_max_s=self.RETRY_AFTER_MAX_S, pool_maxsize=10)
        self.session.headers["Accept"] = "application/json"
        if api_key:
            self.session.headers["x-cg-demo-api-key"] = api_key

    @classmethod
    def from_settings(cls, url: str | None = None) -> "CoinGeckoClient":
        """Client for ``url`` (default COINGECKO_API_URL) with COINGECKO_API_KEY and COINGECKO_TIMEOUT_S."""
        return cls(
            url or settings.COINGECKO_API_URL,
            api_key=settings.COINGECKO_API_KEY,
            timeout_s=settings.COINGECKO_TIMEOUT_S,
        )

    def close(self) -> None:
        self.session.close()

    # --- endpoints -------------------------------------------------------------------------

    def simple_price(self, *, ids: list[str], vs_currency: str = "usd") -> dict[str, Decimal]:
        """Current price of each CoinGecko coin id in ``vs_currency``.

        Source: ``GET /simple/price?ids=a,b&vs_currencies=usd``.
        Units: price of one coin in ``vs_currency``, exact Decimal as CoinGecko printed it.
        Shape: ``{coin_id: price}``; ids CoinGecko does not know (or sends no price for) are absent.
        Raises: PriceSourceUnavailable (retryable), PriceSourceError (terminal, incl. malformed body).
        """
        if not ids:
            return {}
        body = self._get("/simple/price", params={"ids": ",".join(ids), "vs_currencies": vs_currency})
        if not isinstance(body, dict):
            raise PriceSourceError(f"simple/price: expected a JSON object, got {type(body).__name__}")
        prices: dict[str, Decimal] = {}
        for coin_id, quotes in body.items():
            if not isinstance(quotes, dict):
                raise PriceSourceError(f"simple/price: {coin_id!r} maps to {type(quotes).__name__}, not an object")
            raw = quotes.get(vs_currency)
            if raw is None:
                continue
            price = _decimal(raw)
            if price is None:
                raise PriceSourceError(f"simple/price: {coin_id!r} price {raw!r} is not a number")
            prices[coin_id] = price
        return prices

    def market_chart(self, *, coin_id: str, days: int, vs_currency: str = "usd") -> list[PricePoint]:
        """Price history of one coin over the last ``days`` days.

        Source: ``GET /coins/{coin_id}/market_chart?vs_currency=usd&days=N`` (``prices`` only; CoinGecko
            picks the granularity: 5-minutely for 1 day, hourly up to 90 days, daily 00:00 UTC beyond).
        Units: PricePoint(aware UTC timestamp, price in ``vs_currency`` as Decimal; USD by default).
        Shape: in the order CoinGecko sends (oldest first); a point that is not ``[ms, number]`` is
            logged (``market.coingecko.bad_point``) and skipped, the others are kept.
        Raises: PriceSourceUnavailable (retryable), PriceSourceError (terminal: unknown coin id -> 404,
            body without a ``prices`` list).
        """
        if days < 1:
            raise ValueError("days must be >= 1")
        body = self._get(
            f"/coins/{quote(coin_id, safe='')}/market_chart",
            params={"vs_currency": vs_currency, "days": str(days)},
        )
        if not isinstance(body, dict) or not isinstance(body.get("prices"), list):
            raise PriceSourceError(f"market_chart {coin_id}: body has no 'prices' list")
        points: list[PricePoint] = []
        for index, point in enumerate(body["prices"]):
            parsed = _chart_point(point)
            if parsed is None:
                logger.warning("market.coingecko.bad_point", extra={"coin_id": coin_id, "index": index,
                                                                    "point": repr(point)[:200]})
                continue
            points.append(parsed)
        return points

    # --- transport -------------------------------------------------------------------------

    def _get(self, path: str, *, params: dict[str, str]) -> Any:
        url = f"{self.base_url}{path}"
        try:
            response = self.session.get(url, params=params, timeout=self.timeout_s)
        except (requests.Timeout, requests.ConnectionError, requests.exceptions.RetryError) as exc:
            raise PriceSourceUnavailable(f"GET {path}: {exc.__class__.__name__}: {exc}") from exc
        except requests.RequestException as exc:
            raise PriceSourceError(f"GET {path}: {exc.__class__.__name__}: {exc}") from exc
        if response.status_code in RETRY_STATUSES:
            raise PriceSourceUnavailable(f"GET {path}: HTTP {response.status_code} after retries")
        if response.status_code != 200:
            raise PriceSourceError(f"GET {path}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            # parse_float=Decimal keeps prices exactly as printed (no binary float on the way).
            return json.loads(response.text, parse_float=Decimal)
        except ValueError as exc:  # JSONDecodeError is a ValueError
            raise PriceSourceError(f"GET {path}: body is not JSON: {exc}") from exc


def _decimal(raw: object) -> Decimal | None:
    """A finite Decimal from a JSON number (int or Decimal via parse_float); None otherwise."""
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal):
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _chart_point(point: object) -> PricePoint | None:
    if not isinstance(point, list) or len(point) != 2:
        return None
    time_ms, price = _decimal(point[0]), _decimal(point[1])
    if time_ms is None or price is None or price < 0:
        return None
    try:
        # Exact: no float division of the millisecond epoch.
        return PricePoint(EPOCH + timedelta(milliseconds=int(time_ms)), price)
    except OverflowError:
        return None
