"""JSON-safe payloads sent over the channel layer and the WebSockets (Decimal -> str, datetime ->
ISO-8601: channels_redis serializes with msgpack, which takes neither raw type)."""

from datetime import datetime
from typing import Any, TypedDict

from django.utils import timezone

from alerts.models import Alert
from whales.api.serializers import EventSerializer
from whales.context import event_context
from whales.models import WhaleEvent

# The ``events/recent`` item (EventSerializer) and its freshness fields: JSON-safe values only.
EventPayload = dict[str, Any]


class RuleRef(TypedDict):
    """The rule an alert came from."""

    id: int
    name: str


class AlertPayload(TypedDict):
    """An alert as sent and listed; see ``alert_payload``."""

    id: int
    rule: RuleRef
    kind: str
    event: EventPayload | None
    events: list[int]
    count: int
    created_at: str | None
    summary: str


def event_payload(event: WhaleEvent) -> EventPayload:
    """The ``events/recent`` item of ``event`` plus freshness fields:

    - ``observed_at``: when WhaleTrack stored it (already in the item);
    - ``published_at``: now, when it is sent;
    - ``detection_latency_ms``: observed_at - block_time (how long after the block, or the
      mempool's first sighting, WhaleTrack had it); None when the block time is later (clock skew);
    - ``source_lag_blocks``: how many blocks the source was behind its head when the event was
      stored, where the collector knows it (``details["source_lag_blocks"]``), else None;
    - ``context``: the catalysts of its coins around it (``whales.context.event_context``: filings and
      announcements within CONTEXT_WINDOW_HOURS; two queries).
    Select ``whale`` (and its entity) with the event to avoid a query per event.
    """
    data = dict(EventSerializer(event).data)
    data["published_at"] = timezone.now().isoformat().replace("+00:00", "Z")
    data["detection_latency_ms"] = event.detection_latency_ms
    data["source_lag_blocks"] = (event.details or {}).get("source_lag_blocks")
    data["context"] = event_context(event)
    return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def alert_payload(alert: Alert) -> AlertPayload:
    """The JSON-safe alert sent to ``user_group(owner)``, to webhooks and listed by the API.

    Shape: {"id", "rule": {"id", "name"}, "kind": "event" | "digest", "event": event_payload(event) or
    None (a digest, or an event deleted by a reorg), "events": [event ids covered] (one for an event
    alert), "count": len(events), "created_at": ISO-8601 UTC, "summary"}. Select ``rule`` and
    ``event__whale__entity`` with the alert to avoid queries.
    """
    return AlertPayload(
        id=alert.pk,
        rule=RuleRef(id=alert.rule_id, name=alert.rule.name),
        kind=alert.kind,
        event=event_payload(alert.event) if alert.event is not None else None,
        events=list(alert.events),
        count=len(alert.events),
        created_at=_iso(alert.created_at),
        summary=alert.summary,
    )
