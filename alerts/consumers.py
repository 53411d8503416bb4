"""WebSocket consumers: the live whale feed (``/ws/events/``) and a user's own alerts (``/ws/alerts/``).

Channel-layer messages they handle (published by ``alerts.services``):

- ``{"type": "whale.event", "event": <alerts.payloads.event_payload>}`` sent to FEED_GROUP (and to chain and
  whale groups, which these consumers do not join: an event reaches a feed socket through one group only);
- ``{"type": "alert.message", "alert": {...}}`` sent to ``user_group(user_id)``;
- ``{"type": "feed.disconnect"}`` sent to FEED_GROUP or a user group: every consumer in it closes with 4000.

Frames to the client (JSON text): ``{"type": "event", "event": {...}}``, ``{"type": "alert", "alert": {...}}``,
``{"type": "filter", "filter": {...}}`` after a filter message, and ``{"type": "error", "code", "detail"}`` for
bad input (the connection stays open). A signed-in user over ``LIMITS_MAX_WS_PER_USER`` open connections gets
``{"type": "error", "code": "too_many_connections"}`` and the close code 4429.
Payloads are complete: no ORM work per event; the only query is the
whale lookup when a client sets a whale filter.

After a reconnect a client backfills with ``GET /api/v1/events/recent?since_id=<largest id seen>``.
"""

import asyncio
import json
from collections import deque
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import models

from alerts.connections import LEASE_S as CONNECTION_LEASE_S
from alerts.connections import connection_acquire, connection_release, connection_renew
from alerts.groups import FEED_GROUP, user_group
from whales.chains import Chain
from whales.errors import InvalidParameter, NotFound
from whales.models import EventType, Whale
from whales.watchlists import watchlist_get, watchlist_wallets

# Close code sent on {"type": "feed.disconnect"} (4000-4999: application codes).
DISCONNECT_CLOSE_CODE = 4000
# Close code when a user already holds LIMITS_MAX_WS_PER_USER connections (after an error frame saying so).
TOO_MANY_CONNECTIONS_CLOSE_CODE = 4429
# Ids remembered per connection to send each event/alert at most once, even if a publisher sends it twice.
SENT_IDS_MAX = 1_000
# Bounds of min_value_usd, those of the REST fields (DecimalField(max_digits=38, decimal_places=8)).
MIN_VALUE_MAX_INTEGER_DIGITS = 30
MIN_VALUE_DECIMAL_PLACES = 8
MIN_VALUE_MAX_CHARS = 64
FILTER_FIELDS = frozenset({"chains", "event_types", "min_value_usd", "whales", "watchlist"})


class FilterError(InvalidParameter):
    """A filter message that cannot be applied; the message is the client-facing detail (sent as an
    ``invalid_filter`` error frame)."""


class RecentIds:
    """The last ``size`` ids seen, with O(1) membership and eviction of the oldest."""

    def __init__(self, size: int = SENT_IDS_MAX) -> None:
        self._order: deque = deque(maxlen=size)
        self._ids: set = set()

    def __contains__(self, item: object) -> bool:
        return item in self._ids

    def add(self, item: object) -> None:
        """Remember ``item``, forgetting the oldest one when full."""
        if item in self._ids:
            return
        if len(self._order) == self._order.maxlen:
            self._ids.discard(self._order[0])
        self._order.append(item)
        self._ids.add(item)


@dataclass(frozen=True)
class EventFilter:
    """What one feed connection wants; a None field does not restrict.

    ``whales`` keeps the requested ids (echoed back) and ``whale_keys`` their (chain, address), which is
    what the event payload carries. A ``reorg_retraction`` has neither value nor whale: the value and whale
    conditions do not apply to it (a client must learn that an event it may have shown was withdrawn);
    the chain and event-type conditions do.
    """

    chains: frozenset[str] | None = None
    event_types: frozenset[str] | None = None
    min_value_usd: Decimal | None = None
    whales: tuple[int, ...] | None = None
    whale_keys: frozenset[tuple[str, str]] | None = None
    watchlist: int | None = None
    watchlist_keys: frozenset[tuple[str, str]] | None = None  # the list's wallets when the filter was set

    def matches(self, event: dict) -> bool:
        """True when ``event`` (an ``event_payload`` dict) passes every set condition."""
        if self.chains is not None and event.get("chain") not in self.chains:
            return False
        if self.event_types is not None and event.get("type") not in self.event_types:
            return False
        if event.get("type") == EventType.REORG_RETRACTION:
            return True
        if self.min_value_usd is not None:
            value = event.get("value_usd")
            if value is None or Decimal(str(value)) < self.min_value_usd:
                return False
        if self.whale_keys is not None:
            whale = event.get("whale")
            if not whale or (whale.get("chain"), whale.get("address")) not in self.whale_keys:
                return False
        if self.watchlist_keys is not None:
            whale = event.get("whale")
            if not whale or (whale.get("chain"), whale.get("address")) not in self.watchlist_keys:
                return False
        return True

    def as_json(self) -> dict:
        """The normalized filter echoed to the client (sorted lists, value as a string, null = any)."""
        return {
            "chains": sorted(self.chains) if self.chains is not None else None,
            "event_types": sorted(self.event_types) if self.event_types is not None else None,
            "min_value_usd": format(self.min_value_usd, "f") if self.min_value_usd is not None else None,
            "whales": list(self.whales) if self.whales is not None else None,
            "watchlist": self.watchlist,
        }


def _choice_set(content: dict, field: str, choices: type[models.TextChoices]) -> frozenset[str] | None:
    """A list of allowed string values; missing, null or [] means any."""
    values = content.get(field)
    if values is None or values == []:
        return None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise FilterError(f"{field} must be a list of strings.")
    unknown = sorted({v for v in values if v not in choices.values})
    if unknown:
        raise FilterError(f"Unknown {field}: {', '.join(unknown)}. Allowed: {', '.join(choices.values)}.")
    return frozenset(values)


def _min_value(content: dict) -> Decimal | None:
    """``min_value_usd`` as a Decimal >= 0 from a string or a number; missing or null means any."""
    value = content.get("min_value_usd")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FilterError("min_value_usd must be a number or a numeric string.")
    text = str(value).strip()
    if len(text) > MIN_VALUE_MAX_CHARS:
        raise FilterError(f"min_value_usd may have at most {MIN_VALUE_MAX_CHARS} characters.")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise FilterError(f"min_value_usd {value!r} is not a number.") from None
    if not amount.is_finite() or amount < 0:
        raise FilterError("min_value_usd must be a finite number >= 0.")
    if amount and amount.adjusted() >= MIN_VALUE_MAX_INTEGER_DIGITS:
        # Bounded like the REST field (38 digits, 8 decimal places): 1e999999 would echo a 1 MB frame and
        # 1e9999999 overflow normalize().
        raise FilterError(f"min_value_usd must be below 1e{MIN_VALUE_MAX_INTEGER_DIGITS}.")
    with localcontext() as context:
        context.prec = MIN_VALUE_MAX_INTEGER_DIGITS + MIN_VALUE_DECIMAL_PLACES
        amount = amount.normalize()  # a tiny value like 1e-9999999 underflows to 0 here
    if not amount:
        return Decimal(0)
    if amount.as_tuple().exponent < -MIN_VALUE_DECIMAL_PLACES:  # type: ignore[operator]  # finite: an int
        raise FilterError(f"min_value_usd may have at most {MIN_VALUE_DECIMAL_PLACES} decimal places.")
    return amount


def _whale_ids(content: dict) -> tuple[int, ...] | None:
    """``whales`` as a tuple of distinct integer ids (JSON numbers only); missing, null or [] means any."""
    values = content.get("whales")
    if values is None or values == []:
        return None
    if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise FilterError("whales must be a list of integer whale ids.")
    limit = settings.LIMITS_MAX_IDS_PER_LIST  # the lookup is one query; this bounds it
    if len(values) > limit:
        raise FilterError(f"whales may name at most {limit} whales.")
    return tuple(sorted(set(values)))


def _watchlist_id(content: dict) -> int | None:
    """``watchlist`` as a positive integer id (a JSON number); missing or null means any."""
    value = content.get("watchlist")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**63:
        raise FilterError("watchlist must be the integer id of a watchlist.")
    return value


def filter_parse(content: dict) -> EventFilter:
    """Validate a ``{"action": "filter", ...}`` message into an EventFilter (whale keys not resolved yet).

    Raises: FilterError for an unknown field, chain or event type, a non-numeric or negative
    ``min_value_usd``, or whale ids that are not integers.
    """
    unknown = sorted(set(content) - FILTER_FIELDS - {"action"})
    if unknown:
        raise FilterError(f"Unknown filter fields: {', '.join(unknown)}. Allowed: {', '.join(sorted(FILTER_FIELDS))}.")
    return EventFilter(
        chains=_choice_set(content, "chains", Chain),
        event_types=_choice_set(content, "event_types", EventType),
        min_value_usd=_min_value(content),
        whales=_whale_ids(content),
        watchlist=_watchlist_id(content),
    )


@database_sync_to_async
def _watchlist_keys(user: Any, watchlist_id: int) -> frozenset[tuple[str, str]]:
    """The (chain, address) pairs on a watchlist ``user`` may read (theirs or published). Raises: FilterError."""
    try:
        return watchlist_wallets(watchlist_get(user=user, watchlist_id=watchlist_id).pk)
    except NotFound:
        raise FilterError(f"Unknown watchlist {watchlist_id}: not yours and not published.") from None


@database_sync_to_async
def _whale_keys(whale_ids: tuple[int, ...]) -> dict[int, tuple[str, str]]:
    """{id: (chain, address)} of the existing whales among ``whale_ids`` (one query)."""
    rows = Whale.objects.filter(id__in=whale_ids).values_list("id", "chain", "address")
    return {whale_id: (chain, address) for whale_id, chain, address in rows}


class JsonConsumer(AsyncJsonWebsocketConsumer):
    """Base of the WhaleTrack consumers: bad frames get an error frame instead of an exception (the
    connection stays open), and ``feed.disconnect`` closes the socket with code 4000."""

    # Channel-layer handlers that never touch the database. channels' dispatch() runs
    # close_old_connections in the one shared sync thread before *every* handler (a thread hand-off of
    # ~0.4 ms); for a feed message that is one hand-off per event per connection, serialized in one thread,
    # which caps a daphne process at ~2,000 deliveries/s. These handlers skip it; everything else (client
    # frames, connect, disconnect) goes through channels' dispatch unchanged.
    db_free_handlers: frozenset[str] = frozenset({"whale_event", "alert_message", "feed_disconnect"})
    # The user whose connection slot this socket holds (``slot_take``), and the task renewing its lease.
    slot_user_id: int | None = None
    slot_key: str = ""
    slot_renewer: "asyncio.Future[None] | None" = None

    async def dispatch(self, message: dict) -> None:
        """Run the handlers in ``db_free_handlers`` directly; others through channels' dispatch."""
        name = get_handler_name(message)
        if name in self.db_free_handlers:
            await getattr(self, name)(message)
            return
        await super().dispatch(message)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        """Decode a JSON object from a text frame; anything else is answered with an error frame."""
        if text_data is None:
            await self.send_error("invalid_message", "Send JSON text frames, not binary ones.")
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:  # json.JSONDecodeError and UnicodeDecodeError are ValueErrors
            await self.send_error("invalid_json", "The message is not valid JSON.")
            return
        if not isinstance(content, dict):
            await self.send_error("invalid_message", 'Send a JSON object such as {"action": "filter"}.')
            return
        await self.receive_json(content, **kwargs)

    async def receive_json(self, content: dict, **kwargs: Any) -> None:
        """No client actions by default."""
        await self.send_error("unknown_action", f"Unknown action {content.get('action')!r}.")

    async def send_error(self, code: str, detail: str) -> None:
        """Send ``{"type": "error", "code", "detail"}``; the connection stays open."""
        await self.send_json({"type": "error", "code": code, "detail": detail})

    async def join(self, group: str) -> None:
        """Join ``group``; the base class leaves every group in ``self.groups`` on disconnect."""
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)

    @classmethod
    async def encode_json(cls, content: dict) -> str:
        """Compact JSON (the feed sends many small frames)."""
        return json.dumps(content, separators=(",", ":"))

    async def feed_disconnect(self, message: dict) -> None:
        """Handles ``{"type": "feed.disconnect"}``: close the socket with code 4000."""
        await self.close(code=DISCONNECT_CLOSE_CODE)

    async def slot_take(self, user: Any) -> bool:
        """Take one of a signed-in ``user``'s connection slots (``alerts.connections``); True to go on.

        Over ``LIMITS_MAX_WS_PER_USER`` the socket is accepted, sent ``{"type": "error", "code":
        "too_many_connections", ...}`` and closed with 4429 (a refused handshake would carry no reason),
        and this returns False. Anonymous connections (the public feed) hold no slot.
        """
        if user is None or not user.is_authenticated:
            return True
        self.slot_key = getattr(self, "channel_name", None) or f"local.{id(self)}"
        if not await connection_acquire(user_id=user.pk, channel_name=self.slot_key):
            limit = settings.LIMITS_MAX_WS_PER_USER
            await self.accept()
            await self.send_error("too_many_connections",
                                  f"At most {limit} open connections per user; close one to open another.")
            await self.close(code=TOO_MANY_CONNECTIONS_CLOSE_CODE)
            return False
        self.slot_user_id = user.pk
        self.slot_renewer = asyncio.ensure_future(self._slot_renew())
        return True

    async def _slot_renew(self) -> None:
        while self.slot_user_id is not None:
            await asyncio.sleep(CONNECTION_LEASE_S / 3)
            user_id = self.slot_user_id
            if user_id is not None:
                await connection_renew(user_id=user_id, channel_name=self.slot_key)

    async def disconnect(self, code: int) -> None:
        """Give back the connection slot (the base class leaves the groups)."""
        if self.slot_renewer is not None:
            self.slot_renewer.cancel()
            self.slot_renewer = None
        if self.slot_user_id is not None:
            user_id, self.slot_user_id = self.slot_user_id, None
            await connection_release(user_id=user_id, channel_name=self.slot_key)


class EventFeedConsumer(JsonConsumer):
    """``/ws/events/``: every whale event, narrowed by the client's filter message.

    Needs a signed-in user (session or token) unless ``settings.ALERTS_PUBLIC_FEED``. It stays in FEED_GROUP
    only and filters each event itself, so an event never arrives twice through two groups; the ids already
    sent (the last SENT_IDS_MAX) make delivery at-most-once per connection even if a publisher repeats one.
    """

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not settings.ALERTS_PUBLIC_FEED and not (user is not None and user.is_authenticated):
            await self.close()  # before accept(): the handshake is refused
            return
        if not await self.slot_take(user):
            return
        self.event_filter = EventFilter()
        self.sent_ids = RecentIds()
        await self.join(FEED_GROUP)
        await self.accept()

    async def receive_json(self, content: dict, **kwargs: Any) -> None:
        """``{"action": "filter", ...}`` replaces the whole filter; a bad one changes nothing."""
        if content.get("action") != "filter":
            await super().receive_json(content, **kwargs)
            return
        try:
            new_filter = filter_parse(content)
            if new_filter.whales is not None:
                keys = await _whale_keys(new_filter.whales)
                missing = [whale_id for whale_id in new_filter.whales if whale_id not in keys]
                if missing:
                    raise FilterError(f"Unknown whale ids: {', '.join(map(str, missing))}.")
                new_filter = replace(new_filter, whale_keys=frozenset(keys.values()))
            if new_filter.watchlist is not None:
                new_filter = replace(new_filter, watchlist_keys=await _watchlist_keys(self.scope.get("user"),
                                                                                        new_filter.watchlist))
        except FilterError as exc:
            await self.send_error("invalid_filter", str(exc))
            return
        self.event_filter = new_filter
        await self.send_json({"type": "filter", "filter": new_filter.as_json()})

    async def whale_event(self, message: dict) -> None:
        """Handles ``{"type": "whale.event", "event": {...}}``: send it once, if it passes the filter."""
        event = message["event"]
        event_id = event.get("id")
        if event_id is not None and event_id in self.sent_ids:
            return
        if not self.event_filter.matches(event):
            return
        if event_id is not None:
            self.sent_ids.add(event_id)
        text = message.get("text")  # the frame, encoded once by the publisher (alerts.services.feed_message)
        if text is not None:
            await self.send(text_data=text)
        else:
            await self.send_json({"type": "event", "event": event})


class AlertConsumer(JsonConsumer):
    """``/ws/alerts/``: the signed-in user's own alerts (their user group only); anonymous is refused."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close()  # before accept(): the handshake is refused
            return
        if not await self.slot_take(user):
            return
        self.sent_ids = RecentIds()
        await self.join(user_group(user.id))
        await self.accept()

    async def alert_message(self, message: dict) -> None:
        """Handles ``{"type": "alert.message", "alert": {...}}``: send it once."""
        alert = message["alert"]
        alert_id = alert.get("id")
        if alert_id is not None:
            if alert_id in self.sent_ids:
                return
            self.sent_ids.add(alert_id)
        await self.send_json({"type": "alert", "alert": alert})
