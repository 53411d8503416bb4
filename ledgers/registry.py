"""The collector registry: every source's collector, with its ledger, its task and its ``collect`` options.

Each ledger app registers its collectors in ``AppConfig.ready`` (its ``collector.py``); the ``collect``
command, the collectors API (health, detail, trigger), the admin and the main job find them here by
name. ``whales`` imports nothing of this kit: collectors write through ``whales`` services.
"""

import argparse
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import models

from whales.errors import NotFound


class Ledger(models.TextChoices):
    """The four ledgers of the system WhaleTrack grew from; every collector belongs to one."""

    GLASS = "glass", "Glass (on-chain)"
    HUMAN = "human", "Human (sentiment)"
    CATALYST = "catalyst", "Catalyst (events)"
    EXCHANGE = "exchange", "Exchange (prices and venues)"


@dataclass(frozen=True)
class CollectorResult:
    """What one collector run did: counts for progress output and the run log.

    ``failure`` is the exception that ended the run early (None when it did not): tasks decide from
    its class whether waiting can fix it (``ledgers.errors.SourceUnavailable``). ``extra`` holds the
    collector's own counts (addresses done, weight spent, ...), JSON-safe.
    """

    collector: str
    status: str
    blocks: int = 0
    items_seen: int = 0
    items_written: int = 0
    events_written: int = 0
    error: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    failure: BaseException | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class WalletProgress:
    """Progress of a run over wallets (Bitcoin addresses, Hyperliquid accounts), given to ``progress`` after
    each one: the wallet, how many are done of ``total``, the run's counts so far (``items_seen``: the
    source's transactions or fills) and the wallet's own outcome (``status``: "ok ...", "not found",
    "error: ...")."""

    address: str
    done: int
    total: int
    items_seen: int
    trades_written: int
    events_written: int
    status: str

    def __str__(self) -> str:
        return (f"{self.address} ({self.done}/{self.total}): {self.status}; "
                f"{self.trades_written} trades, {self.events_written} events so far")


@dataclass(frozen=True)
class CollectorOption:
    """One option of ``manage.py collect NAME``: ``flag`` on the command line becomes the keyword
    ``kwarg`` of the collector's ``run``, converted by ``type`` (which raises ``argparse.ArgumentTypeError``
    or ValueError for bad input)."""

    flag: str
    kwarg: str
    type: Callable[[str], Any]
    help: str


def _number(text: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not {'a whole number' if kind is int else 'a number'}: {text!r}") from exc


def positive_int(text: str) -> int:
    """``type`` of options that must be a whole number > 0. Raises: argparse.ArgumentTypeError."""
    value = int(_number(text, int))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


def non_negative_int(text: str) -> int:
    """``type`` of options that must be a whole number >= 0 (block numbers, counts). Raises:
    argparse.ArgumentTypeError."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, not {text}")
    return value


def positive_float(text: str) -> float:
    """``type`` of options that must be a number of seconds > 0. Raises: argparse.ArgumentTypeError."""
    value = float(_number(text, float))
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be > 0, not {text}")
    return value


@dataclass(frozen=True)
class Collector:
    """A named collector of one ledger.

    ``run(**options)`` performs one run in the calling process and returns a CollectorResult; it takes
    the keywords its ``options`` declare, plus ``progress`` (a callable given one object whose ``str()``
    is a progress line) when ``reports_progress``. ``task`` is the Celery task that runs it on the
    worker (beat rows and the trigger enqueue it); "" for a long-running monitor, which runs as its own
    process instead. ``stale_after_s`` bounds freshness. A long-running collector also gives
    ``live_stats()``: its process's current statistics (at least ``connected`` and
    ``last_message_age_s``), or None when none runs; its freshness is then the age of its last message.
    """

    name: str
    ledger: Ledger
    run: Callable[..., CollectorResult]
    description: str
    task: str = ""
    stale_after_s: int = 600
    options: tuple[CollectorOption, ...] = ()
    reports_progress: bool = False
    live_stats: Callable[[], Mapping[str, Any] | None] | None = None


_REGISTRY: dict[str, Collector] = {}


def collector_register(collector: Collector) -> None:
    """Register ``collector`` under its name (re-registering the same name replaces it)."""
    _REGISTRY[collector.name] = collector


class UnknownCollector(NotFound):
    """404 ``not_found``: no collector of that name is registered."""


def collector_get(name: str) -> Collector:
    """The collector called ``name``. Raises: UnknownCollector when none is registered."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownCollector(f"No collector named {name!r}; known: {', '.join(sorted(_REGISTRY))}.") from None


def collector_names() -> list[str]:
    """Names of every registered collector, sorted."""
    return sorted(_REGISTRY)
