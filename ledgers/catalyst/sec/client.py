"""SEC EDGAR client: an issuer's submissions (``data.sec.gov``) and the "latest filings" Atom feed
(``www.sec.gov``), under the SEC's fair-access rules.

Fair access (https://www.sec.gov/os/accessing-edgar-data): every request names its operator in the
``User-Agent`` (``SEC_USER_AGENT``, e.g. ``"Jane Doe jane@example.com"``; the client refuses to start
without one) and the whole deployment stays at or under 10 requests/s (``SEC_API_BUDGET``, a request budget
shared through Redis by every worker). The client knows nothing about the database or the replay node:
point ``data_url`` / ``www_url`` at the SEC or at ``ledgers.replay``'s ``/sec-data`` and ``/sec-www``.

Retries are the shared transport's (``ledgers.http``: timeouts, connection errors, 429 and 5xx), except that
the feed's 503 is not retried: past the feed's end EDGAR answers 503 with an HTML page, which ends paging.
Every method raises ``SecUnavailable`` (retryable) or ``SecError`` (terminal), nothing else.
"""

import logging
from typing import Any

import requests
from django.conf import settings

from ledgers.budget import BudgetExhausted, RequestBudget
from ledgers.catalyst.sec.activity import (
    SecFormatError,
    cik_format,
    feed_parse,
    filings_columns_parse,
    submissions_parse,
)
from ledgers.catalyst.sec.types import FeedEntry, Filing, Submissions
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.http import RETRY_STATUSES, BudgetedHttpClient, retrying_session
from whales.errors import Misconfigured

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 20_000_000
"""The largest answer read (a submissions page is about 300 KB, a feed page 60 KB)."""
FEED_PAGE_SIZE = 100
"""Entries per feed page: the most EDGAR serves (``count=100``)."""


class SecUnavailable(SourceUnavailable):
    """EDGAR could not answer now (timeout, refused, 429/5xx after retries, the request budget spent)."""


class SecError(SourceError):
    """EDGAR answered with something unusable (a 4xx, a body that is not the documented shape)."""


class IssuerNotFound(SecError):
    """EDGAR has no submissions for this CIK (404)."""


class SecClient(BudgetedHttpClient):
    """EDGAR over HTTP. ``base_url`` is the submissions host (``SEC_DATA_URL``), ``www_url`` the host of the
    feed (``SEC_WWW_URL``); ``user_agent`` is sent with every request. Raises (constructor): Misconfigured
    when ``user_agent`` is empty."""

    def __init__(self, base_url: str, *, www_url: str, user_agent: str, timeout_s: float = 15.0, retries: int = 4,
                 budget: RequestBudget | None = None) -> None:
        if not user_agent.strip():
            raise Misconfigured("SEC_USER_AGENT is empty: the SEC's fair-access rules require a User-Agent "
                                "naming the operator, e.g. 'Jane Doe jane@example.com'")
        super().__init__(base_url, timeout_s=timeout_s, retries=retries, budget=budget)
        self.www_url = www_url.rstrip("/")
        headers = {"User-Agent": user_agent.strip(), "Accept-Encoding": "gzip, deflate"}
        self._session.headers.update(headers)
        self._feed_session = retrying_session(retries=retries, backoff_s=0.5, methods=self.RETRY_METHODS)
        for adapter in self._feed_session.adapters.values():
            adapter.max_retries = adapter.max_retries.new(  # type: ignore[attr-defined]
                status_forcelist=RETRY_STATUSES - {503})
        self._feed_session.headers.update(headers)

    @classmethod
    def from_settings(cls, data_url: str | None = None, www_url: str | None = None) -> "SecClient":
        """A client on ``data_url`` / ``www_url`` (default SEC_DATA_URL / SEC_WWW_URL) with SEC_USER_AGENT,
        SEC_TIMEOUT_S and the request budget SEC_API_BUDGET (waiting up to SEC_API_BUDGET_MAX_WAIT_S for room).
        Raises: Misconfigured for an empty SEC_USER_AGENT; ValueError for a budget rate that cannot be parsed."""
        budget = RequestBudget("sec", settings.SEC_API_BUDGET, max_wait_s=settings.SEC_API_BUDGET_MAX_WAIT_S)
        return cls(data_url or settings.SEC_DATA_URL, www_url=www_url or settings.SEC_WWW_URL,
                   user_agent=settings.SEC_USER_AGENT, timeout_s=settings.SEC_TIMEOUT_S, budget=budget)

    def close(self) -> None:
        """Close both sessions' connections."""
        super().close()
        self._feed_session.close()

    # --- transport ----------------------------------------------------------------------------
    def _get(self, url: str, *, session: requests.Session | None = None, params: dict[str, Any] | None = None,
             pass_statuses: frozenset[int] = frozenset()) -> requests.Response:
        """GET ``url`` after spending one budget unit; a status in ``pass_statuses`` is returned to the caller.
        Raises: SecUnavailable, SecError."""
        if self.budget is not None:
            try:
                self.budget.spend()
            except BudgetExhausted as exc:
                raise SecUnavailable(str(exc)) from exc
        try:
            response = (session or self._session).get(url, params=params, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise SecUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
        self.requests_made += 1
        if response.status_code in pass_statuses:
            return response
        if response.status_code in RETRY_STATUSES:
            raise SecUnavailable(f"{url}: HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise SecError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
        if len(response.content) > MAX_BODY_BYTES:
            raise SecError(f"{url}: answer of {len(response.content)} bytes exceeds {MAX_BODY_BYTES}")
        return response

    def _json(self, url: str, *, pass_statuses: frozenset[int] = frozenset()) -> Any:
        response = self._get(url, pass_statuses=pass_statuses)
        if response.status_code in pass_statuses:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise SecError(f"{url}: malformed JSON ({str(exc)[:120]})") from exc

    # --- API ----------------------------------------------------------------------------------
    def submissions(self, cik: int) -> Submissions:
        """``GET /submissions/CIK##########.json``: the issuer and its recent filings (up to about 1,000,
        newest first) and the older pages it names. Raises: IssuerNotFound (404), SecError, SecUnavailable."""
        url = f"{self.base_url}/submissions/CIK{cik_format(cik)}.json"
        raw = self._json(url, pass_statuses=frozenset({404}))
        if raw is None:
            raise IssuerNotFound(f"CIK {cik}: EDGAR has no submissions ({url}: 404)")
        try:
            return submissions_parse(raw)
        except SecFormatError as exc:
            raise SecError(f"{url}: {exc}") from exc

    def older_page(self, cik: int, name: str) -> tuple[Filing, ...] | None:
        """``GET /submissions/<name>``: an older page that ``submissions(cik)`` named, as filings; None when it
        is not served (404). Raises: SecError for a name that is not one of this issuer's pages or a malformed
        page, SecUnavailable."""
        if not (name.startswith(f"CIK{cik_format(cik)}-submissions-") and name.endswith(".json")
                and "/" not in name):
            raise SecError(f"CIK {cik}: {name!r} is not one of its submissions pages")
        url = f"{self.base_url}/submissions/{name}"
        raw = self._json(url, pass_statuses=frozenset({404}))
        if raw is None:
            return None
        try:
            return filings_columns_parse(cik, raw)
        except SecFormatError as exc:
            raise SecError(f"{url}: {exc}") from exc

    def latest_filings(self, *, start: int = 0, count: int = FEED_PAGE_SIZE) -> list[FeedEntry] | None:
        """One page of the "latest filings" Atom feed (``/cgi-bin/browse-edgar?action=getcurrent``), every form
        and party, newest first, from entry ``start``; None past the feed's end (EDGAR answers 503 there).
        Raises: SecError for a page that is not the feed, SecUnavailable."""
        url = f"{self.www_url}/cgi-bin/browse-edgar"
        params = {"action": "getcurrent", "count": count, "start": start, "type": "", "owner": "include",
                  "output": "atom"}
        response = self._get(url, session=self._feed_session, params=params, pass_statuses=frozenset({503}))
        if response.status_code == 503:
            return None
        try:
            return feed_parse(response.content)
        except SecFormatError as exc:
            raise SecError(f"{url}?start={start}: {exc}") from exc
