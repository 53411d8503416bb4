"""The label trail: a label taken off a whale leaves a ``LabelRemoval`` (its provenance, who, when, why) and can be
put back exactly; and the conflicts the label import settled are kept as ``LabelConflict`` rows.

Services take keyword-only arguments, own their transaction and are idempotent. The admin's delete of a label row
(the whale page's label inline) and ``whales_import_rows``' removal of labels a file no longer lists go through
``label_remove`` / ``label_removals_record`` too, so no label disappears without a trail.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from whales.errors import Conflict, InvalidParameter, NotFound
from whales.labelsets import FoundConflict
from whales.models import LabelConflict, LabelRemoval, WhaleLabel

REASON_MAX = 2000


def _user_id(user: AbstractBaseUser | AnonymousUser | None) -> int | None:
    return user.pk if user is not None and user.is_authenticated else None


def label_removals_record(*, links: Sequence[WhaleLabel], removed_by: AbstractBaseUser | AnonymousUser | None,
                          reason: str, now: datetime | None = None) -> list[LabelRemoval]:
    """Write the trail of ``links`` (WhaleLabel rows, label loaded) and delete them; return the trail rows.
    For callers already in a transaction (``label_remove``, the importer); ``reason`` must not be blank.
    Raises: InvalidParameter for a blank reason (nothing written)."""
    reason = reason.strip()
    if not reason:
        raise InvalidParameter("reason: say why the label is removed.")
    now = now or timezone.now()
    removals = LabelRemoval.objects.bulk_create([
        LabelRemoval(whale_id=link.whale_id, label_id=link.label_id, label_slug=link.label.slug, source=link.source,
                     evidence_url=link.evidence_url, confidence=link.confidence, added_by_id=link.added_by_id,
                     added_at=link.added_at, removed_by_id=_user_id(removed_by), removed_at=now,
                     reason=reason[:REASON_MAX])
        for link in links])
    WhaleLabel.objects.filter(id__in=[link.id for link in links]).delete()
    return removals


def label_remove(*, whale_label_id: int, removed_by: AbstractBaseUser | AnonymousUser | None,
                 reason: str) -> LabelRemoval:
    """Take the label row ``whale_label_id`` off its whale, keeping its trail; return the LabelRemoval.
    (By natural key, idempotent: ``label_remove_by_key``.)
    Raises: InvalidParameter for a blank reason; NotFound when no such row exists (nothing changed)."""
    with transaction.atomic():
        link = WhaleLabel.objects.select_related("label").select_for_update(of=("self",)).filter(
            id=whale_label_id).first()
        if link is None:
            raise NotFound(f"No label row {whale_label_id}.")
        return label_removals_record(links=[link], removed_by=removed_by, reason=reason)[0]


def label_remove_by_key(*, whale_id: int, label_slug: str, source: str,
                        removed_by: AbstractBaseUser | AnonymousUser | None, reason: str) -> LabelRemoval:
    """``label_remove`` by natural key (whale, label slug, source). Idempotent as ``label_remove``: a second call
    returns the first call's removal. Raises: InvalidParameter (blank reason), NotFound."""
    with transaction.atomic():
        link = WhaleLabel.objects.select_related("label").select_for_update(of=("self",)).filter(
            whale_id=whale_id, label__slug=label_slug, source=source).first()
        if link is not None:
            return label_removals_record(links=[link], removed_by=removed_by, reason=reason)[0]
        removal = (LabelRemoval.objects.filter(whale_id=whale_id, label_slug=label_slug, source=source)
                   .order_by("-removed_at", "-id").first())
        if removal is None or removal.restored_at is not None:
            raise NotFound(f"Whale {whale_id} has no label {label_slug!r} from {source!r}.")
        return removal


def label_restore(*, removal_id: int, restored_by: AbstractBaseUser | AnonymousUser | None) -> WhaleLabel:
    """Put the label of LabelRemoval ``removal_id`` back exactly as it was (label, source, evidence URL,
    confidence, added_by, added_at) and mark the removal restored; return the WhaleLabel.

    Idempotent: restoring a restored removal returns the label row and changes nothing; when the same (whale,
    label, source) was added again meanwhile, that row is kept (it is newer evidence) and the removal is marked.
    Raises: NotFound for an unknown removal; Conflict when its Label was deleted since (nothing changed)."""
    with transaction.atomic():
        removal = LabelRemoval.objects.select_for_update().filter(id=removal_id).first()
        if removal is None:
            raise NotFound(f"No label removal {removal_id}.")
        if removal.label_id is None:
            raise Conflict(f"Label {removal.label_slug!r} no longer exists: add it again first.")
        link, _ = WhaleLabel.objects.get_or_create(
            whale_id=removal.whale_id, label_id=removal.label_id, source=removal.source,
            defaults={"evidence_url": removal.evidence_url, "confidence": removal.confidence,
                      "added_by_id": removal.added_by_id, "added_at": removal.added_at})
        if removal.restored_at is None:
            removal.restored_at, removal.restored_by_id = timezone.now(), _user_id(restored_by)
            removal.save(update_fields=["restored_at", "restored_by"])
    return link


def label_conflicts_store(*, found: Iterable[FoundConflict], now: datetime) -> int:
    """Keep the label import's conflicts: upsert one LabelConflict per (chain, address, field) seen by this run
    (``last_seen_at`` = ``now``; ``first_seen_at`` kept) and delete the ones this run no longer finds (the sources
    now agree). Returns the number stored. Called inside the import's transaction."""
    rows = [LabelConflict(chain=c.chain, address=c.address, field=c.field,
                          values=[{"source": v.source, "value": v.value} for v in c.values],
                          winner_source=c.winner_source[:100], winner_value=c.winner_value[:200], rule=c.rule[:300],
                          first_seen_at=now, last_seen_at=now)
            for c in found]
    LabelConflict.objects.bulk_create(
        rows, batch_size=1000, update_conflicts=True, unique_fields=["chain", "address", "field"],
        update_fields=["values", "winner_source", "winner_value", "rule", "last_seen_at"])
    LabelConflict.objects.filter(last_seen_at__lt=now).delete()
    return len(rows)
