"""The data-quality monitor: a score from 0 to 100 for each of the four ledgers and for the whole system, as
the system WhaleTrack grew from scores them, with the issues behind every missing point.

A ledger's score = 0.30 x completeness + 0.40 x timeliness + 0.30 x accuracy (each 0-100); the system's score
is the mean of the four ledgers' scores. Scores are Decimals rounded half-even to one decimal.

- **Completeness**: does the ledger have what it should? The parts are the ledger's data probes (each passes
  when its table has a row: trades for glass, prices for exchange, sentiment readings for human, catalysts for
  catalyst) and its *enabled* collectors (a registered collector whose Celery task has an enabled beat row,
  or a long-running monitor, which has no task) that must have run successfully (ok or partial) at least once.
  completeness = 100 x parts passing / parts; a ledger with no parts scores 0.
- **Timeliness**: how fresh each enabled collector is against its own schedule (``Collector.stale_after_s``).
  With r = (now - its last successful run) / stale_after_s (a monitor: its last message's age), a collector
  scores 100 when r <= 1, falls linearly to 0 at r = 3, and scores 0 when it never succeeded. timeliness =
  the mean over the ledger's enabled collectors; 0 with none.
- **Accuracy**: checks that real data can fail (``QualityCheck``; each ledger app registers its own). A
  check counts the rows it looked at (``checked``) and those at fault (``failed``) and scores
  100 x (1 - failed / checked), 100 when it had nothing to check. accuracy = the mean of the ledger's
  checks; 100 with none.

Issues: every missing point has one, with a severity and what to do. Completeness: a probe with no rows
(high), an enabled collector that never succeeded (medium). Timeliness: a collector past its bound (medium),
past 3x its bound (high). Accuracy: a check with failures (the check's severity). Each issue has a stable
``key``; ``quality_run`` keeps them in ``QualityIssue`` (opened when first found, closed when no longer found)
and, the first time an open issue is high, raises a ``data_quality`` WhaleEvent on the live feed and alerts
staff (``alerts.services.staff_alert``). Run it again and nothing is raised twice.

The ledger apps register their probes and checks here in ``AppConfig.ready`` (``quality_probe_register``,
``quality_check_register``); this kit registers those over the ``whales`` tables (``kit_checks_register``).
"""

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.db.models.functions import Abs
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from alerts.services import events_publish, staff_alert
from ledgers.models import QualityIssue, QualityReport, QualitySeverity
from ledgers.registry import Ledger, collector_get, collector_names
from ledgers.selectors import collector_health_list
from whales.models import CatalystEvent, EventType, Holding, MoodReading, Trade, WhaleEvent

logger = logging.getLogger(__name__)

WEIGHTS = {"completeness": Decimal("0.30"), "timeliness": Decimal("0.40"), "accuracy": Decimal("0.30")}
STALE_ZERO_AT = 3  # r = age / stale_after_s at which a collector's timeliness reaches 0 (and its issue is high)
EXAMPLES = 5  # example rows kept per failing check
SCORE_QUANTUM = Decimal("0.1")
HUNDRED = Decimal(100)
LOCK_KEY = 0x0A1_17_16  # pg advisory lock id of a quality run (unique in the project; scoring uses another)


@dataclass(frozen=True)
class CheckOutcome:
    """What one accuracy check found: rows looked at, rows at fault, and up to EXAMPLES of the faulty ones
    (ids or keys, as text)."""

    checked: int
    failed: int
    examples: Sequence[str] = ()


@dataclass(frozen=True)
class QualityCheck:
    """An accuracy check of one ledger: ``run()`` -> CheckOutcome, set-based SQL (it must stay fast at 1M
    trades). ``description`` says what it asserts; ``action`` what to do when it fails."""

    name: str
    ledger: Ledger
    severity: str
    description: str
    action: str
    run: Callable[[], CheckOutcome]


@dataclass(frozen=True)
class DataProbe:
    """A completeness part of one ledger: ``has_data()`` is True when the table it names has a row."""

    name: str
    ledger: Ledger
    description: str
    has_data: Callable[[], bool]


_CHECKS: dict[str, QualityCheck] = {}
_PROBES: dict[str, DataProbe] = {}


def quality_check_register(check: QualityCheck) -> None:
    """Register ``check`` under its name (the same name again replaces it)."""
    _CHECKS[check.name] = check


def quality_probe_register(probe: DataProbe) -> None:
    """Register ``probe`` under its name (the same name again replaces it)."""
    _PROBES[probe.name] = probe


class Issue(TypedDict):
    """One data-quality issue as the API lists it (``QualityIssue`` fields; times ISO-8601 UTC)."""

    key: str
    ledger: str
    kind: str
    severity: str
    message: str
    action: str
    count: int
    examples: list[str]
    opened_at: str | None


@dataclass
class Assessment:
    """A quality run's figures before they are stored: {ledger: {part: score}}, the issues found and each
    check's counts."""

    ledgers: dict[str, dict[str, Decimal]]
    score: Decimal
    issues: list[Issue] = field(default_factory=list)
    checks: dict[str, dict[str, Any]] = field(default_factory=dict)


def _q(value: Decimal) -> Decimal:
    return value.quantize(SCORE_QUANTUM, rounding=ROUND_HALF_EVEN)


def _issue(*, key: str, ledger: str, kind: str, severity: str, message: str, action: str, count: int = 1,
           examples: Iterable[str] = ()) -> Issue:
    return Issue(key=key, ledger=ledger, kind=kind, severity=severity, message=message[:500], action=action[:500],
                 count=count, examples=list(examples)[:EXAMPLES], opened_at=None)


def enabled_collectors() -> list[str]:
    """Names of the registered collectors that run: a task with an enabled beat row, or a monitor (no task)."""
    names = collector_names()
    tasks = {collector_get(name).task for name in names} - {""}
    enabled_tasks = set(PeriodicTask.objects.filter(task__in=tasks, enabled=True).values_list("task", flat=True))
    return [name for name in names if not collector_get(name).task or collector_get(name).task in enabled_tasks]


def timeliness_of(*, age_s: float | None, stale_after_s: int) -> Decimal:
    """A collector's timeliness (module docstring): 100 up to its bound, linear to 0 at STALE_ZERO_AT x the
    bound; 0 when it never succeeded (``age_s`` None)."""
    if age_s is None:
        return Decimal(0)
    ratio = Decimal(str(max(age_s, 0.0))) / Decimal(stale_after_s)
    if ratio <= 1:
        return HUNDRED
    if ratio >= STALE_ZERO_AT:
        return Decimal(0)
    return HUNDRED * (STALE_ZERO_AT - ratio) / (STALE_ZERO_AT - 1)


def _age_s(item: dict[str, Any], now: datetime) -> float | None:
    """Seconds since a collector's last success (a monitor with live statistics: its last message's age)."""
    live = item.get("live")
    if live is not None and live.get("last_message_age_s") is not None:
        return float(live["last_message_age_s"])
    if item["last_success_at"] is None:
        return None
    return (now - datetime.fromisoformat(item["last_success_at"])).total_seconds()


def _duration(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


def quality_assess(*, now: datetime | None = None) -> Assessment:
    """Score every ledger and the system now (module docstring) and list the issues. Reads only.

    Queries: the collectors' health (``collector_health_list``), one per probe, one or two per check.
    """
    now = now or timezone.now()
    enabled = set(enabled_collectors())
    health = {item["name"]: item for item in collector_health_list()}
    issues: list[Issue] = []
    parts: dict[str, dict[str, list[Decimal]]] = {
        str(ledger): {"completeness": [], "timeliness": [], "accuracy": []} for ledger in Ledger}

    for probe in sorted(_PROBES.values(), key=lambda p: p.name):
        present = probe.has_data()
        parts[str(probe.ledger)]["completeness"].append(HUNDRED if present else Decimal(0))
        if not present:
            issues.append(_issue(
                key=f"completeness:data:{probe.name}", ledger=probe.ledger, kind="completeness",
                severity=QualitySeverity.HIGH, message=f"The {probe.ledger} ledger has no {probe.description}.",
                action="Run its collectors (manage.py collect NAME) and read their run log in the admin."))
    for name in sorted(enabled):
        item, collector = health[name], collector_get(name)
        ledger = str(collector.ledger)
        ran = item["last_success_at"] is not None or item.get("live") is not None
        parts[ledger]["completeness"].append(HUNDRED if ran else Decimal(0))
        age = _age_s(dict(item), now)
        parts[ledger]["timeliness"].append(timeliness_of(age_s=age, stale_after_s=collector.stale_after_s))
        if not ran:
            issues.append(_issue(
                key=f"completeness:collector:{name}", ledger=ledger, kind="completeness",
                severity=QualitySeverity.MEDIUM, message=f"The {name} collector has never run successfully.",
                action=f"Run manage.py collect {name}; if it fails, read its run log (admin, collector runs)."))
        elif age is not None and age > collector.stale_after_s:
            high = age >= STALE_ZERO_AT * collector.stale_after_s
            issues.append(_issue(
                key=f"timeliness:{name}", ledger=ledger, kind="timeliness",
                severity=QualitySeverity.HIGH if high else QualitySeverity.MEDIUM,
                message=(f"The {name} collector last succeeded {_duration(age)} ago; its bound is "
                         f"{_duration(collector.stale_after_s)}."),
                action=(f"Check the worker and beat are running and its beat row is enabled; its last error: "
                        f"/api/v1/collectors/{name}.")))

    checks: dict[str, dict[str, Any]] = {}
    for check in sorted(_CHECKS.values(), key=lambda c: c.name):
        outcome = check.run()
        score = HUNDRED if outcome.checked == 0 else HUNDRED * (1 - Decimal(outcome.failed) / outcome.checked)
        parts[str(check.ledger)]["accuracy"].append(score)
        checks[check.name] = {"ledger": str(check.ledger), "severity": check.severity,
                              "description": check.description, "checked": outcome.checked,
                              "failed": outcome.failed}
        if outcome.failed:
            issues.append(_issue(
                key=f"accuracy:{check.name}", ledger=check.ledger, kind="accuracy", severity=check.severity,
                message=f"{outcome.failed} of {outcome.checked}: {check.description}", action=check.action,
                count=outcome.failed, examples=outcome.examples))

    ledgers: dict[str, dict[str, Decimal]] = {}
    for ledger, scores in parts.items():
        completeness = sum(scores["completeness"], Decimal(0)) / len(scores["completeness"]) \
            if scores["completeness"] else Decimal(0)
        timeliness = sum(scores["timeliness"], Decimal(0)) / len(scores["timeliness"]) \
            if scores["timeliness"] else Decimal(0)
        accuracy = sum(scores["accuracy"], Decimal(0)) / len(scores["accuracy"]) if scores["accuracy"] else HUNDRED
        total = (WEIGHTS["completeness"] * completeness + WEIGHTS["timeliness"] * timeliness
                 + WEIGHTS["accuracy"] * accuracy)
        ledgers[ledger] = {"score": _q(total), "completeness": _q(completeness), "timeliness": _q(timeliness),
                           "accuracy": _q(accuracy)}
    system = _q(sum((v["score"] for v in ledgers.values()), Decimal(0)) / len(ledgers))
    issues.sort(key=lambda i: (i["severity"] != QualitySeverity.HIGH, i["ledger"], i["key"]))
    return Assessment(ledgers=ledgers, score=system, issues=issues, checks=checks)


@dataclass(frozen=True)
class QualityRunResult:
    """What ``quality_run`` stored: the report, the issues opened and closed, the events raised."""

    report: QualityReport
    opened: int
    closed: int
    events: int


def _run_lock() -> None:
    """Serialize quality runs inside the caller's transaction (PostgreSQL: a transaction advisory lock, released
    at commit; SQLite writes are serial already)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def quality_run(*, now: datetime | None = None) -> QualityRunResult:
    """Assess (``quality_assess``), then in one transaction store a QualityReport, open the new issues, update
    the open ones still found and close those no longer found; an open issue that is high and has raised no
    event yet raises one ``data_quality`` WhaleEvent (no chain, no whale; ``tx_hash`` "quality:<issue id>"),
    published after commit (``events_publish``), and alerts staff once (``staff_alert``).

    Reports older than QUALITY_REPORT_KEEP_DAYS are deleted. Idempotent: a second run on the same state opens,
    closes and raises nothing. Concurrent runs queue on a
    lock. Safe to kill: one transaction.
    """
    started = time.monotonic()
    now = now or timezone.now()
    assessment = quality_assess(now=now)
    found = {issue["key"]: issue for issue in assessment.issues}
    opened = closed = 0
    raised: list[WhaleEvent] = []
    with transaction.atomic():
        _run_lock()
        open_issues = {issue.key: issue for issue in QualityIssue.objects.select_for_update().filter(
            closed_at__isnull=True)}
        for key, stale in open_issues.items():
            if key not in found:
                stale.closed_at = now
                stale.save(update_fields=["closed_at"])
                closed += 1
        for key, data in found.items():
            row = open_issues.get(key)
            fields = {"ledger": data["ledger"], "kind": data["kind"], "severity": data["severity"],
                      "message": data["message"], "action": data["action"], "count": data["count"],
                      "examples": data["examples"], "last_seen_at": now}
            if row is None:
                row = QualityIssue.objects.create(key=key, opened_at=now, **fields)
                opened += 1
            else:
                for name, value in fields.items():
                    setattr(row, name, value)
                row.save(update_fields=[*fields])
            data["opened_at"] = row.opened_at.isoformat().replace("+00:00", "Z")
            if row.severity == QualitySeverity.HIGH and row.event_id is None:
                event = WhaleEvent.objects.create(
                    chain="", type=EventType.DATA_QUALITY, whale=None, block_time=now, tx_hash=f"quality:{row.pk}",
                    log_index=-1, summary=f"Data quality ({row.ledger}): {row.message}"[:500],
                    details={"key": row.key, "ledger": row.ledger, "kind": row.kind, "severity": row.severity,
                             "action": row.action, "count": row.count, "examples": row.examples}, observed_at=now)
                row.event_id = event.pk
                row.save(update_fields=["event_id"])
                raised.append(event)
        report = QualityReport.objects.create(
            computed_at=now, score=assessment.score,
            ledgers={ledger: {part: str(value) for part, value in scores.items()}
                     for ledger, scores in assessment.ledgers.items()},
            issues=list(found.values()), checks=assessment.checks,
            duration_ms=int((time.monotonic() - started) * 1000))
        QualityReport.objects.filter(
            computed_at__lt=now - timedelta(days=settings.QUALITY_REPORT_KEEP_DAYS)).delete()
        if raised:
            events_publish(event_ids=[event.pk for event in raised])
            staff_alert(subject=f"WhaleTrack data quality: {len(raised)} high issue(s)",
                        lines=[event.summary for event in raised], events=raised)
    logger.info("ledgers.quality.run", extra={"score": str(assessment.score), "issues": len(found),
                                              "opened": opened, "closed": closed, "events": len(raised)})
    return QualityRunResult(report=report, opened=opened, closed=closed, events=len(raised))


# --- the kit's own checks and probes (whales tables) -----------------------------------------------------------

# Events that come from one stored trade (a reorg retraction, a mempool sighting and system events do not).
TRADE_EVENT_TYPES = (EventType.LARGE_TRANSFER, EventType.LARGE_SWAP, EventType.EXCHANGE_FLOW, EventType.PERP_TRADE)
VALUE_TOLERANCE_USD = Decimal("0.01")
FUTURE_SLACK = timedelta(minutes=10)


def _examples(queryset: Any, field_name: str = "pk") -> list[str]:
    return [str(value) for value in queryset.values_list(field_name, flat=True)[:EXAMPLES]]


def check_event_without_trade() -> CheckOutcome:
    """Whale events of a trade's types (TRADE_EVENT_TYPES) whose trade is missing: no Trade of the same chain,
    transaction and whale. One query over the events, an index probe per event (the trades' natural key)."""
    events = WhaleEvent.objects.filter(type__in=TRADE_EVENT_TYPES, whale__isnull=False).annotate(
        has_trade=Exists(Trade.objects.filter(chain=OuterRef("chain"), tx_hash=OuterRef("tx_hash"),
                                              whale_id=OuterRef("whale_id"))))
    counts = events.aggregate(checked=Count("id"), failed=Count("id", filter=Q(has_trade=False)))
    examples = _examples(events.filter(has_trade=False).order_by("id")) if counts["failed"] else []
    return CheckOutcome(counts["checked"], counts["failed"], examples)


def check_negative_spot_balance() -> CheckOutcome:
    """Spot holdings (not perps, whose short positions are negative by design) with a negative amount."""
    holdings = Holding.objects.filter(is_perp=False)
    counts = holdings.aggregate(checked=Count("id"), failed=Count("id", filter=Q(amount__lt=0)))
    examples = _examples(holdings.filter(amount__lt=0).order_by("id")) if counts["failed"] else []
    return CheckOutcome(counts["checked"], counts["failed"], examples)


def check_trade_value() -> CheckOutcome:
    """Trades whose movement and valuation disagree: amount_base x price_usd differs from value_usd by more
    than VALUE_TOLERANCE_USD (trades with all three known). One scan of the trades."""
    trades = Trade.objects.filter(amount_base__isnull=False, price_usd__isnull=False, value_usd__isnull=False)
    wrong = Q(gap__gt=VALUE_TOLERANCE_USD)
    counted = trades.annotate(gap=Abs(F("amount_base") * F("price_usd") - F("value_usd")))
    counts = counted.aggregate(checked=Count("id"), failed=Count("id", filter=wrong))
    examples = _examples(counted.filter(wrong).order_by("id")) if counts["failed"] else []
    return CheckOutcome(counts["checked"], counts["failed"], examples)


def check_catalyst_in_future() -> CheckOutcome:
    """Catalysts dated more than FUTURE_SLACK after now (a time zone or parsing fault)."""
    future = Q(occurred_at__gt=timezone.now() + FUTURE_SLACK)
    counts = CatalystEvent.objects.aggregate(checked=Count("id"), failed=Count("id", filter=future))
    examples = _examples(CatalystEvent.objects.filter(future).order_by("id"), "source_ref") if counts["failed"] else []
    return CheckOutcome(counts["checked"], counts["failed"], examples)


def kit_checks_register() -> None:
    """Register the probes and checks over the ``whales`` tables (called from ``LedgersConfig.ready``)."""
    quality_probe_register(DataProbe("glass.trades", Ledger.GLASS, "whale trades", Trade.objects.exists))
    quality_probe_register(DataProbe("human.moods", Ledger.HUMAN, "sentiment readings", MoodReading.objects.exists))
    quality_probe_register(DataProbe("catalyst.events", Ledger.CATALYST, "catalysts", CatalystEvent.objects.exists))
    quality_check_register(QualityCheck(
        "event_without_trade", Ledger.GLASS, QualitySeverity.HIGH,
        "whale events whose trade is not stored",
        "Re-run the chain's collector over those blocks; the examples are event ids.", check_event_without_trade))
    quality_check_register(QualityCheck(
        "negative_spot_balance", Ledger.GLASS, QualitySeverity.HIGH,
        "spot holdings with a negative amount",
        "Re-read the holdings (ethereum.holdings) and check the token's decimals; the examples are holding ids.",
        check_negative_spot_balance))
    quality_check_register(QualityCheck(
        "trade_value", Ledger.GLASS, QualitySeverity.MEDIUM,
        "trades whose amount x price is not their USD value (to the cent)",
        "Re-value those trades (manage.py collect prices, then the chain's collector); examples are trade ids.",
        check_trade_value))
    quality_check_register(QualityCheck(
        "catalyst_in_future", Ledger.CATALYST, QualitySeverity.MEDIUM,
        "catalysts dated in the future",
        "Check the source's time zone parsing; the examples are the catalysts' source references.",
        check_catalyst_in_future))


def quality_latest() -> QualityReport | None:
    """The newest stored report, or None before the first run."""
    return QualityReport.objects.order_by("-computed_at", "-id").first()

