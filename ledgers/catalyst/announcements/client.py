"""HTTP client of the announcement feeds: one GET per feed, retried by the shared transport, bounded.

Every request has ``timeout_s`` (connect and read); the body is read up to MAX_FEED_BYTES. Raises
``FeedUnavailable`` (retryable: timeout, refused, 429/5xx after retries) or ``FeedError`` (terminal: another
4xx, an oversized body), nothing else. The URL comes from an analyst's feed row (http/https only, checked by
the model).
"""

import requests

from ledgers.errors import SourceError, SourceUnavailable
from ledgers.http import RETRY_STATUSES, BudgetedHttpClient

MAX_FEED_BYTES = 5_000_000
USER_AGENT = "WhaleTrack announcements collector (feedparser)"


class FeedUnavailable(SourceUnavailable):
    """The feed could not answer now: retryable."""


class FeedError(SourceError):
    """The feed answered with something unusable."""


class FeedClient(BudgetedHttpClient):
    """GETs of feed URLs (``base_url`` unused: each feed has its own URL)."""

    def __init__(self, *, timeout_s: float = 15.0, retries: int = 3) -> None:
        super().__init__("", timeout_s=timeout_s, retries=retries)
        self._session.headers.update({"User-Agent": USER_AGENT,
                                      "Accept": "application/rss+xml, application/atom+xml, application/xml, */*"})

    def fetch(self, url: str) -> bytes:
        """The body at ``url``. Raises: FeedUnavailable, FeedError."""
        if not url.startswith(("http://", "https://")):
            raise FeedError(f"{url!r} is not an http(s) URL")
        try:
            with self._session.get(url, timeout=self.timeout_s, stream=True) as response:
                self.requests_made += 1
                if response.status_code in RETRY_STATUSES:
                    raise FeedUnavailable(f"{url}: HTTP {response.status_code} after retries")
                if response.status_code >= 400:
                    raise FeedError(f"{url}: HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body += chunk
                    if len(body) > MAX_FEED_BYTES:
                        raise FeedError(f"{url}: feed larger than {MAX_FEED_BYTES} bytes")
                return bytes(body)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise FeedUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
