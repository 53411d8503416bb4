"""JSON-safe payloads sent over the channel layer and the WebSockets (Decimal -> str, datetime ->
ISO-8601: channels_redis serializes with msgpack, which takes neither raw type)."""

from django.utils import timezone

from whales.api.serializers import EventSerializer
from whales.models import WhaleEvent


def event_payload(event: WhaleEvent) -> dict:
    """The ``events/recent`` item of ``event`` plus freshness fields:

    - ``observed_at``: when WhaleTrack stored it (already in the item);
    - ``published_at``: now, when it is sent;
    - ``detection_latency_ms``: observed_at - block_time (how long after the block, or the
      mempool's first sighting, WhaleTrack had it); None when the block time is later (clock skew);
    - ``source_lag_blocks``: how many blocks the source was behind its head when the event was
      stored, where the collector knows it (``details["source_lag_blocks"]``), else None.
    Select ``whale`` (and its entity) with the event to avoid a query per event.
    """
    data = dict(EventSerializer(event).data)
    latency = (event.observed_at - event.block_time).total_seconds() * 1000
    data["published_at"] = timezone.now().isoformat().replace("+00:00", "Z")
    data["detection_latency_ms"] = round(latency) if latency >= 0 else None
    data["source_lag_blocks"] = (event.details or {}).get("source_lag_blocks")
    return data
