"""Writes and reads of the catalysts around whale moves (``models.context``).

The catalyst ledger's collectors call ``catalysts_upsert`` with what they stored; pages and the API read with
``catalyst_list``. Idempotent: a catalyst is unique per (source, source_ref); upserting it again updates what
changed (its title, link, coins, type or score: an analyst re-mapped an issuer's coins, a filing got its
document) and nothing else.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from whales.models import CatalystCoin, CatalystEvent


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


def catalysts_upsert(*, source: str, items: Iterable[CatalystItem]) -> int:
    """Store ``items`` of ``source`` (the first of items sharing a ``source_ref``); return how many were new.
    Existing ones are updated where they differ, and their coin rows replaced when their coins changed.
    Shape: one transaction; reads the stored rows of these refs once."""
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
        coin_rows = [CatalystCoin(event=event, symbol=symbol, occurred_at=event.occurred_at)
                     for ref, event in created.items() for symbol in wanted[ref].coins]
        changed_coins: list[CatalystEvent] = []
        for ref, event in stored.items():
            item = wanted[ref]
            values = {"type": item.type, "title": item.title[:500], "url": item.url[:1000],
                      "occurred_at": item.occurred_at, "impact_score": item.impact_score,
                      "coins": ",".join(item.coins)[:300], "details": item.details}
            if any(getattr(event, name) != value for name, value in values.items()):
                CatalystEvent.objects.filter(pk=event.pk).update(**values)
                if event.coins != values["coins"] or event.occurred_at != item.occurred_at:
                    changed_coins.append(event)
                    coin_rows += [CatalystCoin(event=event, symbol=symbol, occurred_at=item.occurred_at)
                                  for symbol in item.coins]
        CatalystCoin.objects.filter(event__in=changed_coins).delete()
        CatalystCoin.objects.bulk_create(coin_rows, ignore_conflicts=True, batch_size=1000)
    return len(new)


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
