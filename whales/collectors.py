"""Registry of collectors, filled by each ledger app's ``AppConfig.ready``.

``whales`` imports no ledger; ledgers register here so the ``collect`` command, the collectors
health endpoint and the main job can find every collector by name.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CollectorResult:
    """What one collector run did: counts for progress output and the run log."""

    collector: str
    status: str
    blocks: int = 0
    items_seen: int = 0
    items_written: int = 0
    events_written: int = 0
    error: str = ""
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Collector:
    """A named collector: ``run(**options)`` performs one run; ``stale_after_s`` bounds freshness.

    A long-running collector (a stream monitor) also gives ``live_stats()``: its process's current
    statistics (a dict with at least ``connected`` and ``last_message_age_s``), or None when no
    process is running; its freshness is then the age of its last message, not of its last run.
    """

    name: str
    run: Callable[..., CollectorResult]
    description: str
    stale_after_s: int = 600
    live_stats: Callable[[], dict | None] | None = None


_REGISTRY: dict[str, Collector] = {}


def collector_register(collector: Collector) -> None:
    """Register ``collector`` under its name (re-registering the same name replaces it)."""
    _REGISTRY[collector.name] = collector


def collector_get(name: str) -> Collector:
    """The collector called ``name``. Raises: KeyError when none is registered."""
    return _REGISTRY[name]


def collector_names() -> list[str]:
    """Names of every registered collector, sorted."""
    return sorted(_REGISTRY)
