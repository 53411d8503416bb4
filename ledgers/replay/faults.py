"""Fault injection and request counting for the replay node (thread-safe).

Faults let tests exercise retries against a real socket: HTTP 429 (with ``Retry-After: 0``), 5xx,
slow answers and truncated JSON bodies, for a path prefix and optionally one JSON-RPC method.
"""

import threading
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any, TypedDict


class StatsSnapshot(TypedDict):
    """Request counts: ``paths`` per URL path (no query), ``rpc_methods`` per JSON-RPC method
    (every call of a batch counts), both since start or the last ``reset()``."""

    paths: dict[str, int]
    rpc_methods: dict[str, int]


@dataclass
class Fault:
    """One injected fault; ``remaining`` None = forever, else how many more requests it hits.

    Applied in this order: wait ``delay_s`` seconds, then answer ``status`` (a JSON error body),
    or, when ``malformed``, HTTP 200 with the real body truncated to invalid JSON; a fault with
    only ``delay_s`` delays the real answer.
    """

    path_prefix: str
    status: int | None = None
    delay_s: float = 0
    malformed: bool = False
    remaining: int | None = None
    method: str | None = None

    def matches(self, path: str, rpc_methods: list[str]) -> bool:
        if not path.startswith(self.path_prefix):
            return False
        return self.method is None or self.method in rpc_methods


class FaultInjector:
    """The active faults of one replay node: ``add``, ``clear``, and ``take`` (used by the server)."""

    FIELDS = frozenset({"path_prefix", "status", "delay_s", "malformed", "times", "method"})

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(
        self,
        path_prefix: str,
        *,
        status: int | None = None,
        delay_s: float = 0,
        malformed: bool = False,
        times: int | None = None,
        method: str | None = None,
    ) -> Fault:
        """Inject a fault on requests whose path starts with ``path_prefix`` (e.g. ``"/ethereum"``,
        ``"/coingecko/api/v3/simple/price"``); ``method`` restricts it to JSON-RPC requests calling
        that method; ``times`` = how many requests it hits (None = until ``clear()``).

        Raises: ValueError for a status outside 100-599, a negative delay or ``times`` < 1, or a
        fault that does nothing.
        """
        if not isinstance(path_prefix, str) or not path_prefix.startswith("/"):
            raise ValueError("path_prefix must be a path starting with /")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599):
            raise ValueError("status must be an HTTP status code")
        if isinstance(delay_s, bool) or not isinstance(delay_s, int | float) or delay_s < 0:
            raise ValueError("delay_s must be a number >= 0")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
            raise ValueError("times must be an integer >= 1 or None")
        if not isinstance(malformed, bool) or (method is not None and not isinstance(method, str)):
            raise ValueError("malformed must be a boolean and method a string")
        if status is None and not malformed and not delay_s:
            raise ValueError("a fault needs a status, malformed=True or a delay")
        fault = Fault(path_prefix, status, float(delay_s), malformed, times, method)
        with self._lock:
            self._faults.append(fault)
        return fault

    def add_many(self, specs: Any) -> int:
        """Add faults from JSON (a list of objects, or one object, with the fields of ``add``).

        Validates every spec before adding any. Raises: ValueError describing the first bad spec.
        """
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ValueError("expected a JSON list of fault objects")
        for spec in specs:
            unknown = set(spec) - self.FIELDS
            if unknown or "path_prefix" not in spec:
                raise ValueError(f"fault fields are {sorted(self.FIELDS)}; path_prefix is required")
        probe = FaultInjector()
        for spec in specs:
            probe.add(**spec)
        with self._lock:
            self._faults.extend(probe._faults)
        return len(specs)

    def clear(self) -> None:
        """Remove every fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict]:
        """The faults still active, as dicts (``remaining`` = requests left, None = forever)."""
        with self._lock:
            return [asdict(f) for f in self._faults]

    def take(self, path: str, rpc_methods: list[str]) -> Fault | None:
        """The first fault (in order of adding) matching this request, counting one use of it."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(path, rpc_methods):
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self._faults.remove(fault)
                    return fault
        return None


class ReplayStats:
    """Request counters of one replay node (control requests under ``/_replay/`` are not counted)."""

    def __init__(self) -> None:
        self._paths: Counter[str] = Counter()
        self._methods: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, path: str, rpc_methods: list[str]) -> None:
        with self._lock:
            self._paths[path] += 1
            self._methods.update(rpc_methods)

    def snapshot(self) -> StatsSnapshot:
        """A copy of the counters (see StatsSnapshot)."""
        with self._lock:
            return {"paths": dict(self._paths), "rpc_methods": dict(self._methods)}

    def reset(self) -> None:
        """Set every counter back to zero."""
        with self._lock:
            self._paths.clear()
            self._methods.clear()
