"""Writes and reads of the mempool whale monitor: MempoolTransaction rows and ``mempool_whale`` events.

Every write is idempotent: a whale transaction is stored once (unique tx_hash) and its event once
(WhaleEvent natural key), and the status moves only forward (pending -> confirmed / replaced /
dropped; a dropped transaction that later confirms becomes confirmed), so replaying a stream, or
a frame resent after a reconnect, changes nothing.
"""

import logging
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.services import events_publish
from ledgers.exchange.market.selectors import asset_map, price_at
from ledgers.glass.bitcoin.mempool import WhaleSeen
from ledgers.glass.bitcoin.models import MempoolStatus, MempoolTransaction, UrgencyBand
from ledgers.glass.bitcoin.types import SAT_PER_BTC, BitcoinTx
from whales.chains import Chain
from whales.models import AddressCategory, EventType, KnownAddress, Whale
from whales.money import q_usd
from whales.services import event_record

logger = logging.getLogger(__name__)

TOP_OUTPUTS = 5


@dataclass(frozen=True)
class RecordResult:
    """What ``mempool_whale_record`` did: the row, whether it is new, and the new event (if any)."""

    mempool_tx: MempoolTransaction
    created: bool
    event_created: bool


def _matches(tx: BitcoinTx | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int | None]:
    """Tracked whales and labelled addresses among ``tx``'s inputs and outputs.

    Shape: ([{id, address, name, sides}], [{address, name, category, entity, sides}], first whale id or
    None); ``sides`` lists "input" and/or "output"."""
    if tx is None:
        return [], [], None
    sides: dict[str, set[str]] = {}
    for i in tx.inputs:
        if i.address:
            sides.setdefault(i.address, set()).add("input")
    for o in tx.outputs:
        if o.address:
            sides.setdefault(o.address, set()).add("output")
    whales: list[dict[str, Any]] = [
        dict(row) for row in Whale.objects.filter(chain=Chain.BITCOIN, is_tracked=True, address__in=sides)
        .order_by("id").values("id", "address", "name")]
    labels: list[dict[str, Any]] = [
        dict(row) for row in KnownAddress.objects.filter(chain=Chain.BITCOIN, address__in=sides)
        .order_by("address").values("address", "name", "category", "entity__slug")]
    for row in whales:
        row["sides"] = sorted(sides[row["address"]])
    for row in labels:
        row["sides"] = sorted(sides[row["address"]])
        row["entity"] = row.pop("entity__slug") or ""
    return whales, labels, (whales[0]["id"] if whales else None)


def _summary(seen: WhaleSeen, value_btc: Decimal, value_usd: Decimal | None, labels: list[dict],
             whales: list[dict]) -> str:
    usd = "" if value_usd is None else f" (${value_usd:,.2f})"
    exchanges = [f"{row['name'] or row['address']} ({'/'.join(row['sides'])})" for row in labels
                 if row["category"] == AddressCategory.EXCHANGE]
    who = whales[0]["name"] or whales[0]["address"] if whales else ""
    parts = [f"Mempool whale: {value_btc.normalize():,f} BTC{usd} unconfirmed at {seen.fee_rate_sat_vb:.2f} sat/vB "
             f"(urgency {seen.urgency:.2f}, {seen.band})"]
    if who:
        parts.append(f"tracked whale {who}")
    if exchanges:
        parts.append("exchange " + ", ".join(exchanges))
    return "; ".join(parts)


def mempool_whale_record(*, seen: WhaleSeen, tx: BitcoinTx | None, observed_at: datetime | None = None) -> RecordResult:
    """Store a mempool whale and its ``mempool_whale`` WhaleEvent (once), valued at the BTC price of
    its first-seen time; ``tx`` is the full transaction from Esplora (None when unavailable: then no
    addresses are matched). When ``tx`` says it already confirmed, the confirmation is applied too.

    Shape of the event's ``details``: {"fee_sat", "vsize_vb", "fee_rate_sat_vb" (4 decimals), "urgency",
    "urgency_band", "value_sat", "full_tx", "whales", "labels", "inputs", "outputs",
    "top_outputs": [{"address", "value_sat"}]}; the row's ``details`` keeps the last five of those.
    """
    observed_at = observed_at or timezone.now()
    first_seen = seen.first_seen or observed_at
    existing = MempoolTransaction.objects.filter(tx_hash=seen.tx_hash).first()
    if existing is not None:
        return RecordResult(existing, created=False, event_created=False)
    value_btc = Decimal(seen.value_sat) / SAT_PER_BTC
    btc = asset_map(chain=Chain.BITCOIN).get("")
    price = price_at(asset=btc, when=first_seen) if btc else None
    value_usd = None if price is None else q_usd(value_btc * price)
    whales, labels, whale_id = _matches(tx)
    top = sorted(tx.outputs, key=lambda o: -o.value_sat)[:TOP_OUTPUTS] if tx else []
    details = {
        "fee_sat": seen.fee_sat, "vsize_vb": seen.vsize_vb, "fee_rate_sat_vb": round(seen.fee_rate_sat_vb, 4),
        "urgency": round(seen.urgency, 4), "urgency_band": seen.band, "value_sat": seen.value_sat,
        "full_tx": tx is not None, "whales": whales, "labels": labels,
        "inputs": len(tx.inputs) if tx else None, "outputs": len(tx.outputs) if tx else None,
        "top_outputs": [{"address": o.address, "value_sat": o.value_sat} for o in top],
    }
    with transaction.atomic():
        row, created = MempoolTransaction.objects.get_or_create(
            tx_hash=seen.tx_hash,
            defaults={
                "first_seen_at": first_seen, "observed_at": observed_at, "last_seen_at": observed_at,
                "fee_sat": seen.fee_sat, "vsize_vb": Decimal(str(seen.vsize_vb)).quantize(Decimal("0.01")),
                "fee_rate_sat_vb": Decimal(str(seen.fee_rate_sat_vb)).quantize(Decimal("0.0001"),
                                                                               rounding=ROUND_HALF_EVEN),
                "value_sat": seen.value_sat, "value_btc": value_btc, "value_usd": value_usd,
                "urgency": Decimal(str(seen.urgency)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN),
                "urgency_band": seen.band, "whale_id": whale_id, "has_full_tx": tx is not None,
                "details": {k: details[k] for k in ("whales", "labels", "inputs", "outputs", "top_outputs")},
            },
        )
        event, event_created = event_record(
            chain=Chain.BITCOIN, type=EventType.MEMPOOL_WHALE, tx_hash=seen.tx_hash, whale_id=whale_id,
            block_time=first_seen, summary=_summary(seen, value_btc, value_usd, labels, whales),
            value_usd=value_usd, details=details,
        )
        if event_created:
            events_publish(event_ids=[event.id])  # sent once the row commits
    # A whale this one replaced, whose fee bump was unknown then, gets it now.
    for replaced in MempoolTransaction.objects.filter(replaced_by_tx_hash=seen.tx_hash,
                                                      replacement_fee_sat__isnull=True):
        MempoolTransaction.objects.filter(pk=replaced.pk).update(
            replacement_fee_sat=seen.fee_sat, fee_bump_sat=seen.fee_sat - replaced.fee_sat)
    if tx is not None and tx.status.confirmed and tx.status.block_number is not None:
        mempool_confirmed(tx_hash=seen.tx_hash, block_number=tx.status.block_number,
                          block_hash=tx.status.block_hash, block_time=tx.status.block_time or observed_at)
        row.refresh_from_db()
    return RecordResult(row, created=created, event_created=event_created)


def mempool_confirmed(*, tx_hash: str, block_number: int, block_hash: str, block_time: datetime) -> bool:
    """Mark ``tx_hash`` confirmed in block ``block_number`` (from pending or dropped); True if the row changed.

    ``time_to_confirm_s`` = block time - first seen, None when the block is older than the first
    sighting (the stream showed it late).
    """
    row = MempoolTransaction.objects.filter(
        tx_hash=tx_hash, status__in=[MempoolStatus.PENDING, MempoolStatus.DROPPED]).first()
    if row is None:
        return False
    seconds = int((block_time - row.first_seen_at).total_seconds())
    return MempoolTransaction.objects.filter(pk=row.pk, status=row.status).update(
        status=MempoolStatus.CONFIRMED, confirmed_block_number=block_number, confirmed_block_hash=block_hash,
        confirmed_at=block_time, time_to_confirm_s=seconds if seconds >= 0 else None, ended_at=timezone.now(),
    ) == 1


def mempool_replaced(*, old_tx_hash: str, new_tx_hash: str, new_fee_sat: int | None) -> bool:
    """Mark pending ``old_tx_hash`` replaced by ``new_tx_hash`` with its fee bump (``new_fee_sat`` - the
    old fee, in sat; None when the new fee is unknown); True if the row changed."""
    row = MempoolTransaction.objects.filter(tx_hash=old_tx_hash, status=MempoolStatus.PENDING).first()
    if row is None or old_tx_hash == new_tx_hash:
        return False
    return MempoolTransaction.objects.filter(pk=row.pk, status=MempoolStatus.PENDING).update(
        status=MempoolStatus.REPLACED, replaced_by_tx_hash=new_tx_hash, replacement_fee_sat=new_fee_sat,
        fee_bump_sat=None if new_fee_sat is None else new_fee_sat - row.fee_sat, ended_at=timezone.now(),
    ) == 1


def mempool_touch(*, tx_hashes: Iterable[str], at: datetime) -> int:
    """Record that pending ``tx_hashes`` were seen again (in the stream or in the source's mempool)."""
    return MempoolTransaction.objects.filter(tx_hash__in=list(tx_hashes), status=MempoolStatus.PENDING).update(
        last_seen_at=at)


def mempool_drop_stale(*, now: datetime, drop_after_s: int) -> int:
    """Mark dropped every pending whale not seen for ``drop_after_s`` seconds; return how many."""
    return MempoolTransaction.objects.filter(
        status=MempoolStatus.PENDING, last_seen_at__lt=now - timedelta(seconds=drop_after_s)
    ).update(status=MempoolStatus.DROPPED, ended_at=now)


def mempool_pending_tx_hashes(*, limit: int = 500) -> list[str]:
    """Pending whale tx hashes, newest first."""
    return list(MempoolTransaction.objects.filter(status=MempoolStatus.PENDING)
                .order_by("-first_seen_at").values_list("tx_hash", flat=True)[:limit])


def fee_of(tx_hash: str) -> int | None:
    """The stored fee in sat of a whale transaction, if it is one."""
    return MempoolTransaction.objects.filter(tx_hash=tx_hash).values_list("fee_sat", flat=True).first()


def _share(part: int, whole: int) -> str | None:
    return None if whole == 0 else str((Decimal(part) / whole * 100).quantize(Decimal("0.01")))


def mempool_scorecard(*, since: datetime | None = None) -> dict:
    """How mempool whales ended, overall and per urgency band, for those first seen since ``since``.

    Shape: {"since", "total", "overall": band_card, "bands": [band_card for low, medium, high]} where
    band_card = {band, label, total, pending, confirmed, replaced, dropped, resolved, confirmed_percent,
    replaced_percent, dropped_percent (of the resolved ones: pending excluded; None when none resolved),
    median_time_to_confirm_s (over confirmed rows with a known time; None without any)}.
    """
    rows = MempoolTransaction.objects.all()
    if since is not None:
        rows = rows.filter(first_seen_at__gte=since)
    data = list(rows.values_list("urgency_band", "status", "time_to_confirm_s"))

    def card(band: str, label: str, items: list[tuple]) -> dict:
        counts = {s: sum(1 for _, status, _ in items if status == s) for s in MempoolStatus.values}
        resolved = counts["confirmed"] + counts["replaced"] + counts["dropped"]
        times = [t for _, status, t in items if status == MempoolStatus.CONFIRMED and t is not None]
        median = statistics.median(times) if times else None
        return {
            "band": band, "label": label, "total": len(items), **counts, "resolved": resolved,
            "confirmed_percent": _share(counts["confirmed"], resolved),
            "replaced_percent": _share(counts["replaced"], resolved),
            "dropped_percent": _share(counts["dropped"], resolved),
            "median_time_to_confirm_s": None if median is None else float(median),
        }

    bands = [card(band, label, [r for r in data if r[0] == band]) for band, label in UrgencyBand.choices]
    return {"since": since.isoformat() if since else None, "total": len(data),
            "overall": card("all", "All urgency bands", data), "bands": bands}


def mempool_whale_list(*, status: str | None = None, band: str | None = None):
    """MempoolTransactions, newest first, filtered by status and urgency band."""
    rows = MempoolTransaction.objects.select_related("whale").order_by("-first_seen_at", "-id")
    if status:
        rows = rows.filter(status=status)
    if band:
        rows = rows.filter(urgency_band=band)
    return rows


def mempool_stale_pending(*, now: datetime, older_than_s: int) -> list[str]:
    """Pending tx hashes last seen more than ``older_than_s`` seconds ago (candidates for a status check)."""
    return list(MempoolTransaction.objects.filter(
        Q(status=MempoolStatus.PENDING) & Q(last_seen_at__lt=now - timedelta(seconds=older_than_s))
    ).values_list("tx_hash", flat=True))
