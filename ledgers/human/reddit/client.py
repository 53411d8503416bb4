"""Reddit clients: a subreddit's public JSON listing (``/r/<sub>/<listing>.json``), bounded and retried
(``RedditClient``), or the same listing through PRAW when API credentials are set (``RedditPrawClient``;
``reddit_client`` picks).

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


class RedditPrawClient:
    """The same listings through PRAW (application-only OAuth: REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET), for
    operators with Reddit API credentials: a higher rate limit than the public JSON, which PRAW itself follows
    from Reddit's rate-limit headers, on top of REDDIT_API_BUDGET. ``listing`` answers the shape the public JSON
    has (a ``Listing`` of ``t3`` children holding each submission's fields as Reddit sent them), so the parser
    and everything after it are the same. PRAW requests go to ``oauth_url`` (REDDIT_OAUTH_URL) and its token
    request to ``reddit_url`` (REDDIT_URL), with REDDIT_TIMEOUT_S. Raises RedditUnavailable or RedditError."""

    def __init__(self, *, client_id: str, client_secret: str, reddit_url: str, oauth_url: str, user_agent: str,
                 timeout_s: float, budget: RequestBudget | None = None) -> None:
        self.base_url = oauth_url.rstrip("/")
        self.budget = budget
        self.requests_made = 0
        self._session = requests.Session()
        import praw  # here, not at the top: only a process that reads Reddit with credentials pays for PRAW

        self._reddit = praw.Reddit(
            client_id=client_id, client_secret=client_secret, user_agent=user_agent, reddit_url=reddit_url.rstrip("/"),
            oauth_url=self.base_url, timeout=max(int(timeout_s), 1), check_for_updates=False,
            requestor_kwargs={"session": self._session})
        self._reddit.read_only = True

    @classmethod
    def from_settings(cls, url: str | None = None, oauth_url: str | None = None) -> "RedditPrawClient":
        """A client with REDDIT_CLIENT_ID/SECRET, REDDIT_URL (or ``url``), REDDIT_OAUTH_URL (or ``oauth_url``),
        REDDIT_USER_AGENT, REDDIT_TIMEOUT_S and REDDIT_API_BUDGET."""
        return cls(client_id=settings.REDDIT_CLIENT_ID, client_secret=settings.REDDIT_CLIENT_SECRET,
                   reddit_url=url or settings.REDDIT_URL, oauth_url=oauth_url or settings.REDDIT_OAUTH_URL,
                   user_agent=settings.REDDIT_USER_AGENT, timeout_s=settings.REDDIT_TIMEOUT_S,
                   budget=RequestBudget("reddit", settings.REDDIT_API_BUDGET,
                                        max_wait_s=settings.REDDIT_API_BUDGET_MAX_WAIT_S))

    def listing(self, subreddit: str, listing: str, *, limit: int) -> Any:
        """``/r/<subreddit>/<listing>`` through PRAW, at most ``limit`` (<= 100: one request) submissions, as a
        listing dict. Raises: RedditUnavailable, RedditError."""
        if self.budget is not None:
            try:
                self.budget.spend()
            except BudgetExhausted as exc:
                raise RedditUnavailable(str(exc)) from exc
        import prawcore.exceptions as praw_errors

        where = f"{self.base_url}/r/{subreddit}/{listing}"
        try:
            submissions = list(getattr(self._reddit.subreddit(subreddit), listing)(limit=min(limit, 100)))
        except (praw_errors.RequestException, praw_errors.ServerError, praw_errors.TooManyRequests) as exc:
            raise RedditUnavailable(f"{where}: {type(exc).__name__}: {exc}") from exc
        except (praw_errors.PrawcoreException, ValueError) as exc:
            raise RedditError(f"{where}: {type(exc).__name__}: {exc}") from exc
        finally:
            self.requests_made += 1
        children = []
        for submission in submissions:
            data = {key: value for key, value in vars(submission).items() if not key.startswith("_")}
            data["subreddit"] = str(data.get("subreddit") or "")  # a Subreddit object: its display name
            data["author"] = str(data["author"]) if data.get("author") else ""  # a Redditor: its name
            children.append({"kind": "t3", "data": data})
        return {"kind": "Listing", "data": {"children": children}}

    def close(self) -> None:
        self._session.close()


def reddit_client(url: str | None = None) -> "RedditClient | RedditPrawClient":
    """PRAW when REDDIT_CLIENT_ID and REDDIT_CLIENT_SECRET are set, else the public JSON listings."""
    if settings.REDDIT_CLIENT_ID and settings.REDDIT_CLIENT_SECRET:
        return RedditPrawClient.from_settings(url)
    return RedditClient.from_settings(url)
