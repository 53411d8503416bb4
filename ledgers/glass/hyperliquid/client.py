"""Hyperliquid Info API client (``POST {HYPERLIQUID_API_URL}/info``), with the request weight budget.

We use requests rather than hyperliquid-python-sdk's ``Info``: the SDK's constructor makes network
calls (STACK.md pitfall 5) and it has no notion of a shared weight budget; the API is a handful of
JSON POSTs. Every number arrives as a string and the callers turn it into a Decimal.

Weights (Hyperliquid's published limit: 1,200 weight per minute per IP; ``INFO_WEIGHTS``):
``clearinghouseState``, ``spotClearinghouseState``, ``l2Book``, ``allMids``, ``orderStatus`` weigh 2,
``userRole`` 60, every other info request 20; the requests that return lists of fills, funding or
ledger updates also weigh 1 more per 20 items returned, which is only known after the answer and is
spent then (the next request waits for it). Each request spends its base weight from the shared
budget before it is sent; a 429 is retried with backoff (urllib3 ``Retry``, honouring Retry-After).
"""

import logging
from typing import Any

import requests
from django.conf import settings

from ledgers.budget import BudgetExhausted, RequestBudget
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.http import RETRY_STATUSES, retrying_session

logger = logging.getLogger(__name__)

LIGHT_TYPES = frozenset({"clearinghouseState", "spotClearinghouseState", "l2Book", "allMids", "orderStatus"})
HEAVY_TYPES = {"userRole": 60}
ITEM_WEIGHTED_TYPES = frozenset({"userFills", "userFillsByTime", "userFunding", "userNonFundingLedgerUpdates",
                                 "historicalOrders", "fundingHistory", "candleSnapshot"})
DEFAULT_WEIGHT = 20
ITEMS_PER_EXTRA_WEIGHT = 20
FILLS_PAGE_LIMIT = 2000  # userFillsByTime answers at most this many fills per call


def info_weight(request_type: str) -> int:
    """The base weight of an info request of ``request_type`` (module docstring)."""
    if request_type in LIGHT_TYPES:
        return 2
    return HEAVY_TYPES.get(request_type, DEFAULT_WEIGHT)


def extra_weight(request_type: str, items: int) -> int:
    """The weight a list answer of ``items`` adds to its request (1 per 20 items, rounded down)."""
    return items // ITEMS_PER_EXTRA_WEIGHT if request_type in ITEM_WEIGHTED_TYPES else 0


class HyperliquidUnavailable(SourceUnavailable):
    """The API could not answer now (timeout, refused, 429/5xx after retries, budget spent): retryable."""


class HyperliquidError(SourceError):
    """The API answered with an error or a body we cannot use (4xx, malformed JSON): terminal."""


class HyperliquidClient:
    """The Info API over HTTP. Methods return the decoded JSON (numbers still strings) and raise
    HyperliquidUnavailable or HyperliquidError, nothing else. ``weight_spent`` counts what this
    client spent (base + item weights)."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout_s: float = 15.0,
        retries: int = 4,
        backoff_s: float = 0.5,
        budget: RequestBudget | None = None,
    ) -> None:
        self.url = base_url.rstrip("/") + "/info"
        self.timeout_s = timeout_s
        self.budget = budget
        self.weight_spent = 0
        self.requests_made = 0
        self._session = retrying_session(retries=retries, backoff_s=backoff_s)  # info POSTs are reads: any method

    @classmethod
    def from_settings(cls, url: str | None = None, *, budget_rate: str | None = None) -> "HyperliquidClient":
        """A client on ``url`` or HYPERLIQUID_API_URL with the configured timeout, retries and weight
        budget (HYPERLIQUID_WEIGHT_BUDGET, or ``budget_rate``)."""
        budget = RequestBudget("hyperliquid_info", budget_rate or settings.HYPERLIQUID_WEIGHT_BUDGET,
                               max_wait_s=settings.HYPERLIQUID_BUDGET_MAX_WAIT_S)
        return cls(url or settings.HYPERLIQUID_API_URL, timeout_s=settings.HYPERLIQUID_TIMEOUT_S,
                   retries=settings.HYPERLIQUID_RETRIES, budget=budget)

    def close(self) -> None:
        self._session.close()

    def _spend(self, weight: int) -> None:
        if weight <= 0:
            return
        self.weight_spent += weight
        if self.budget is not None:
            try:
                self.budget.spend(weight)
            except BudgetExhausted as exc:
                raise HyperliquidUnavailable(str(exc)) from exc

    def info(self, body: dict[str, Any]) -> Any:
        """POST ``body`` to /info and return the decoded JSON, after spending its weight."""
        request_type = str(body.get("type", ""))
        self._spend(info_weight(request_type))
        try:
            response = self._session.post(self.url, json=body, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise HyperliquidUnavailable(f"{self.url} {request_type}: {type(exc).__name__}: {exc}") from exc
        self.requests_made += 1
        if response.status_code in RETRY_STATUSES:
            raise HyperliquidUnavailable(f"{self.url} {request_type}: HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise HyperliquidError(f"{self.url} {request_type}: HTTP {response.status_code}: {response.text[:200]}")
        try:
            data = response.json()
        except ValueError as exc:
            raise HyperliquidError(f"{self.url} {request_type}: malformed JSON ({str(exc)[:120]})") from exc
        if isinstance(data, list):
            self._spend(extra_weight(request_type, len(data)))
        return data

    # --- API ----------------------------------------------------------------------------------
    def clearinghouse_state(self, user: str) -> dict:
        """Perp positions and margin summary of ``user`` (weight 2)."""
        data = self.info({"type": "clearinghouseState", "user": user})
        if not isinstance(data, dict):
            raise HyperliquidError(f"clearinghouseState {user}: not a JSON object")
        return data

    def user_fills_by_time(self, user: str, start_ms: int, end_ms: int | None = None) -> list[dict]:
        """Fills of ``user`` with start_ms <= time <= end_ms (at most 2,000 per answer; page by time)."""
        body: dict[str, Any] = {"type": "userFillsByTime", "user": user, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        return self._list(body)

    def user_fills(self, user: str) -> list[dict]:
        """The newest fills of ``user`` (up to 2,000)."""
        return self._list({"type": "userFills", "user": user})

    def user_non_funding_ledger_updates(self, user: str, start_ms: int, end_ms: int | None = None) -> list[dict]:
        """Deposits, withdrawals and transfers of ``user`` since ``start_ms``."""
        body: dict[str, Any] = {"type": "userNonFundingLedgerUpdates", "user": user, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        return self._list(body)

    def user_funding(self, user: str, start_ms: int, end_ms: int | None = None) -> list[dict]:
        """Funding payments of ``user`` since ``start_ms``."""
        body: dict[str, Any] = {"type": "userFunding", "user": user, "startTime": start_ms}
        if end_ms is not None:
            body["endTime"] = end_ms
        return self._list(body)

    def meta(self) -> dict:
        """The perp universe (coins, size decimals, max leverage)."""
        data = self.info({"type": "meta"})
        if not isinstance(data, dict):
            raise HyperliquidError("meta: not a JSON object")
        return data

    def all_mids(self) -> dict[str, str]:
        """Mid prices by coin (strings)."""
        data = self.info({"type": "allMids"})
        if not isinstance(data, dict):
            raise HyperliquidError("allMids: not a JSON object")
        return data

    def _list(self, body: dict[str, Any]) -> list[dict]:
        data = self.info(body)
        if not isinstance(data, list):
            raise HyperliquidError(f"{body['type']} {body.get('user')}: expected a JSON list")
        return data
