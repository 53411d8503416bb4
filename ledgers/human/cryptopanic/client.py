"""CryptoPanic client: ``GET <CRYPTOPANIC_URL>/posts/?auth_token=&public=true&kind=``, bounded and retried.

Every request has ``timeout_s`` and spends one unit of CRYPTOPANIC_API_BUDGET (shared through Redis; the free
plans allow few requests). The key is a query parameter, as CryptoPanic asks; it never appears in an error, a log
line or the run log (messages name the path only). Raises ``CryptoPanicUnavailable`` (retryable) or
``CryptoPanicError`` (terminal: a refused key, a malformed answer), nothing else.
"""

from typing import Any

import requests
from django.conf import settings

from ledgers.budget import BudgetExhausted, RequestBudget
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.http import RETRY_STATUSES, BudgetedHttpClient

MAX_BODY_BYTES = 5_000_000


class CryptoPanicUnavailable(SourceUnavailable):
    """CryptoPanic could not answer now (timeout, refused, 429/5xx after retries, the budget spent)."""


class CryptoPanicError(SourceError):
    """CryptoPanic answered with something unusable (401/403: the key; another 4xx; malformed JSON)."""


class CryptoPanicClient(BudgetedHttpClient):
    """GETs of the posts endpoint on ``base_url`` (CRYPTOPANIC_URL) with ``api_key``."""

    def __init__(self, base_url: str, *, api_key: str, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)
        self._api_key = api_key

    @classmethod
    def from_settings(cls, url: str | None = None) -> "CryptoPanicClient":
        """A client with CRYPTOPANIC_URL (or ``url``), CRYPTOPANIC_API_KEY, CRYPTOPANIC_TIMEOUT_S and
        CRYPTOPANIC_API_BUDGET."""
        return cls(url or settings.CRYPTOPANIC_URL, api_key=settings.CRYPTOPANIC_API_KEY,
                   timeout_s=settings.CRYPTOPANIC_TIMEOUT_S,
                   budget=RequestBudget("cryptopanic", settings.CRYPTOPANIC_API_BUDGET,
                                        max_wait_s=settings.CRYPTOPANIC_API_BUDGET_MAX_WAIT_S))

    def posts(self, *, kind: str = "news", currencies: list[str] | None = None) -> Any:
        """The decoded answer of one page of public posts. Raises: CryptoPanicUnavailable, CryptoPanicError."""
        if self.budget is not None:
            try:
                self.budget.spend()
            except BudgetExhausted as exc:
                raise CryptoPanicUnavailable(str(exc)) from exc
        where = f"{self.base_url}/posts/"
        params = {"auth_token": self._api_key, "public": "true", "kind": kind}
        if currencies:
            params["currencies"] = ",".join(currencies)
        try:
            response = self._session.get(where, params=params, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise CryptoPanicUnavailable(f"{where}: {type(exc).__name__}") from exc
        self.requests_made += 1
        if response.status_code in RETRY_STATUSES:
            raise CryptoPanicUnavailable(f"{where}: HTTP {response.status_code} after retries")
        if response.status_code in (401, 403):
            raise CryptoPanicError(f"{where}: HTTP {response.status_code}: CRYPTOPANIC_API_KEY was refused")
        if response.status_code >= 400:
            raise CryptoPanicError(f"{where}: HTTP {response.status_code}")
        if len(response.content) > MAX_BODY_BYTES:
            raise CryptoPanicError(f"{where}: answer larger than {MAX_BODY_BYTES} bytes")
        try:
            return response.json()
        except ValueError as exc:
            raise CryptoPanicError(f"{where}: malformed JSON") from exc
