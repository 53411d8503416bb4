"""Writes and reads of the catalysts around whale moves (``models.context``).

The catalyst ledger's collectors call ``catalysts_upsert`` with what they stored; pages and the API read with
``catalyst_list``. Idempotent: a catalyst is unique per (source, source_ref); upserting it again updates what
changed (its title, link, coins, type or score: an analyst re-mapped an issuer's coins, a filing got its
document) and nothing else.

A new catalyst that is high-impact (``impact_score`` >= CATALYST_FEED_MIN_IMPACT) and recent (it occurred within
CATALYST_FEED_MAX_AGE_H hours) also becomes a ``catalyst`` WhaleEvent on the live feed (no chain, no whale;
``tx_hash`` "catalyst:<id>"), in the same transaction, and is published after commit by the alerts app's
``alerts.publish_events`` task (the event sweep sends it if the broker was down). Old catalysts a first run
back-fills (years of filings) never reach the feed.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from whales.jobs import task_enqueue_on_commit
from whales.models import CatalystCoin, CatalystEvent, EventType, MoodReading, Trade, WhaleEvent

CONTEXT_MAX_CATALYSTS = 10
"""Catalysts listed beside one move at most: the highest impact first, then the nearest in time."""
CONTEXT_WALLET_EVENTS = 5
"""A wallet's most recent events that get their context on its page and in its API answer."""
# A wrapped token's catalysts are its coin's (the market ledger prices WETH and WBTC through ETH and BTC).
COIN_ALIASES = {"WETH": "ETH", "WBTC": "BTC"}
# The coin a move with no trade row is in: the chain's native coin (a mempool whale is a BTC transfer).
CHAIN_COINS = {"bitcoin": "BTC", "ethereum": "ETH"}


@dataclass(frozen=True)
class CatalystItem:
    """A catalyst as a collector reports it. ``occurred_at`` aware UTC; ``impact_score`` 0-100; ``coins``
    canonical symbols (upper-case as stored in ``market.Asset``); ``details`` JSON-safe."""

    source_ref: str
    type: str
    title: str
    url: str
    occurred_at: datetime
    impact_score: int
    coins: Sequence[str] = ()
    details: dict[str, Any] = field(default_factory=dict)


_CATALYST_FIELDS = ("type", "title", "url", "occurred_at", "impact_score", "coins", "details")


def catalysts_upsert(*, source: str, items: Iterable[CatalystItem]) -> int:
    """Store ``items`` of ``source`` (the first of items sharing a ``source_ref``); return how many were new.
    Existing ones are updated where they differ (one bulk update), and their coin rows replaced when their coins
    or time changed. Shape: one transaction; reads the stored rows of these refs once."""
    wanted: dict[str, CatalystItem] = {}
    for item in items:
        wanted.setdefault(item.source_ref, item)
    if not wanted:
        return 0
    with transaction.atomic():
        stored = {event.source_ref: event for event in CatalystEvent.objects.filter(
            source=source, source_ref__in=list(wanted))}
        new = [CatalystEvent(source=source, source_ref=ref, type=item.type, title=item.title[:500],
                             url=item.url[:1000], occurred_at=item.occurred_at, impact_score=item.impact_score,
                             coins=",".join(item.coins)[:300], details=item.details)
               for ref, item in wanted.items() if ref not in stored]
        CatalystEvent.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        created = {event.source_ref: event for event in CatalystEvent.objects.filter(
            source=source, source_ref__in=[event.source_ref for event in new])}
        catalyst_feed_events_create(list(created.values()))
        coin_rows = [CatalystCoin(event=event, symbol=symbol, occurred_at=event.occurred_at)
                     for ref, event in created.items() for symbol in wanted[ref].coins]
        changed: list[CatalystEvent] = []
        changed_coins: list[CatalystEvent] = []
        for ref, event in stored.items():
            item = wanted[ref]
            values = {"type": item.type, "title": item.title[:500], "url": item.url[:1000],
                      "occurred_at": item.occurred_at, "impact_score": item.impact_score,
                      "coins": ",".join(item.coins)[:300], "details": item.details}
            if all(getattr(event, name) == value for name, value in values.items()):
                continue
            if event.coins != values["coins"] or event.occurred_at != item.occurred_at:
                changed_coins.append(event)
                coin_rows += [CatalystCoin(event=event, symbol=symbol, occurred_at=item.occurred_at)
                              for symbol in item.coins]
            for name, value in values.items():
                setattr(event, name, value)
            changed.append(event)
        CatalystEvent.objects.bulk_update(changed, list(_CATALYST_FIELDS), batch_size=500)
        CatalystCoin.objects.filter(event__in=changed_coins).delete()
        CatalystCoin.objects.bulk_create(coin_rows, ignore_conflicts=True, batch_size=1000)
    return len(new)


def catalyst_feed_events_create(catalysts: Sequence[CatalystEvent]) -> list[int]:
    """The live-feed events of those ``catalysts`` that are high-impact and recent (module docstring), created
    once each (the events' natural key: no chain, type ``catalyst``, ``tx_hash`` "catalyst:<id>"), and queued
    for publishing after commit. Returns the ids of those events not published yet (the ones queued). Call it
    inside the transaction that stored the catalysts."""
    since = timezone.now() - timedelta(hours=settings.CATALYST_FEED_MAX_AGE_H)
    wanted = [c for c in catalysts if c.impact_score >= settings.CATALYST_FEED_MIN_IMPACT and c.occurred_at >= since]
    if not wanted:
        return []
    keys = [f"catalyst:{c.pk}" for c in wanted]
    existing = set(WhaleEvent.objects.filter(chain="", type=EventType.CATALYST, tx_hash__in=keys)
                   .values_list("tx_hash", flat=True))
    WhaleEvent.objects.bulk_create([
        WhaleEvent(chain="", type=EventType.CATALYST, whale=None, block_time=c.occurred_at, tx_hash=f"catalyst:{c.pk}",
                   log_index=-1, summary=c.title[:500],
                   details={"catalyst_id": c.pk, "source": c.source, "source_ref": c.source_ref,
                            "catalyst_type": c.type, "url": c.url, "coins": c.coin_list,
                            "impact_score": c.impact_score})
        for c in wanted if f"catalyst:{c.pk}" not in existing], ignore_conflicts=True)
    event_ids = list(WhaleEvent.objects.filter(chain="", type=EventType.CATALYST, tx_hash__in=keys,
                                               published_at__isnull=True).values_list("pk", flat=True))
    if event_ids:
        task_enqueue_on_commit("alerts.publish_events", kwargs={"event_ids": sorted(event_ids)})
    return sorted(event_ids)


def catalyst_list(*, coin: str | None = None, type: str | None = None, since: datetime | None = None,
                  until: datetime | None = None) -> QuerySet[CatalystEvent]:
    """Catalysts, newest first, optionally of one ``coin`` (a canonical symbol), one ``type``, and occurring in
    [``since``, ``until``). Uses the ``catalyst_coin_time`` index for a coin, ``catalyst_time`` otherwise."""
    queryset = CatalystEvent.objects.all()
    if coin:
        rows = CatalystCoin.objects.filter(symbol=coin)
        if since is not None:
            rows = rows.filter(occurred_at__gte=since)
        if until is not None:
            rows = rows.filter(occurred_at__lt=until)
        queryset = queryset.filter(id__in=rows.values("event_id"))
    if type:
        queryset = queryset.filter(type=type)
    if since is not None:
        queryset = queryset.filter(occurred_at__gte=since)
    if until is not None:
        queryset = queryset.filter(occurred_at__lt=until)
    return queryset.order_by("-occurred_at", "-id")


def event_coins(event: WhaleEvent) -> list[str]:
    """The coins of a whale event: the base and quote assets of its trade (same chain, transaction, log index and
    whale), wrapped tokens as their coin (``COIN_ALIASES``); with no trade, the chain's native coin
    (``CHAIN_COINS``), else none; a catalyst event's own coins (``details["coins"]``). At most one query."""
    if event.type == EventType.CATALYST:
        return [str(coin) for coin in (event.details or {}).get("coins", [])]
    coins: list[str] = []
    assets: Iterable[tuple[str, str]] = ()
    if event.whale_id is not None:  # every trade has its whale
        assets = Trade.objects.filter(chain=event.chain, tx_hash=event.tx_hash, log_index=event.log_index,
                                      whale_id=event.whale_id).values_list("base_asset", "quote_asset")
    for pair in assets:
        for asset in pair:
            coin = COIN_ALIASES.get(asset, asset)
            if coin and coin not in coins:
                coins.append(coin)
    if not coins and event.chain in CHAIN_COINS:
        coins.append(CHAIN_COINS[event.chain])
    return coins


def context_around(*, coins: Sequence[str], at: datetime, window_hours: int | None = None) -> dict[str, Any]:
    """The catalysts of ``coins`` within ``window_hours`` (default CONTEXT_WINDOW_HOURS) either side of ``at``, and
    the crowd's mood about each coin over the same window (``mood``).

    Shape (JSON-safe): {"window_hours", "coins", "sentiment": [mood per coin], "catalysts": [{"id", "source",
    "source_ref", "type", "title", "url", "occurred_at" (ISO-8601 UTC), "impact_score", "coins", "offset_hours"
    (catalyst time - ``at``, signed, 1 decimal)}]}, at most CONTEXT_MAX_CATALYSTS, highest impact first, then
    nearest in time. One query on the
    ``catalyst_coin_time`` index and one per coin on ``mood_coin_time`` (none without coins)."""
    hours = settings.CONTEXT_WINDOW_HOURS if window_hours is None else window_hours
    window = timedelta(hours=hours)
    result: dict[str, Any] = {"window_hours": hours, "coins": list(coins), "catalysts": [],
                              "sentiment": [mood(coin=coin, since=at - window, until=at + window) for coin in coins]}
    if not coins:
        return result
    rows = CatalystCoin.objects.filter(symbol__in=list(coins), occurred_at__gte=at - window,
                                       occurred_at__lte=at + window).values("event_id")
    events = list(CatalystEvent.objects.filter(id__in=rows).order_by("-impact_score", "-occurred_at", "-id")
                  [: CONTEXT_MAX_CATALYSTS * 5])
    events.sort(key=lambda e: (-e.impact_score, abs((e.occurred_at - at).total_seconds()), -e.id))
    result["catalysts"] = [{
        "id": e.id, "source": e.source, "source_ref": e.source_ref, "type": e.type, "title": e.title, "url": e.url,
        "occurred_at": e.occurred_at.isoformat().replace("+00:00", "Z"), "impact_score": e.impact_score,
        "coins": [c for c in e.coins.split(",") if c],
        "offset_hours": round((e.occurred_at - at).total_seconds() / 3600, 1),
    } for e in events[:CONTEXT_MAX_CATALYSTS]]
    return result


def event_context(event: WhaleEvent) -> dict[str, Any]:
    """``context_around`` the event's coins (``event_coins``) at its block time. Two queries."""
    return context_around(coins=event_coins(event), at=event.block_time)


def wallet_context(*, whale_id: int) -> list[dict[str, Any]]:
    """The context of the wallet's CONTEXT_WALLET_EVENTS most recent events, newest first: [{"event_id",
    "type", "block_time" (ISO-8601 UTC), "summary", "context": event_context}]. 1 + 2 per event queries."""
    events = WhaleEvent.objects.filter(whale_id=whale_id).filter(~Q(type="reorg_retraction")).order_by(
        "-block_time", "-id")[:CONTEXT_WALLET_EVENTS]
    return [{"event_id": e.id, "type": e.type, "block_time": e.block_time.isoformat().replace("+00:00", "Z"),
             "summary": e.summary, "context": event_context(e)} for e in events]


@dataclass(frozen=True)
class MoodItem:
    """One post's mood about its coins, as the human ledger reports it: ``compound`` in [-1, 1] (4 places),
    ``weight`` the engagement weight (> 0), ``occurred_at`` aware UTC."""

    source_ref: str
    coins: Sequence[str]
    occurred_at: datetime
    compound: Decimal
    weight: Decimal


BULLISH_AT = Decimal("0.05")
MOOD_QUANTUM = Decimal("0.0001")


def moods_upsert(*, source: str, items: Iterable[MoodItem]) -> int:
    """Store a reading per (item, coin); update the compound and weight of those stored (one bulk update). Returns
    readings new. One transaction."""
    rows = {(item.source_ref, coin): item for item in items for coin in item.coins}
    if not rows:
        return 0
    with transaction.atomic():
        stored = {(r.source_ref, r.coin): r for r in MoodReading.objects.filter(
            source=source, source_ref__in={ref for ref, _ in rows})}
        new = [MoodReading(source=source, source_ref=ref, coin=coin, occurred_at=item.occurred_at,
                           compound=item.compound, weight=item.weight)
               for (ref, coin), item in rows.items() if (ref, coin) not in stored]
        MoodReading.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
        changed = []
        for key, reading in stored.items():
            item = rows.get(key)
            if item is not None and (reading.compound, reading.weight) != (item.compound, item.weight):
                reading.compound, reading.weight = item.compound, item.weight
                changed.append(reading)
        MoodReading.objects.bulk_update(changed, ["compound", "weight"], batch_size=1000)
    return len(new)


def mood(*, coin: str, since: datetime, until: datetime) -> dict[str, Any]:
    """The crowd's mood about ``coin`` in [``since``, ``until``): {"coin", "since", "until" (ISO-8601 UTC),
    "posts", "bullish", "bearish", "neutral" (counts by the post's label: compound >= 0.05, <= -0.05, between),
    "weighted_compound" (sum(weight x compound) / sum(weight), 4 places half-even, as a string; None without
    posts)}. One aggregate query on the ``mood_coin_time`` index."""
    rows = MoodReading.objects.filter(coin=coin, occurred_at__gte=since, occurred_at__lt=until)
    figures = rows.aggregate(
        posts=Count("id"), weighted=Sum(F("weight") * F("compound")), weights=Sum("weight"),
        bullish=Count("id", filter=Q(compound__gte=BULLISH_AT)),
        bearish=Count("id", filter=Q(compound__lte=-BULLISH_AT)))
    weighted = None
    if figures["posts"]:
        weighted = str((Decimal(figures["weighted"]) / Decimal(figures["weights"])).quantize(
            MOOD_QUANTUM, ROUND_HALF_EVEN))
    return {"coin": coin, "since": since.isoformat().replace("+00:00", "Z"),
            "until": until.isoformat().replace("+00:00", "Z"), "posts": figures["posts"],
            "bullish": figures["bullish"], "bearish": figures["bearish"],
            "neutral": figures["posts"] - figures["bullish"] - figures["bearish"], "weighted_compound": weighted}
