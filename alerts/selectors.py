"""Reads of the alerts app: which rules an event matches, a rule's replay over stored events, listings.

Nothing here writes. Matching has one definition, ``RuleCriteria.matches``, used by live
publishing (``alerts.services``) and by ``rule_simulate``, so a simulation counts what publishing
would have sent.
"""

import itertools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Exists, Max, OuterRef, Q, QuerySet
from django.utils import timezone

from alerts.models import Alert, AlertDestination, AlertRule
from whales.models import SYSTEM_EVENT_TYPES, Direction, EventType, Trade, WatchlistEntry, WhaleEvent, WhaleLabel

# The directions a Trade behind each event type can have (whales.services.trades_ingest raises one
# event per trade; the ledgers pick the type from the direction).
TYPE_DIRECTIONS: dict[str, frozenset[str]] = {
    EventType.LARGE_TRANSFER: frozenset({Direction.SEND, Direction.RECEIVE}),
    EventType.EXCHANGE_FLOW: frozenset({Direction.DEPOSIT, Direction.WITHDRAW}),
    EventType.LARGE_SWAP: frozenset({Direction.BUY, Direction.SELL}),
    EventType.PERP_TRADE: frozenset({Direction.LONG, Direction.SHORT, Direction.CLOSE_LONG, Direction.CLOSE_SHORT}),
    EventType.MEMPOOL_WHALE: frozenset(),
    EventType.REORG_RETRACTION: frozenset(),
}
# Hyperliquid fill "dir" texts (details["dir"]) of one-leg fills.
_PERP_DIRS = {"Open Long": Direction.LONG, "Close Long": Direction.CLOSE_LONG, "Open Short": Direction.SHORT,
              "Close Short": Direction.CLOSE_SHORT}
# A flip's two legs share details["dir"]; details["movement"] tells the opening leg from the closing one.
_PERP_FLIPS = {"Long > Short": (Direction.CLOSE_LONG, Direction.SHORT),
               "Short > Long": (Direction.CLOSE_SHORT, Direction.LONG)}


def event_types_for_direction(direction: str) -> list[str]:
    """The event types whose activity can have ``direction`` (e.g. deposit -> [exchange_flow])."""
    return [t for t, directions in TYPE_DIRECTIONS.items() if direction in directions]


def _direction_from_details(event: WhaleEvent) -> str | None:
    """The direction the event's ``details`` state, for events whose Trade is gone (or never existed).

    Source: Hyperliquid perp fills (``dir`` + ``movement``), Hyperliquid ledger updates
    (``ledger_type`` deposit/withdraw), Bitcoin transfers (sign of ``net_sat``: < 0 send, > 0
    receive). Ethereum details carry no direction (its Trade is the only source).
    """
    details = event.details or {}
    if event.type == EventType.PERP_TRADE:
        dir_text = details.get("dir")
        if dir_text in _PERP_DIRS:
            return _PERP_DIRS[dir_text]
        if dir_text in _PERP_FLIPS:
            closing, opening = _PERP_FLIPS[dir_text]
            return opening if details.get("movement") in ("opened", "increased") else closing
    elif event.type == EventType.EXCHANGE_FLOW and details.get("ledger_type") in (Direction.DEPOSIT,
                                                                                   Direction.WITHDRAW):
        return details["ledger_type"]
    elif event.type == EventType.LARGE_TRANSFER and isinstance(details.get("net_sat"), int) and details["net_sat"]:
        return Direction.SEND if details["net_sat"] < 0 else Direction.RECEIVE
    return None


def event_directions(events: Sequence[WhaleEvent]) -> dict[int, frozenset[str]]:
    """The direction(s) of the whale activity each event reports: {event id: directions}.

    Source: the event's ``Trade``, i.e. the trade with the same (chain, tx_hash, log_index, whale)
    whose direction fits the event type (``TYPE_DIRECTIONS``): an Ethereum transfer is send/receive,
    an exchange flow deposit/withdraw, a swap buy/sell, a perp fill long/short/close_long/close_short
    (a flip's two legs have distinct log indexes, so each event gets its own leg). Without such a trade,
    ``details`` where they say it (``_direction_from_details``). Events without a whale, mempool
    whales and reorg retractions have none (empty set). Normally one direction; a self-transfer can
    have two (send and receive). One query for any number of events.
    """
    with_whale = [e for e in events if e.whale_id is not None and TYPE_DIRECTIONS.get(e.type)]
    found: dict[tuple, set[str]] = {}
    if with_whale:
        rows = Trade.objects.filter(
            chain__in={e.chain for e in with_whale}, tx_hash__in={e.tx_hash for e in with_whale},
            whale_id__in={e.whale_id for e in with_whale},
        ).values_list("chain", "tx_hash", "log_index", "whale_id", "direction")
        for chain, tx_hash, log_index, whale_id, direction in rows:
            found.setdefault((chain, tx_hash, log_index, whale_id), set()).add(direction)
    out: dict[int, frozenset[str]] = {}
    for event in events:
        allowed = TYPE_DIRECTIONS.get(event.type, frozenset())
        directions = found.get((event.chain, event.tx_hash, event.log_index, event.whale_id), set()) & allowed
        if not directions and event.whale_id is not None:
            fallback = _direction_from_details(event)
            directions = {fallback} if fallback else set()
        out[event.pk] = frozenset(directions)
    return out


@dataclass(frozen=True)
class EventFacts:
    """What rule matching needs to know about an event beyond its own columns."""

    entity_id: int | None
    label_ids: frozenset[int]
    directions: frozenset[str]


def event_facts(events: Sequence[WhaleEvent]) -> dict[int, EventFacts]:
    """{event id: EventFacts}: the whale's entity (needs ``whale`` selected), label ids and the
    event's directions. Two queries for any number of events."""
    whale_ids = {e.whale_id for e in events if e.whale_id is not None}
    labels: dict[int, set[int]] = {}
    for whale_id, label_id in WhaleLabel.objects.filter(whale_id__in=whale_ids).values_list("whale_id", "label_id"):
        labels.setdefault(whale_id, set()).add(label_id)
    directions = event_directions(events)
    return {
        e.pk: EventFacts(
            entity_id=e.whale.entity_id if e.whale is not None else None,
            label_ids=frozenset(labels.get(e.whale_id, ())) if e.whale_id is not None else frozenset(),
            directions=directions[e.pk],
        )
        for e in events
    }


@dataclass(frozen=True)
class RuleCriteria:
    """A rule's conditions as plain sets (see ``AlertRule`` for what each one means)."""

    rule_id: int
    active: bool
    chains: frozenset[str]
    event_types: frozenset[str]
    min_value_usd: Decimal | None
    whale_ids: frozenset[int]
    label_ids: frozenset[int]
    entity_ids: frozenset[int]
    direction: str
    watchlist_wallets: frozenset[tuple[str, str]] | None = None  # None: no watchlist condition

    def matches(self, event: WhaleEvent, facts: EventFacts) -> bool:
        """True when ``event`` meets every condition of the rule (empty conditions accept anything).

        - active; chain in ``chains``; type in ``event_types`` (a system event's type, ``SYSTEM_EVENT_TYPES``,
          must be named there: an empty list does not take them);
        - ``min_value_usd``: ``event.value_usd`` is not None and >= it;
        - ``whale_ids``: event's whale in it; ``label_ids``: the whale has one of those labels;
          ``entity_ids``: the whale's entity in it; ``watchlist_wallets``: the whale's (chain, address) in it
          (events without a whale fail all four);
        - ``direction``: in the event's directions (``event_directions``).
        """
        if not self.active:
            return False
        if self.chains and event.chain not in self.chains:
            return False
        if self.event_types and event.type not in self.event_types:
            return False
        if event.type in SYSTEM_EVENT_TYPES and event.type not in self.event_types:
            return False  # a catalyst or data-quality event reaches only rules that name its type
        if self.min_value_usd is not None and (event.value_usd is None or event.value_usd < self.min_value_usd):
            return False
        if self.whale_ids and event.whale_id not in self.whale_ids:
            return False
        if self.label_ids and not (self.label_ids & facts.label_ids):
            return False
        if self.entity_ids and facts.entity_id not in self.entity_ids:
            return False
        if self.watchlist_wallets is not None and (
                event.whale is None or (event.whale.chain, event.whale.address) not in self.watchlist_wallets):
            return False
        return not self.direction or self.direction in facts.directions


def rule_criteria_list(rules: Sequence[AlertRule]) -> list[RuleCriteria]:
    """``RuleCriteria`` of ``rules`` in the given order; four queries (the M2M tables and the rules' watchlist
    entries) for any number."""
    ids = [r.pk for r in rules]

    def m2m(field: str, column: str) -> dict[int, set[int]]:
        through = getattr(AlertRule, field).through
        out: dict[int, set[int]] = {}
        for rule_id, other_id in through.objects.filter(alertrule_id__in=ids).values_list("alertrule_id", column):
            out.setdefault(rule_id, set()).add(other_id)
        return out

    whales, labels, entities = m2m("whales", "whale_id"), m2m("labels", "label_id"), m2m("entities", "entity_id")
    wallets: dict[int, set[tuple[str, str]]] = {}
    watchlist_ids = {r.watchlist_id for r in rules if r.watchlist_id is not None}
    for list_id, chain, address in WatchlistEntry.objects.filter(watchlist_id__in=watchlist_ids).values_list(
            "watchlist_id", "chain", "address"):
        wallets.setdefault(list_id, set()).add((chain, address))
    return [
        RuleCriteria(
            rule_id=r.pk, active=r.active, chains=frozenset(r.chains or ()), event_types=frozenset(r.event_types or ()),
            min_value_usd=r.min_value_usd, whale_ids=frozenset(whales.get(r.pk, ())),
            label_ids=frozenset(labels.get(r.pk, ())), entity_ids=frozenset(entities.get(r.pk, ())),
            direction=r.direction,
            watchlist_wallets=(frozenset(wallets.get(r.watchlist_id, ())) if r.watchlist_id is not None else None),
        )
        for r in rules
    ]


def rules_active(*, event: WhaleEvent | None = None) -> QuerySet[AlertRule]:
    """Active rules, by id; with ``event``, only those its scalar columns can match (SQL prefilter).

    The prefilter drops rules whose ``min_value_usd`` the event misses and, on PostgreSQL (JSON
    containment), whose ``chains``/``event_types`` exclude it; ``RuleCriteria.matches`` decides.
    """
    rules = AlertRule.objects.filter(active=True).order_by("pk")
    if event is None:
        return rules
    if event.value_usd is None:
        rules = rules.filter(min_value_usd__isnull=True)
    else:
        rules = rules.filter(Q(min_value_usd__isnull=True) | Q(min_value_usd__lte=event.value_usd))
    if connection.vendor == "postgresql":
        rules = rules.filter(Q(chains=[]) | Q(chains__contains=[event.chain]))
        rules = rules.filter(Q(event_types=[]) | Q(event_types__contains=[event.type]))
    return rules


def rules_matching(event: WhaleEvent) -> list[AlertRule]:
    """The active rules ``event`` matches, by rule id. Select ``whale`` with the event.

    Shape: SQL prefilter (``rules_active``), then ``RuleCriteria.matches`` per remaining rule.
    Queries: 1 (rules) + 3 (their M2M ids) + 2 (the event's labels and trade direction).
    """
    rules = list(rules_active(event=event))
    if not rules:
        return []
    facts = event_facts([event])[event.pk]
    return [rule for rule, criteria in zip(rules, rule_criteria_list(rules), strict=True)
            if criteria.matches(event, facts)]


def alert_rule_list(*, owner_id: int) -> QuerySet[AlertRule]:
    """``owner_id``'s rules, newest first, M2M ids prefetched."""
    return (AlertRule.objects.filter(owner_id=owner_id)
            .prefetch_related("whales", "labels", "entities", "destinations")
            .order_by("-created_at", "-id"))


def alert_rule_get(*, owner_id: int, rule_id: int) -> AlertRule:
    """One of ``owner_id``'s rules. Raises: AlertRule.DoesNotExist (also for another user's rule)."""
    return alert_rule_list(owner_id=owner_id).get(pk=rule_id)


def destination_list(*, owner_id: int) -> QuerySet[AlertDestination]:
    """``owner_id``'s alert destinations, newest first."""
    return AlertDestination.objects.filter(owner_id=owner_id).order_by("-created_at", "-id")


def destination_get(*, owner_id: int, destination_id: int) -> AlertDestination:
    """One of ``owner_id``'s destinations. Raises: AlertDestination.DoesNotExist (also for another user's)."""
    return destination_list(owner_id=owner_id).get(pk=destination_id)


def alert_list(*, owner_id: int, rule_id: int | None = None, status: str | None = None) -> QuerySet[Alert]:
    """``owner_id``'s alerts, newest first (created_at, id), rule and event (whale, entity) joined."""
    alerts = Alert.objects.filter(owner_id=owner_id).select_related("rule", "event__whale__entity")
    if rule_id is not None:
        alerts = alerts.filter(rule_id=rule_id)
    if status:
        alerts = alerts.filter(status=status)
    return alerts.order_by("-created_at", "-id")


# --- simulation --------------------------------------------------------------------------------


def rule_candidate_events(rule: AlertRule, *, since: datetime, until: datetime) -> QuerySet[WhaleEvent]:
    """Stored events with ``since <= block_time <= until`` that the rule's conditions can match,
    oldest first (block_time, id); one set-based query with every condition SQL can express
    (chains, types, value, whales, entities, labels via EXISTS, and the types a direction allows).
    ``RuleCriteria.matches`` still decides (direction needs the events' trades)."""
    events = WhaleEvent.objects.filter(block_time__gte=since, block_time__lte=until).select_related("whale")
    if rule.chains:
        events = events.filter(chain__in=rule.chains)
    if rule.event_types:
        events = events.filter(type__in=rule.event_types)
    if rule.direction:
        events = events.filter(type__in=event_types_for_direction(rule.direction), whale__isnull=False)
    if rule.min_value_usd is not None:
        events = events.filter(value_usd__gte=rule.min_value_usd)
    whale_ids = list(rule.whales.values_list("pk", flat=True))
    if whale_ids:
        events = events.filter(whale_id__in=whale_ids)
    entity_ids = list(rule.entities.values_list("pk", flat=True))
    if entity_ids:
        events = events.filter(whale__entity_id__in=entity_ids)
    label_ids = list(rule.labels.values_list("pk", flat=True))
    if label_ids:
        events = events.filter(Exists(WhaleLabel.objects.filter(whale_id=OuterRef("whale_id"),
                                                                label_id__in=label_ids)))
    return events.order_by("block_time", "id")


class CooldownReplay:
    """Matches replayed through a rule's cooldown one at a time, in ascending time (``add``), then ``finish``.

    A match within ``cooldown`` of the last sent alert waits; the waiting ones go out as one digest the
    moment the cooldown ends (the live flush runs every 10 s), and that digest restarts the cooldown.
    Matches still waiting at ``until`` are counted as waiting, not sent. Holds O(1) state, so a replay
    of any length fits in memory.
    """

    def __init__(self, *, cooldown: timedelta) -> None:
        self.cooldown = cooldown
        self.last: datetime | None = None
        self.waiting = 0

    def add(self, t: datetime) -> list[tuple[datetime, str, int]]:
        """The alerts sent up to the match at ``t``: (when, "event" | "digest", matches covered)."""
        sent: list[tuple[datetime, str, int]] = []
        if self.waiting and self.last is not None and self.last + self.cooldown <= t:
            self.last = self.last + self.cooldown
            sent.append((self.last, "digest", self.waiting))
            self.waiting = 0
        if self.last is not None and t - self.last < self.cooldown:
            self.waiting += 1
        else:
            sent.append((t, "event", 1))
            self.last = t
        return sent

    def finish(self, *, until: datetime) -> list[tuple[datetime, str, int]]:
        """The digest still due by ``until`` (if any); what waits after it stays in ``waiting``."""
        if self.waiting and self.last is not None and self.last + self.cooldown <= until:
            sent = [(self.last + self.cooldown, "digest", self.waiting)]
            self.waiting = 0
            return sent
        return []


class DayAlerts(TypedDict):
    """Alerts a simulation sent on one UTC date (``YYYY-MM-DD``)."""

    date: str
    alerts: int


class PeakHour(TypedDict):
    """The UTC hour of day (0-23) with most simulated alerts."""

    hour: int
    alerts: int


class RuleSimulation(TypedDict):
    """What ``rule_simulate`` found; see its docstring for each key."""

    days: int
    since: str
    until: str
    events_matched: int
    alerts: int
    event_alerts: int
    digests: int
    suppressed: int
    waiting: int
    per_day: list[DayAlerts]
    peak_hour: PeakHour | None


def rule_simulate(rule: AlertRule, *, days: int, now: datetime | None = None) -> RuleSimulation:
    """What ``rule`` would have sent over the stored events of the last ``days`` days.

    Replays matching events in event time (``block_time``) order through ``RuleCriteria.matches``
    (``active`` ignored: a simulation is how a rule is tried before switching it on) and the cooldown
    (``CooldownReplay``; the replay starts with no earlier alert). Times are event times, while live
    cooldowns run on publish time, so a backlog published at once differs.
    Shape: {"days", "since", "until" (ISO-8601 UTC), "events_matched", "alerts" (event alerts +
    digests), "event_alerts", "digests", "suppressed" (matches that went into digests),
    "waiting" (matches still in a cooldown at the end), "per_day": [{"date": "YYYY-MM-DD", "alerts"}]
    for every UTC date of the window (zeros included), "peak_hour": {"hour": 0-23 UTC, "alerts"} = the
    hour of day with most alerts summed over the window (earliest on a tie), or None without alerts}.
    """
    until = (now or timezone.now()).astimezone(UTC)
    since = until - timedelta(days=days)
    criteria = rule_criteria_list([rule])[0]
    criteria = RuleCriteria(**{**criteria.__dict__, "active": True})
    replay = CooldownReplay(cooldown=timedelta(seconds=rule.cooldown_seconds))
    per_date: Counter = Counter()
    per_hour: Counter = Counter()
    matched = alerts = digests = suppressed = 0

    def count(sent: list[tuple[datetime, str, int]]) -> None:
        nonlocal alerts, digests, suppressed
        for when, kind, covered in sent:
            alerts += 1
            per_date[when.date()] += 1
            per_hour[when.hour] += 1
            if kind == "digest":
                digests += 1
                suppressed += covered

    # Streamed (a server-side cursor on PostgreSQL) in batches of LIMITS_SIMULATE_BATCH: a 90-day window
    # of a busy rule never sits in memory at once; each batch costs two more queries (event_facts).
    batch_size = settings.LIMITS_SIMULATE_BATCH
    candidates = rule_candidate_events(rule, since=since, until=until).iterator(chunk_size=batch_size)
    while batch := list(itertools.islice(candidates, batch_size)):
        facts = event_facts(batch)
        for event in batch:
            if criteria.matches(event, facts[event.pk]):
                matched += 1
                count(replay.add(event.block_time))
    count(replay.finish(until=until))
    per_day: list[DayAlerts] = []
    day = since.date()
    while day <= until.date():
        per_day.append(DayAlerts(date=day.isoformat(), alerts=per_date.get(day, 0)))
        day += timedelta(days=1)
    peak_hour = None
    if per_hour:
        hour = min(per_hour, key=lambda h: (-per_hour[h], h))
        peak_hour = PeakHour(hour=hour, alerts=per_hour[hour])
    return RuleSimulation(
        days=days,
        since=since.isoformat().replace("+00:00", "Z"),
        until=until.isoformat().replace("+00:00", "Z"),
        events_matched=matched,
        alerts=alerts,
        event_alerts=alerts - digests,
        digests=digests,
        suppressed=suppressed,
        waiting=replay.waiting,
        per_day=per_day,
        peak_hour=peak_hour,
    )


def feed_allowed(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether ``user`` may receive ``/ws/events/`` (and see its pages live): signed in, or the feed is
    public (``ALERTS_PUBLIC_FEED``)."""
    return bool(user.is_authenticated or settings.ALERTS_PUBLIC_FEED)


def feed_since_id() -> int:
    """The largest stored event id: a page's feed backfills from it (``events/recent?since_id=``), so an
    event stored between rendering and the socket opening is not missed."""
    return WhaleEvent.objects.aggregate(newest=Max("id"))["newest"] or 0
