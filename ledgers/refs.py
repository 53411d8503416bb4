"""What the parsers of every ledger need to know about whales and counterparties: plain dataclasses
(no ORM object reaches ``activity.py``) and the reads that build them. Never writes."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ledgers.models import SyncCursor
from whales.models import KnownAddress, Whale


@dataclass(frozen=True, slots=True)
class WhaleRef:
    """A tracked whale as a parser needs it. ``address`` is stored normalized (``whales.chains``)."""

    id: int
    address: str
    name: str
    entity_id: int | None = None


@dataclass(frozen=True, slots=True)
class Counterparty:
    """A labelled address (a KnownAddress, or another tracked whale) as a parser needs it.

    ``category`` is a ``whales.models.AddressCategory`` value ("" for a whale known only by its entity).
    """

    name: str
    category: str
    entity_id: int | None
    entity_slug: str


def whale_refs(*, chain: str, addresses: Iterable[str] | None = None) -> list[WhaleRef]:
    """The tracked whales of ``chain`` (only ``addresses`` when given, normalized by the caller), by id."""
    whales = Whale.objects.filter(chain=chain, is_tracked=True)
    if addresses is not None:
        whales = whales.filter(address__in=list(addresses))
    rows = whales.order_by("id").values_list("id", "address", "name", "entity_id")
    return [WhaleRef(id=pk, address=address, name=name, entity_id=entity_id) for pk, address, name, entity_id in rows]


def whale_refs_least_recently_synced(*, chain: str, addresses: Iterable[str] | None,
                                     stream_of: Callable[[str], str]) -> list[WhaleRef]:
    """``whale_refs`` ordered by the time their cursor (stream ``stream_of(address)``) last moved, never
    synced first: a run that a request budget cuts short is continued by the next with the whales it did
    not reach."""
    refs = whale_refs(chain=chain, addresses=addresses)
    streams = {stream_of(ref.address): ref for ref in refs}
    synced = dict(SyncCursor.objects.filter(stream__in=list(streams)).values_list("stream", "updated_at"))
    never = datetime(1970, 1, 1, tzinfo=UTC)
    return sorted(refs, key=lambda ref: synced.get(stream_of(ref.address), never))


def counterparty_refs(*, chain: str, addresses: Iterable[str], with_whale_entities: bool = False
                      ) -> dict[str, Counterparty]:
    """``{address: Counterparty}`` of the labelled ones among ``addresses`` on ``chain``: KnownAddresses,
    and with ``with_whale_entities`` also tracked whales that belong to an entity (category "")."""
    wanted = set(addresses)
    if not wanted:
        return {}
    known = {
        address: Counterparty(name=name, category=category, entity_id=entity_id, entity_slug=slug or "")
        for address, name, category, entity_id, slug in KnownAddress.objects.filter(
            chain=chain, address__in=wanted).values_list("address", "name", "category", "entity_id", "entity__slug")
    }
    if with_whale_entities:
        for address, name, entity_id, slug in Whale.objects.filter(
                chain=chain, address__in=wanted - set(known), entity__isnull=False).values_list(
                "address", "name", "entity_id", "entity__slug"):
            known[address] = Counterparty(name=name, category="", entity_id=entity_id, entity_slug=slug or "")
    return known
