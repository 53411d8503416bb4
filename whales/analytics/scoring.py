"""Smart-money score v1 (DESIGN.md section 9) and the scoring run.

Formula v1 (``FORMULA_VERSION``), every figure from the whale's stored metrics (whales.analytics.metrics):

  score = 100 x sum(w_i x n_i) / sum(w_i), rounded half-up to 2 decimals, so 0.00 .. 100.00.

  ==============  ==================================  =============================================
  component       input                               normalized n (0..1)
  ==============  ==================================  =============================================
  roi             WalletMetrics.roi_percent           (clamp(roi, -100, 300) + 100) / 400
  win_rate        WalletMetrics.win_rate_percent      clamp(win_rate, 0, 100) / 100
  realized_pnl    WalletMetrics.realized_pnl_usd      (1 + sign(p) x m) / 2, m = min(log10(1 + |p|) /
                                                      log10(1 + PNL_CAP), 1): 0 USD -> 0.5, +cap -> 1,
                                                      -cap -> 0 (log-scaled, so a 10x bigger P&L adds
                                                      a constant step)
  consistency     WalletMetricsDaily, last 30 days    profitable_days / observed_days: the share of the
                                                      whale's daily rows (UTC dates in (today - 30,
                                                      today]) with a non-null ROI whose ROI is > 0
  ==============  ==================================  =============================================

  A missing input (None: no deposits, no closed round trip, no daily row) gives n = 0 and is stored
  as null: no evidence earns nothing. Default weights roi 0.35, win_rate 0.25, realized_pnl 0.25,
  consistency 0.15 (setting WHALE_SCORE_WEIGHTS; divided by their sum, so overrides need not sum to 1).
  PNL_CAP = WHALE_SCORE_PNL_CAP_USD (default 10,000,000 USD). Arithmetic is Decimal (28 digits).

Minimum-sample guard (confidence; the whale is still scored and listed):
  closed_round_trips < WHALE_SCORE_MIN_ROUND_TRIPS (10) -> low;
  < WHALE_SCORE_HIGH_ROUND_TRIPS (30) -> medium; otherwise high.

``WalletScore.components`` holds, per component, its ``input`` (string or null), ``normalized`` and
``weight`` (strings), plus ``sample`` (closed round trips and the confidence thresholds) and
``consistency_days`` (profitable / observed days).

The run (``scoring_run``):

- Who: every tracked whale with a WalletMetrics row, including whales that stopped trading (their
  metrics stay and they keep being scored). Untracked whales are not re-scored but keep their scores
  (history is never deleted: no survivorship bias).
- History: a new WalletScore row is written only when the score, the confidence or the formula
  version differs from the whale's current row (then the old row's ``is_current`` is set False in the
  same transaction); an unchanged whale counts as processed, not updated. So the history is one row
  per change, and ``is_current`` is unique per whale (partial unique constraint).
- Batches of ``batch_size`` (50) whales; each batch's write is one transaction (flip + insert). A
  wallet whose scoring raises is logged and counted in ``failed``; the others continue. If a batch's
  write fails, its wallets are retried one by one (one savepoint each) so one bad row fails alone.
- Never two at once: on PostgreSQL a session advisory lock (``pg_try_advisory_lock(LOCK_KEY)`` on the
  default connection, released in ``finally``; a killed worker's connection drops and frees it). On
  other databases (SQLite in ad-hoc use) the fallback is "a ScoringRun in status running started less
  than WHALE_SCORING_STALE_MINUTES (30) ago" -- a check-then-insert, so not race-free. A run that finds
  the lock taken records a ScoringRun with status ``failed`` and error ``skipped: ...`` and scores
  nothing. Under the lock, older ``running`` rows (a killed worker's) are closed as failed/abandoned.
- Statistics: total (whales to score), processed (scored without error), updated (new rows),
  failed, duration_ms; status ok (no failure), partial (some failed), failed (all failed, or the run
  itself raised; the error is stored and the exception re-raised).
- Hooks: at the end of every run that ran, each function registered with
  ``scoring_finished_hook_register(fn)`` is called once as ``fn(run)`` (e.g. to invalidate the
  smart-money API cache). A hook that raises is logged and does not fail the run or other hooks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any, TypedDict

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from whales.models import (
    RunStatus,
    ScoreConfidence,
    ScoringRun,
    WalletMetrics,
    WalletMetricsDaily,
    WalletScore,
    Whale,
)

logger = logging.getLogger(__name__)

FORMULA_VERSION = "v1"
BATCH_WALLETS = 50
LOCK_KEY = 0x5C0_2E_01  # pg advisory lock id of the scoring run (any constant unique in the project)
CONSISTENCY_DAYS = 30
DEFAULT_WEIGHTS = {"roi": "0.35", "win_rate": "0.25", "realized_pnl": "0.25", "consistency": "0.15"}
COMPONENTS = tuple(DEFAULT_WEIGHTS)
ROI_MIN, ROI_MAX = Decimal(-100), Decimal(300)
SCORE_QUANTUM = Decimal("0.01")
NORMALIZED_QUANTUM = Decimal("0.00000001")
ZERO, ONE = Decimal(0), Decimal(1)

ScoringHook = Callable[[ScoringRun], Any]
SCORING_FINISHED_HOOKS: list[ScoringHook] = []


def scoring_finished_hook_register(fn: ScoringHook) -> ScoringHook:
    """Register ``fn(run: ScoringRun)`` to be called once at the end of every scoring run that ran;
    return ``fn`` (usable as a decorator). Registering the same function twice keeps one entry.
    Call it from an AppConfig.ready() so the worker that runs the task has it registered."""
    if fn not in SCORING_FINISHED_HOOKS:
        SCORING_FINISHED_HOOKS.append(fn)
    return fn


# --------------------------------------------------------------------------- the formula (pure)


@dataclass(frozen=True)
class ScoreSettings:
    """Weights, P&L cap and confidence thresholds, read from settings (module docstring)."""

    weights: dict[str, Decimal]
    pnl_cap_usd: Decimal
    min_round_trips: int
    high_round_trips: int

    @classmethod
    def from_settings(cls) -> ScoreSettings:
        raw = {**DEFAULT_WEIGHTS, **getattr(settings, "WHALE_SCORE_WEIGHTS", {})}
        return cls(
            weights={name: Decimal(str(raw[name])) for name in COMPONENTS},
            pnl_cap_usd=Decimal(str(getattr(settings, "WHALE_SCORE_PNL_CAP_USD", "10000000"))),
            min_round_trips=int(getattr(settings, "WHALE_SCORE_MIN_ROUND_TRIPS", 10)),
            high_round_trips=int(getattr(settings, "WHALE_SCORE_HIGH_ROUND_TRIPS", 30)),
        )


@dataclass(frozen=True)
class ScoreInputs:
    """One whale's stored figures the score is computed from (units: percent, USD, days)."""

    whale_id: int
    roi_percent: Decimal | None
    win_rate_percent: Decimal | None
    realized_pnl_usd: Decimal | None
    closed_round_trips: int
    profitable_days: int
    observed_days: int


@dataclass(frozen=True)
class ScoreResult:
    """Score 0..100 (2 decimals), confidence and the components JSON of one whale."""

    score: Decimal
    confidence: str
    components: dict[str, Any]


def _clamp(value: Decimal, low: Decimal, high: Decimal) -> Decimal:
    return max(low, min(high, value))


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def confidence_for(*, closed_round_trips: int, config: ScoreSettings) -> str:
    """The minimum-sample guard: low / medium / high from closed round trips (module docstring)."""
    if closed_round_trips < config.min_round_trips:
        return ScoreConfidence.LOW
    if closed_round_trips < config.high_round_trips:
        return ScoreConfidence.MEDIUM
    return ScoreConfidence.HIGH


def wallet_score_compute(*, inputs: ScoreInputs, config: ScoreSettings) -> ScoreResult:
    """Score one whale by formula v1 (module docstring); pure, no queries."""
    with localcontext() as ctx:
        ctx.prec = 28
        consistency = (Decimal(inputs.profitable_days) / Decimal(inputs.observed_days)
                       if inputs.observed_days else None)
        raw: dict[str, Decimal | None] = {
            "roi": inputs.roi_percent,
            "win_rate": inputs.win_rate_percent,
            "realized_pnl": inputs.realized_pnl_usd,
            "consistency": consistency,
        }
        normalized: dict[str, Decimal] = {name: ZERO for name in COMPONENTS}
        if inputs.roi_percent is not None:
            normalized["roi"] = (_clamp(inputs.roi_percent, ROI_MIN, ROI_MAX) - ROI_MIN) / (ROI_MAX - ROI_MIN)
        if inputs.win_rate_percent is not None:
            normalized["win_rate"] = _clamp(inputs.win_rate_percent, ZERO, Decimal(100)) / 100
        if inputs.realized_pnl_usd is not None:
            pnl = inputs.realized_pnl_usd
            magnitude = min((ONE + abs(pnl)).log10() / (ONE + config.pnl_cap_usd).log10(), ONE)
            signed = magnitude if pnl >= 0 else -magnitude
            normalized["realized_pnl"] = (ONE + signed) / 2
        if consistency is not None:
            normalized["consistency"] = _clamp(consistency, ZERO, ONE)
        total_weight = sum(config.weights.values(), ZERO)
        weighted = sum((config.weights[name] * normalized[name] for name in COMPONENTS), ZERO)
        score = (weighted / total_weight * 100).quantize(SCORE_QUANTUM, rounding=ROUND_HALF_UP)
    confidence = confidence_for(closed_round_trips=inputs.closed_round_trips, config=config)
    components: dict[str, Any] = {
        name: {"input": _text(raw[name]), "normalized": str(normalized[name].quantize(NORMALIZED_QUANTUM)),
               "weight": str(config.weights[name])}
        for name in COMPONENTS
    }
    components["consistency_days"] = {"profitable": inputs.profitable_days, "observed": inputs.observed_days,
                                      "window_days": CONSISTENCY_DAYS}
    components["sample"] = {"closed_round_trips": inputs.closed_round_trips,
                            "low_below": config.min_round_trips, "high_from": config.high_round_trips}
    components["pnl_cap_usd"] = str(config.pnl_cap_usd)
    return ScoreResult(score=score, confidence=confidence, components=components)


class ScoreComponentRow(TypedDict):
    """One component of a stored score, as the pages and the API show it (``score_breakdown``)."""

    name: str
    input: str | None
    normalized: str
    weight: str
    points: str


def score_breakdown(components: dict[str, Any]) -> list[ScoreComponentRow]:
    """The formula's components of a stored ``WalletScore.components``, in formula order (roi, win_rate,
    realized_pnl, consistency), each with what it adds to the score.

    Units: decimal strings in plain notation ("0.00000000", not the stored "0E-8"); ``input``: roi and
    win_rate in percent, realized_pnl in USD, consistency a 0..1 share, null = no evidence; ``normalized``
    0..1; ``weight`` as configured for that run.
    ``points`` = 100 x weight x normalized / sum(weights of the listed components), rounded half-up to
    2 decimals: the points of the 0..100 score the component earned, so the points add up to the score
    (up to the rounding of each term). Shape: a component missing from ``components`` or without a
    ``normalized`` and ``weight`` (a row written by another formula) is left out; [] when none is listed.
    """
    present = [(name, components[name]) for name in COMPONENTS
               if isinstance(components.get(name), dict) and {"normalized", "weight"} <= components[name].keys()]
    with localcontext() as ctx:
        ctx.prec = 28
        total = sum((Decimal(str(entry["weight"])) for _, entry in present), ZERO)
        rows: list[ScoreComponentRow] = []
        for name, entry in present:
            weight, normalized = Decimal(str(entry["weight"])), Decimal(str(entry["normalized"]))
            points = (weight * normalized / total * 100) if total else ZERO
            rows.append(ScoreComponentRow(
                name=name, input=None if entry.get("input") is None else format(Decimal(str(entry["input"])), "f"),
                normalized=format(normalized, "f"), weight=format(weight, "f"),
                points=str(points.quantize(SCORE_QUANTUM, rounding=ROUND_HALF_UP))))
    return rows


# --------------------------------------------------------------------------- the run


def _batch_inputs(ids: list[int], now: datetime) -> list[ScoreInputs]:
    """Inputs of a batch: 2 queries (metrics, one GROUP BY over the daily rows)."""
    metrics = WalletMetrics.objects.filter(whale_id__in=ids).values(
        "whale_id", "roi_percent", "win_rate_percent", "realized_pnl_usd", "closed_round_trips")
    since = now.date() - timedelta(days=CONSISTENCY_DAYS)
    days = {
        row["whale_id"]: row
        for row in WalletMetricsDaily.objects.filter(whale_id__in=ids, date__gt=since, date__lte=now.date())
        .values("whale_id").order_by()
        .annotate(observed=Count("id", filter=Q(roi_percent__isnull=False)),
                  profitable=Count("id", filter=Q(roi_percent__gt=0)))
    }
    out = []
    for m in sorted(metrics, key=lambda r: r["whale_id"]):
        d = days.get(m["whale_id"], {})
        out.append(ScoreInputs(
            whale_id=m["whale_id"], roi_percent=m["roi_percent"], win_rate_percent=m["win_rate_percent"],
            realized_pnl_usd=m["realized_pnl_usd"], closed_round_trips=m["closed_round_trips"],
            profitable_days=d.get("profitable", 0), observed_days=d.get("observed", 0)))
    return out


@dataclass
class _BatchStats:
    processed: int = 0
    updated: int = 0
    failed: int = 0


def _write(rows: list[WalletScore]) -> None:
    """Flip the whales' current rows and insert the new ones: the caller owns the transaction."""
    WalletScore.objects.filter(whale_id__in=[r.whale_id for r in rows], is_current=True).update(is_current=False)
    WalletScore.objects.bulk_create(rows)


def _score_batch(ids: list[int], run: ScoringRun, config: ScoreSettings, now: datetime) -> _BatchStats:
    """Score one batch (5 queries when it writes: metrics, daily rows, current scores, flip, insert)."""
    stats = _BatchStats()
    current = {s.whale_id: s for s in WalletScore.objects.filter(whale_id__in=ids, is_current=True)
               .only("whale_id", "score", "confidence", "formula_version")}
    new_rows: list[WalletScore] = []
    for inputs in _batch_inputs(ids, now):
        try:
            result = wallet_score_compute(inputs=inputs, config=config)
        except SoftTimeLimitExceeded:
            raise  # the task's time is up: stop the run, not just this wallet
        except Exception:  # one wallet's bad data must not stop the others (issue 6)
            stats.failed += 1
            logger.exception("whales.scoring.wallet_failed", extra={"whale_id": inputs.whale_id, "run_id": run.pk})
            continue
        stats.processed += 1
        old = current.get(inputs.whale_id)
        if old and (old.score, old.confidence, old.formula_version) == (
                result.score, result.confidence, FORMULA_VERSION):
            continue
        new_rows.append(WalletScore(whale_id=inputs.whale_id, run=run, score=result.score,
                                    confidence=result.confidence, components=result.components,
                                    formula_version=FORMULA_VERSION, scored_at=now, is_current=True))
    if not new_rows:
        return stats
    try:
        with transaction.atomic():
            _write(new_rows)
        stats.updated += len(new_rows)
    except DatabaseError:
        logger.exception("whales.scoring.batch_write_failed", extra={"run_id": run.pk, "rows": len(new_rows)})
        for row in new_rows:  # retry alone so one bad row fails alone
            try:
                with transaction.atomic():
                    _write([row])
                stats.updated += 1
            except DatabaseError:
                stats.processed -= 1
                stats.failed += 1
                logger.exception("whales.scoring.wallet_failed", extra={"whale_id": row.whale_id, "run_id": run.pk})
    return stats


@contextmanager
def _run_lock(now: datetime) -> Iterator[bool]:
    """Yield True when this process may run (module docstring: advisory lock or running-row check)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        return
    stale = int(getattr(settings, "WHALE_SCORING_STALE_MINUTES", 30))
    busy = ScoringRun.objects.filter(status=RunStatus.RUNNING, started_at__gt=now - timedelta(minutes=stale)).exists()
    yield not busy


def _finish_hooks(run: ScoringRun) -> None:
    for hook in list(SCORING_FINISHED_HOOKS):
        try:
            hook(run)
        except Exception:  # a listener's failure (e.g. Redis down) must not fail the run
            logger.exception("whales.scoring.hook_failed", extra={"hook": getattr(hook, "__name__", repr(hook))})


def scoring_run(*, batch_size: int = BATCH_WALLETS, now: datetime | None = None) -> ScoringRun:
    """Score every tracked whale with metrics in batches; return the stored ScoringRun.

    Shape: 1 query for the ids, ~5 per batch of ``batch_size`` whales, plus the run row's writes.
    Never two at once: a run that finds another running returns a ScoringRun with status failed and
    error "skipped: ..." having scored nothing (module docstring). Calls the registered finish hooks
    once at the end of a run that ran.
    Raises: whatever the run itself raised (after storing status failed and the error); a single
    wallet's error is counted in ``failed`` instead.
    """
    now = now or timezone.now()
    started = time.monotonic()
    config = ScoreSettings.from_settings()
    with _run_lock(now) as acquired:
        if not acquired:
            run = ScoringRun.objects.create(
                started_at=now, finished_at=timezone.now(), status=RunStatus.FAILED, formula_version=FORMULA_VERSION,
                duration_ms=0, error="skipped: another scoring run is in progress")
            logger.warning("whales.scoring.skipped", extra={"run_id": run.pk})
            return run
        if connection.vendor == "postgresql":  # under the lock, a running row is a killed worker's
            ScoringRun.objects.filter(status=RunStatus.RUNNING).update(
                status=RunStatus.FAILED, error="abandoned: the worker stopped before finishing",
                finished_at=timezone.now())
        run = ScoringRun.objects.create(started_at=now, formula_version=FORMULA_VERSION)
        try:
            ids = list(Whale.objects.filter(is_tracked=True, metrics__isnull=False).order_by("pk")
                       .values_list("pk", flat=True))
            run.total = len(ids)
            batches = 0
            for start in range(0, len(ids), batch_size):
                stats = _score_batch(ids[start:start + batch_size], run, config, now)
                batches += 1
                run.processed += stats.processed
                run.updated += stats.updated
                run.failed += stats.failed
        except BaseException as exc:
            run.status = RunStatus.FAILED
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
            run.finished_at = timezone.now()
            run.duration_ms = int((time.monotonic() - started) * 1000)
            run.save()
            logger.exception("whales.scoring.failed", extra={"run_id": run.pk})
            raise
        if run.failed and not run.processed:
            run.status = RunStatus.FAILED
        elif run.failed:
            run.status = RunStatus.PARTIAL
        else:
            run.status = RunStatus.OK
        run.finished_at = timezone.now()
        run.duration_ms = int((time.monotonic() - started) * 1000)
        run.save()
    logger.info("whales.scoring.done", extra={
        "run_id": run.pk, "total": run.total, "processed": run.processed, "updated": run.updated,
        "failed": run.failed, "batches": batches, "duration_ms": run.duration_ms})
    _finish_hooks(run)
    return run
