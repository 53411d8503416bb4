"""Writes of the alerts app: publishing events to the live feed, raising and delivering alerts, digests,
and alert-rule CRUD.

Flow (DESIGN.md section 3): a ledger stores WhaleEvents and calls ``events_publish(event_ids=...)``
inside its transaction. At commit, ``events_send`` claims the events (``published_at``, set once
by a conditional UPDATE, so exactly one process sends each event), and in one transaction creates
the matching rules' alerts (unique (rule, event)); when that commits, the events go to the channel
layer groups and the alerts are delivered (the owner's group, and the webhook). A process killed
anywhere in between leaves either an unclaimed event (``events_publish_pending`` sends it) or a
``pending`` alert (``alerts_deliver_pending`` delivers it).

Channel-layer messages (the contract with ``alerts.consumers``):
    FEED_GROUP, chain_group(chain), whale_group(whale_id) <- {"type": "whale.event", "event": event_payload(event)}
    user_group(owner_id)                                   <- {"type": "alert.message", "alert": alert_payload(alert)}
"""

import functools
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from asgiref.sync import async_to_sync
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from redis.exceptions import RedisError

from alerts.destinations import alert_destinations_dispatch, rule_destinations_check
from alerts.groups import FEED_GROUP, chain_group, user_group, whale_group
from alerts.models import Alert, AlertChannel, AlertDestination, AlertKind, AlertRule, AlertStatus, WebhookStatus
from alerts.payloads import EventPayload, alert_payload, event_payload
from alerts.selectors import event_facts, rule_criteria_list, rule_simulate, rules_active, rules_matching
from whales.errors import InvalidParameter, flatten_errors
from whales.jobs import task_enqueue_on_commit
from whales.models import Entity, Label, Watchlist, Whale, WhaleEvent
from whales.quotas import owner_quota_check

__all__ = [  # rules_matching and rule_simulate are reads (selectors); re-exported for the publishing API
    "alert_deliver", "alert_rule_create", "alert_rule_delete", "alert_rule_update",
    "alerts_create", "alerts_deliver_pending", "digests_flush", "events_claim", "events_publish",
    "events_publish_pending", "events_send", "rule_simulate", "rules_matching", "staff_alert", "webhook_dispatch",
]

logger = logging.getLogger(__name__)

CLAIM_CHUNK = 500  # ids per claiming UPDATE (bounded statement size)
SWEEP_BATCH = 500
# Channel-layer failures that mean "not delivered now" (Redis down, a full in-memory channel).
LAYER_ERRORS = (ChannelFull, OSError, RedisError)


# --- publishing ----------------------------------------------------------------------------------


def events_publish(*, event_ids: Iterable[int]) -> None:
    """Publish the WhaleEvents ``event_ids`` once the current transaction commits.

    Nothing is sent before the commit, nothing if it rolls back; outside a transaction it runs at
    once. At commit ``events_send`` does the work; an error there is logged (``robust``), never
    raised into the committing collector, and the sweep retries the events it did not claim.
    """
    ids = sorted({int(i) for i in event_ids})
    if ids:
        transaction.on_commit(lambda: events_send(event_ids=ids), robust=True)


def events_claim(event_ids: Sequence[int]) -> list[int]:
    """Mark the unpublished ones of ``event_ids`` published now; return the ids this call claimed.

    ``UPDATE ... SET published_at = now WHERE id IN (...) AND published_at IS NULL RETURNING id``
    (PostgreSQL; SQLite >= 3.35): two processes claiming the same ids split them, each id goes to
    exactly one. Runs in the caller's transaction (a rollback un-claims). Ascending ids.
    """
    table = connection.ops.quote_name(WhaleEvent._meta.db_table)
    published_at = connection.ops.adapt_datetimefield_value(timezone.now())
    ids = sorted({int(i) for i in event_ids})
    claimed: list[int] = []
    for start in range(0, len(ids), CLAIM_CHUNK):
        chunk = ids[start:start + CLAIM_CHUNK]
        placeholders = ", ".join(["%s"] * len(chunk))
        # Only placeholders and the model's own table name are formatted in; values are parameters.
        sql = (f"UPDATE {table} SET published_at = %s WHERE id IN ({placeholders}) "  # noqa: S608
               "AND published_at IS NULL RETURNING id")
        with connection.cursor() as cursor:
            cursor.execute(sql, [published_at, *chunk])
            claimed.extend(row[0] for row in cursor.fetchall())
    return sorted(claimed)


def events_send(*, event_ids: Sequence[int]) -> list[int]:
    """Claim ``event_ids`` and send the claimed ones; return the claimed ids (the rest were sent by
    another process, or do not exist).

    In one transaction: claim (``events_claim``) and create the alerts (``alerts_create``). After it
    commits: each event to FEED_GROUP, ``chain_group(chain)`` (with a chain) and, with a whale,
    ``whale_group(whale_id)``, in (block_time, id) order; then each new non-suppressed alert is
    delivered (``alert_deliver``). A channel-layer failure of the feed is logged (clients backfill
    with ``events/recent?since_id=``).
    """
    with transaction.atomic():
        claimed = events_claim(event_ids)
        if not claimed:
            return []
        events = list(WhaleEvent.objects.filter(pk__in=claimed).select_related("whale", "whale__entity")
                      .order_by("block_time", "id"))
        transaction.on_commit(lambda: _feed_send(events), robust=True)  # registered first: runs before deliveries
        alerts_create(events=events)
    logger.info("alerts.events.published", extra={"events": len(claimed)})
    return claimed


def _group_send_many(messages: Sequence[tuple[str, Mapping[str, Any]]]) -> None:
    """``group_send`` each (group, message) in order, in one event loop. Raises: LAYER_ERRORS."""
    _group_send_counted(messages, raise_errors=True)


def _group_send_counted(messages: Sequence[tuple[str, Mapping[str, Any]]], *, raise_errors: bool = False) -> int:
    """``group_send`` each (group, message) in order, in one event loop; return how many were sent: all of
    them, unless the layer failed, and then the messages from the returned index on were not sent (the
    failure is logged as ``alerts.feed.send_failed``, or raised with ``raise_errors``: LAYER_ERRORS)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return len(messages)
    sent = 0

    async def send_all() -> None:
        nonlocal sent
        for group, message in messages:
            await layer.group_send(group, message)
            sent += 1

    try:
        async_to_sync(send_all)()
    except LAYER_ERRORS:
        if raise_errors:
            raise
        logger.exception("alerts.feed.send_failed", extra={"messages": len(messages), "sent": sent})
    return sent


def staff_alert(*, subject: str, lines: Sequence[str], events: Sequence[WhaleEvent] = ()) -> None:
    """Tell staff about an operational problem (a high data-quality issue), once the caller's transaction
    commits: an ``alert.message`` to every active staff user's ``/ws/alerts/`` group (``{"id": None, "kind":
    "staff", "rule": None, "event": the first event's payload or None, "events": ids, "count", "created_at",
    "summary"}``), and an e-mail to ``settings.ADMINS`` (Django's ``mail_admins``; none when it is empty).
    Failures are logged, never raised: the caller's data is already committed."""
    from django.contrib.auth import get_user_model
    from django.core.mail import mail_admins

    body = "\n".join(lines)

    def send() -> None:
        staff_ids = list(get_user_model().objects.filter(is_staff=True, is_active=True).values_list("pk", flat=True))
        first = WhaleEvent.objects.filter(pk=events[0].pk).first() if events else None
        alert = {"id": None, "kind": "staff", "rule": None, "event": event_payload(first) if first else None,
                 "events": [e.pk for e in events], "count": len(lines),
                 "created_at": timezone.now().isoformat().replace("+00:00", "Z"), "summary": f"{subject}: {body}"[:500]}
        sent = _group_send_counted([(user_group(pk), {"type": "alert.message", "alert": alert}) for pk in staff_ids])
        try:
            mail_admins(subject, body, fail_silently=False)
        except OSError:
            logger.exception("alerts.staff.mail_failed")
        logger.info("alerts.staff.sent", extra={"staff": sent, "lines": len(lines)})

    transaction.on_commit(send, robust=True)


class FeedWhaleRef(TypedDict):
    """The wallet an event belongs to."""

    chain: str | None
    address: str | None


class FeedFilterFields(TypedDict):
    """The fields ``/ws/events/`` consumers filter an event on."""

    id: int
    chain: str
    type: str
    value_usd: str | None
    whale: FeedWhaleRef | None


class FeedMessage(TypedDict):
    """One event on the channel layer (see ``feed_message``)."""

    type: str
    event: FeedFilterFields
    text: str


def feed_message(payload: EventPayload) -> FeedMessage:
    """The channel-layer message of one event: ``{"type": "whale.event", "event": <what consumers
    filter on: id, chain, type, value_usd, whale {chain, address}>, "text": <the client frame, JSON
    encoded once>}``. Layers copy a message per member and consumers would encode it per client:
    carrying the frame pre-encoded and only the filter fields as a dict keeps fan-out cheap."""
    whale = payload.get("whale")
    return FeedMessage(
        type="whale.event",
        event=FeedFilterFields(
            id=payload["id"], chain=payload["chain"], type=payload["type"], value_usd=payload.get("value_usd"),
            whale=FeedWhaleRef(chain=whale.get("chain"), address=whale.get("address")) if whale else None),
        text=json.dumps({"type": "event", "event": payload}, separators=(",", ":")),
    )


def _feed_send(events: Sequence[WhaleEvent]) -> None:
    """Send ``events`` (claimed, committed) to their groups. When the channel layer fails (Redis down),
    the events not fully sent are un-claimed (``published_at`` back to NULL), so the sweep
    (``events_publish_pending``) sends them once the layer is back instead of losing them. An event one of
    whose groups got it before the failure is sent again then: feed consumers skip an id they already sent
    (``alerts.consumers.RecentIds``)."""
    messages: list[tuple[str, Mapping[str, Any]]] = []
    owners: list[int] = []  # the event id of each message
    for event in events:
        message = feed_message(event_payload(event))
        groups = [FEED_GROUP, *([chain_group(event.chain)] if event.chain else [])]
        if event.whale_id is not None:
            groups.append(whale_group(event.whale_id))
        messages.extend((group, message) for group in groups)
        owners.extend(event.pk for _ in groups)
    sent = _group_send_counted(messages)
    if sent < len(messages):
        unsent = sorted(set(owners[sent:]))
        WhaleEvent.objects.filter(pk__in=unsent).update(published_at=None)
        logger.warning("alerts.feed.unclaimed", extra={"events": unsent})


def events_publish_pending(*, older_than_s: int) -> int:
    """Sweep: publish events stored at least ``older_than_s`` seconds ago and never published (a
    process killed between its commit and the send). Returns how many this call claimed and sent.

    Batches of SWEEP_BATCH oldest first (partial index ``event_unpublished``); the claim makes a
    sweep racing a normal publish (or another sweep) send each event once.
    """
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    total = 0
    while True:
        ids = list(WhaleEvent.objects.filter(published_at__isnull=True, observed_at__lte=cutoff)
                   .order_by("observed_at", "id").values_list("pk", flat=True)[:SWEEP_BATCH])
        if not ids:
            break
        total += len(events_send(event_ids=ids))
        if len(ids) < SWEEP_BATCH:
            break
    if total:
        logger.warning("alerts.events.swept", extra={"events": total})
    return total


# --- alerts ------------------------------------------------------------------------------------


def alerts_create(*, events: Sequence[WhaleEvent]) -> list[Alert]:
    """Create the alerts ``events`` raise under the active rules; return the alerts created now.

    Does not claim: callers that publish go through ``events_send``. Safe to call twice at once for
    the same events: per rule the row is locked (SELECT ... FOR UPDATE, in rule id order) while its
    alerts are decided, and (rule, event) is unique, so each pair gets ONE alert. Select ``whale``
    with the events. Delivery of the non-suppressed ones is scheduled for the commit.
    """
    if not events:
        return []
    rules = list(rules_active())
    if not rules:
        return []
    facts = event_facts(events)
    ordered = sorted(events, key=lambda e: (e.block_time, e.pk))
    created: list[Alert] = []
    for criteria in rule_criteria_list(rules):  # rules_active orders by pk: locks are taken in pk order
        matched = [e for e in ordered if criteria.matches(e, facts[e.pk])]
        if matched:
            created.extend(_rule_alerts_create(rule_id=criteria.rule_id, events=matched))
    return created


def _rule_alerts_create(*, rule_id: int, events: Sequence[WhaleEvent]) -> list[Alert]:
    """Alerts of one rule for ``events`` (already matched), applying its cooldown.

    Per event, at time now: if alerts wait in ``suppressed`` and the cooldown has ended, they first
    go out as a digest (which restarts the cooldown); then the event's alert is ``suppressed`` when
    now - ``last_alert_at`` < ``cooldown_seconds``, else ``pending`` (delivered at commit) and
    ``last_alert_at`` = now.
    """
    now = timezone.now()
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().filter(pk=rule_id, active=True).first()
        if rule is None:  # deleted or switched off since the rules were read
            return []
        existing = set(Alert.objects.filter(rule=rule, event_id__in=[e.pk for e in events])
                       .values_list("event_id", flat=True))
        waiting = Alert.objects.filter(rule=rule, status=AlertStatus.SUPPRESSED).exists()
        cooldown = timedelta(seconds=rule.cooldown_seconds)
        created: list[Alert] = []
        to_deliver: list[int] = []
        for event in events:
            if event.pk in existing:
                continue
            if waiting and rule.last_alert_at is not None and rule.last_alert_at + cooldown <= now:
                digest = _digest_create(rule=rule, now=now)
                if digest is not None:
                    to_deliver.append(digest.pk)
                waiting = False
            in_cooldown = rule.last_alert_at is not None and now - rule.last_alert_at < cooldown
            alert, was_created = Alert.objects.get_or_create(
                rule=rule, event=event,
                defaults={"owner_id": rule.owner_id, "kind": AlertKind.EVENT, "events": [event.pk],
                          "summary": event.summary[:500],
                          "status": AlertStatus.SUPPRESSED if in_cooldown else AlertStatus.PENDING},
            )
            if not was_created:
                continue
            created.append(alert)
            if in_cooldown:
                waiting = True
            else:
                rule.last_alert_at = now
                to_deliver.append(alert.pk)
        AlertRule.objects.filter(pk=rule.pk).update(last_alert_at=rule.last_alert_at)
        if to_deliver:
            transaction.on_commit(lambda: _deliver_all(to_deliver), robust=True)
    return created


def _deliver_all(alert_ids: Sequence[int]) -> None:
    for alert_id in alert_ids:
        alert_deliver(alert_id=alert_id)


def _digest_create(*, rule: AlertRule, now: datetime) -> Alert | None:
    """One digest alert covering ``rule``'s suppressed alerts (they become ``digested``), or None
    when there are none. Call with the rule row locked; sets ``rule.last_alert_at`` (not saved)."""
    covered = list(Alert.objects.select_for_update().filter(rule=rule, status=AlertStatus.SUPPRESSED)
                   .order_by("created_at", "id"))
    if not covered:
        return None
    event_ids = [event_id for alert in covered for event_id in alert.events]
    latest = covered[-1].summary
    digest = Alert.objects.create(
        rule=rule, owner_id=rule.owner_id, kind=AlertKind.DIGEST, event=None, events=event_ids,
        status=AlertStatus.PENDING,
        summary=f"{rule.name}: {len(event_ids)} more during the cooldown; latest: {latest}"[:500],
    )
    Alert.objects.filter(pk__in=[a.pk for a in covered]).update(status=AlertStatus.DIGESTED, digest=digest)
    rule.last_alert_at = now
    return digest


def digests_flush(*, now: datetime | None = None) -> list[Alert]:
    """For every rule with suppressed alerts whose cooldown has ended at ``now``: create ONE digest
    alert covering them and deliver it after commit. Returns the digests created.

    Runs every 10 s (task ``alerts.flush_digests``); each rule in its own transaction with its row
    locked, so two flushes never digest the same alerts twice. Inactive rules are flushed too (the
    alerts matched while the rule was on).
    """
    now = now or timezone.now()
    rule_ids = sorted(set(Alert.objects.filter(status=AlertStatus.SUPPRESSED).values_list("rule_id", flat=True)))
    digests: list[Alert] = []
    for rule_id in rule_ids:
        with transaction.atomic():
            rule = AlertRule.objects.select_for_update().filter(pk=rule_id).first()
            if rule is None:
                continue
            cooldown = timedelta(seconds=rule.cooldown_seconds)
            if rule.last_alert_at is not None and now - rule.last_alert_at < cooldown:
                continue
            digest = _digest_create(rule=rule, now=now)
            if digest is None:
                continue
            AlertRule.objects.filter(pk=rule.pk).update(last_alert_at=rule.last_alert_at)
            digest_id = digest.pk
            transaction.on_commit(functools.partial(alert_deliver, alert_id=digest_id), robust=True)
            digests.append(digest)
    return digests


def alert_deliver(*, alert_id: int) -> bool:
    """Deliver a ``pending`` alert; return False when it is not pending (already delivered elsewhere).

    The status moves pending -> delivered by a conditional UPDATE first, so the normal path and the
    sweep never both deliver. Then: "websocket" in the rule's channels -> ``{"type": "alert.message",
    "alert": alert_payload(alert)}`` to ``user_group(owner)`` (a channel-layer error marks the alert
    ``failed``); "webhook" -> ``webhook_status`` pending and ``webhook_dispatch``; the rule's active destinations -> one
    ``AlertDelivery`` each, sent by a task (``alerts.destinations``). Digests take the same path, so they reach
    every channel.
    """
    alert = Alert.objects.select_related("rule", "event__whale__entity").filter(pk=alert_id).first()
    if alert is None or alert.status != AlertStatus.PENDING:
        return False
    channels = set(alert.rule.channels or ())
    webhook = AlertChannel.WEBHOOK in channels and bool(alert.rule.webhook_url)
    now = timezone.now()
    if not Alert.objects.filter(pk=alert_id, status=AlertStatus.PENDING).update(
            status=AlertStatus.DELIVERED, delivered_at=now,
            webhook_status=WebhookStatus.PENDING if webhook else WebhookStatus.NONE):
        return False
    alert.status, alert.delivered_at = AlertStatus.DELIVERED, now
    if AlertChannel.WEBSOCKET in channels:
        try:
            _group_send_many([(user_group(alert.owner_id), {"type": "alert.message", "alert": alert_payload(alert)})])
        except LAYER_ERRORS:
            logger.exception("alerts.deliver.failed", extra={"alert": alert_id})
            Alert.objects.filter(pk=alert_id).update(status=AlertStatus.FAILED)
    if webhook:
        webhook_dispatch(alert_id=alert_id)
    alert_destinations_dispatch(alert=alert)  # e-mail, Telegram, Discord...: one delivery row each, sent by tasks
    return True


def alerts_deliver_pending(*, older_than_s: int) -> int:
    """Sweep: deliver alerts still ``pending`` ``older_than_s`` seconds after creation (a process
    killed between commit and delivery). Returns how many this call delivered."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    ids = list(Alert.objects.filter(status=AlertStatus.PENDING, created_at__lte=cutoff)
               .order_by("created_at", "id").values_list("pk", flat=True)[:SWEEP_BATCH])
    return sum(1 for alert_id in ids if alert_deliver(alert_id=alert_id))


def webhook_dispatch(*, alert_id: int) -> None:
    """Start the webhook delivery of ``alert_id``: task ``alerts.deliver_webhook`` (``alerts.webhooks.
    webhook_deliver``), enqueued when the current transaction commits. ``webhook_updated_at`` is set
    now, so the pending-webhook sweep (``webhooks_redeliver_pending``) leaves it alone while it is fresh."""
    Alert.objects.filter(pk=alert_id).update(webhook_updated_at=timezone.now())
    task_enqueue_on_commit("alerts.deliver_webhook", kwargs={"alert_id": alert_id})


# --- rules ---------------------------------------------------------------------------------------

RULE_FIELDS = ("name", "active", "chains", "event_types", "min_value_usd", "direction", "cooldown_seconds",
               "channels", "webhook_url", "webhook_secret", "watchlist")


def _rule_save(rule: AlertRule, *, whales: Iterable[Whale] | None, labels: Iterable[Label] | None,
               entities: Iterable[Entity] | None, destinations: Iterable[AlertDestination] | None = None) -> AlertRule:
    rule.webhook_secret_ensure()
    try:
        rule.full_clean(exclude=["owner"])
    except ValidationError as exc:
        raise InvalidParameter(flatten_errors(exc.message_dict)) from exc
    if rule.watchlist is not None and rule.watchlist.owner_id != rule.owner_id and not rule.watchlist.is_shared:
        raise InvalidParameter(f"watchlist: no watchlist {rule.watchlist.pk} of yours or published.")
    if destinations is not None:
        destinations = rule_destinations_check(owner_id=rule.owner_id, destinations=destinations)
    with transaction.atomic():
        rule.save()
        if whales is not None:
            rule.whales.set(whales)
        if labels is not None:
            rule.labels.set(labels)
        if entities is not None:
            rule.entities.set(entities)
        if destinations is not None:
            rule.destinations.set(destinations)
    return rule


def alert_rule_create(
    *,
    owner_id: int,
    name: str,
    active: bool = True,
    chains: Sequence[str] = (),
    event_types: Sequence[str] = (),
    min_value_usd: Decimal | None = None,
    whales: Iterable[Whale] = (),
    labels: Iterable[Label] = (),
    entities: Iterable[Entity] = (),
    destinations: Iterable[AlertDestination] = (),
    direction: str = "",
    cooldown_seconds: int = 0,
    channels: Sequence[str] = (AlertChannel.WEBSOCKET,),
    webhook_url: str = "",
    webhook_secret: str = "",
    watchlist: Watchlist | None = None,
) -> AlertRule:
    """Create a rule for ``owner_id``. A webhook rule without ``webhook_secret`` gets a random one
    (64 hex). Lists are stored deduplicated in the given order. ``destinations`` must be the owner's.
    Raises: InvalidParameter naming each bad field (``AlertRule.clean``: unknown chain/type/channel, webhook
    without URL; field validators; a ``watchlist`` neither the owner's nor published; a destination of another
    user); QuotaExceeded when the owner has ``LIMITS_MAX_RULES_PER_USER`` rules; nothing is stored.
    """
    rule = AlertRule(
        owner_id=owner_id, name=name, active=active, chains=list(dict.fromkeys(chains)),
        event_types=list(dict.fromkeys(event_types)), min_value_usd=min_value_usd, direction=direction,
        cooldown_seconds=cooldown_seconds, channels=list(dict.fromkeys(channels)), webhook_url=webhook_url,
        webhook_secret=webhook_secret, watchlist=watchlist,
    )
    with transaction.atomic():
        owner_quota_check(owner_id=owner_id, owned=AlertRule.objects.filter(owner_id=owner_id),
                          limit=settings.LIMITS_MAX_RULES_PER_USER, what="alert rules")
        return _rule_save(rule, whales=whales, labels=labels, entities=entities, destinations=destinations)


def alert_rule_update(*, rule: AlertRule, **fields: Any) -> AlertRule:
    """Change the given fields of ``rule`` (names of ``RULE_FIELDS`` plus ``whales``/``labels``/
    ``entities``/``destinations``); others stay. Turning the webhook on without a secret generates one.
    Raises: InvalidParameter like ``alert_rule_create``; TypeError for an unknown field name.
    """
    unknown = set(fields) - set(RULE_FIELDS) - {"whales", "labels", "entities", "destinations"}
    if unknown:
        raise TypeError(f"unknown rule field(s): {', '.join(sorted(unknown))}")
    for name in RULE_FIELDS:
        if name in fields:
            value = fields[name]
            if name in ("chains", "event_types", "channels"):
                value = list(dict.fromkeys(value))
            setattr(rule, name, value)
    return _rule_save(rule, whales=fields.get("whales"), labels=fields.get("labels"), entities=fields.get("entities"),
                      destinations=fields.get("destinations"))


def alert_rule_delete(*, rule: AlertRule) -> None:
    """Delete ``rule`` and its alerts."""
    rule.delete()
