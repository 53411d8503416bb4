"""Request budgets for upstream sources, on the ``limits`` library's moving-window rate limiter.

Public endpoints ban heavy users (mempool.space answers 429; Hyperliquid allows 1,200 weight per
minute per IP), so every client spends from a budget before each call. The budget lives where
``settings.REQUEST_BUDGET_STORAGE_URL`` says (``limits`` storage URL): Redis, shared by every worker
process on the machine (the limit is per IP), or process memory when there is no Redis.
"""

import logging
import time
from collections.abc import Callable

import redis  # noqa: F401  (see below)
from django.conf import settings
from limits import RateLimitItem, parse
from limits.storage import Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter
from limits.util import WindowStats
from redis.exceptions import RedisError

from ledgers.errors import SourceUnavailable
from whales.errors import Misconfigured

logger = logging.getLogger(__name__)

# ``limits`` checks the redis module's version when it first builds a Redis storage, reading
# ``redis.__version__`` from sys.modules; a thread that does so while another thread is still
# importing redis sees a half-imported module and fails. Importing redis here, at app import time,
# settles it before any thread builds a budget.
_STORAGES: dict[str, Storage] = {}


class BudgetExhausted(SourceUnavailable):
    """The budget had no room for a request within the allowed wait: stop now, the next run continues."""


class BudgetUnavailable(BudgetExhausted):
    """The budget's shared store (Redis) cannot be reached: no request may go out unaccounted, so this is
    handled like a spent budget (the run stops; the task retries later)."""


def _storage() -> Storage:
    url = settings.REQUEST_BUDGET_STORAGE_URL
    if url not in _STORAGES:
        storage = storage_from_string(url)
        if not isinstance(storage, Storage):  # an async+... URL: the budgets are taken from sync code
            raise Misconfigured(f"REQUEST_BUDGET_STORAGE_URL {url!r} is an async storage; use a sync one")
        _STORAGES[url] = storage
    return _STORAGES[url]


class RequestBudget:
    """``rate`` requests (or weight units) per window for the source ``name``, e.g. ``"60/minute"``.

    ``spend(cost)`` takes ``cost`` units, sleeping until the moving window has room. Raises:
    BudgetExhausted when that would take longer than ``max_wait_s``; ValueError (constructor) for
    a rate the ``limits`` notation cannot parse, or a cost above the whole budget.
    """

    def __init__(
        self,
        name: str,
        rate: str,
        *,
        max_wait_s: float = 30.0,
        storage: Storage | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        try:
            self.item: RateLimitItem = parse(rate)
        except ValueError as exc:
            raise ValueError(f"budget {name!r}: cannot parse rate {rate!r} (e.g. '60/minute')") from exc
        self.name = name
        self.rate = rate
        self.max_wait_s = max_wait_s
        self._limiter = MovingWindowRateLimiter(storage or _storage())
        self._sleep = sleep
        self.waited_s = 0.0  # total time this object slept for budget (progress output, tests)

    def spend(self, cost: int = 1) -> None:
        """Take ``cost`` units from the budget, waiting for room. Raises: BudgetExhausted (BudgetUnavailable
        when its store cannot be reached), ValueError."""
        if cost > self.item.amount:
            raise ValueError(f"budget {self.name!r}: cost {cost} exceeds the whole budget {self.rate}")
        deadline = time.monotonic() + self.max_wait_s
        while not self._hit(cost):
            stats = self._stats()
            wait = max(stats.reset_time - time.time(), 0.05)
            if time.monotonic() + wait > deadline:
                raise BudgetExhausted(
                    f"request budget {self.name} ({self.rate}) is spent; room again in {wait:.1f} s")
            logger.info("budget.wait", extra={"budget": self.name, "wait_s": round(wait, 2)})
            self._sleep(wait)
            self.waited_s += wait

    def remaining(self) -> int:
        """Units left in the current window. Raises: BudgetUnavailable."""
        return self._stats().remaining

    def _hit(self, cost: int) -> bool:
        try:
            return self._limiter.hit(self.item, "whaletrack-budget", self.name, cost=cost)
        except (RedisError, OSError) as exc:
            raise BudgetUnavailable(f"request budget {self.name} cannot be read: {type(exc).__name__}: {exc}") from exc

    def _stats(self) -> WindowStats:
        try:
            return self._limiter.get_window_stats(self.item, "whaletrack-budget", self.name)
        except (RedisError, OSError) as exc:
            raise BudgetUnavailable(f"request budget {self.name} cannot be read: {type(exc).__name__}: {exc}") from exc

    def reset(self) -> None:
        """Forget what was spent (tests, and an operator after changing the rate)."""
        self._limiter.clear(self.item, "whaletrack-budget", self.name)
