"""Reddit client: a subreddit's public JSON listing (``/r/<sub>/<listing>.json``), bounded and retried.

Reddit asks API clients for a descriptive User-Agent and allows about 10 unauthenticated requests a minute
(``REDDIT_API_BUDGET``, a request budget shared through Redis). Every request has ``timeout_s``. Raises
``RedditUnavailable`` (retryable) or ``RedditError`` (terminal), nothing else.
"""

from typing import Any

import requests
from django.conf import settings

from ledgers.budget import BudgetExhausted, RequestBudget
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.http import RETRY_STATUSES, BudgetedHttpClient

MAX_BODY_BYTES = 5_000_000


class RedditUnavailable(SourceUnavailable):
    """Reddit could not answer now (timeout, refused, 429/5xx after retries, the budget spent)."""


class RedditError(SourceError):
    """Reddit answered with something unusable (a 4xx: a private or banned subreddit, malformed JSON)."""


class RedditClient(BudgetedHttpClient):
    """GETs of listings on ``base_url`` (REDDIT_URL: ``https://www.reddit.com``, or the replay node's ``/reddit``)."""

    @classmethod
    def from_settings(cls, url: str | None = None) -> "RedditClient":
        """A client on ``url`` (default REDDIT_URL) with REDDIT_USER_AGENT, REDDIT_TIMEOUT_S and REDDIT_API_BUDGET."""
        client = cls(url or settings.REDDIT_URL, timeout_s=settings.REDDIT_TIMEOUT_S,
                     budget=RequestBudget("reddit", settings.REDDIT_API_BUDGET,
                                          max_wait_s=settings.REDDIT_API_BUDGET_MAX_WAIT_S))
        client._session.headers["User-Agent"] = settings.REDDIT_USER_AGENT
        return client

    def listing(self, subreddit: str, listing: str, *, limit: int) -> Any:
        """``GET /r/<subreddit>/<listing>.json?limit=<limit>&raw_json=1``: the decoded JSON.
        Raises: RedditUnavailable, RedditError."""
        if self.budget is not None:
            try:
                self.budget.spend()
            except BudgetExhausted as exc:
                raise RedditUnavailable(str(exc)) from exc
        url = f"{self.base_url}/r/{subreddit}/{listing}.json"
        try:
            response = self._session.get(url, params={"limit": limit, "raw_json": 1}, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise RedditUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
        self.requests_made += 1
        if response.status_code in RETRY_STATUSES:
            raise RedditUnavailable(f"{url}: HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise RedditError(f"{url}: HTTP {response.status_code}")
        if len(response.content) > MAX_BODY_BYTES:
            raise RedditError(f"{url}: answer larger than {MAX_BODY_BYTES} bytes")
        try:
            return response.json()
        except ValueError as exc:
            raise RedditError(f"{url}: malformed JSON ({str(exc)[:120]})") from exc
