"""The HTTP transport the upstream clients share: a ``requests.Session`` whose adapter retries with
urllib3's ``Retry`` (DESIGN.md section 10: timeouts, connection errors, 429 and 5xx only; exponential
backoff with jitter, capped; ``Retry-After`` honoured up to ``settings.HTTP_RETRY_AFTER_MAX_S``, default
10 s: urllib3's own cap is 6 hours, so one ``Retry-After: 21600`` parked a worker, or a request holding
locks, for that long).

Used by the Ethereum and Arbitrum JSON-RPC clients, the Esplora, Hyperliquid and CoinGecko clients.
Each still sets its own timeout per request and turns what is failing after the retries into its own
retryable error (a 429/5xx is handed back, not raised, so the error can name the status).
"""

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ledgers.budget import RequestBudget

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Statuses worth retrying: rate limited, or the server failing."""


def retrying_session(*, retries: int, backoff_s: float, methods: frozenset[str] | None = None,
                     backoff_jitter_s: float | None = None, backoff_max_s: float = 30,
                     retry_after_max_s: float | None = None, pool_maxsize: int = 4) -> requests.Session:
    """A session retrying up to ``retries`` times (connect, read and status errors alike).

    ``methods``: the HTTP methods that may be retried; None retries every method, for POST APIs whose
    calls are reads (JSON-RPC, Hyperliquid ``/info``). Backoff: ``backoff_s`` x 2^(n-1) seconds plus up
    to ``backoff_jitter_s`` (default ``backoff_s / 2``) of jitter, at most ``backoff_max_s``; a
    ``Retry-After`` header is honoured up to ``retry_after_max_s`` and never more than
    ``settings.HTTP_RETRY_AFTER_MAX_S`` (a longer one is waited for only that long). A status still failing
    after the retries is returned (``raise_on_status=False``). ``pool_maxsize``: connections kept per host.
    """
    cap_s = float(getattr(settings, "HTTP_RETRY_AFTER_MAX_S", 10))
    retry = Retry(
        total=retries, connect=retries, read=retries, status=retries,
        status_forcelist=RETRY_STATUSES, allowed_methods=methods,
        backoff_factor=backoff_s, backoff_jitter=backoff_s / 2 if backoff_jitter_s is None else backoff_jitter_s,
        backoff_max=backoff_max_s, respect_retry_after_header=True, raise_on_status=False,
        retry_after_max=min(cap_s, retry_after_max_s) if retry_after_max_s is not None else cap_s,  # type: ignore[arg-type]
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry, pool_maxsize=pool_maxsize)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class BudgetedHttpClient:
    """Base of the source clients that spend a request budget: the source's ``base_url`` (no trailing
    slash), a ``retrying_session`` (retrying only ``RETRY_METHODS``; None = every method, for POST APIs
    whose calls are reads), the timeout (s) every call passes, the optional ``ledgers.budget.RequestBudget``,
    and ``requests_made``. Subclasses do the requests and raise their source's errors."""

    RETRY_METHODS: frozenset[str] | None = frozenset({"GET"})

    def __init__(self, base_url: str, *, timeout_s: float = 15.0, retries: int = 4, backoff_s: float = 0.5,
                 budget: RequestBudget | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.budget = budget
        self.requests_made = 0
        self._session = retrying_session(retries=retries, backoff_s=backoff_s, methods=self.RETRY_METHODS)

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()
