"""Mempool whale records: stored once, followed to their end, scored (ledgers.glass.bitcoin.mempool_services)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.bitcoin.client import decode_tx
from ledgers.glass.bitcoin.mempool import WhaleSeen, urgency_band, urgency_score
from ledgers.glass.bitcoin.mempool_services import (
    mempool_confirmed,
    mempool_drop_stale,
    mempool_replaced,
    mempool_scorecard,
    mempool_touch,
    mempool_whale_record,
)
from ledgers.glass.bitcoin.models import MempoolStatus, MempoolTransaction
from tests.ledgers.glass.bitcoin import recorded
from whales.models import AddressCategory, EventType, KnownAddress, Whale, WhaleEvent

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 4, 1, 21, 0, tzinfo=UTC)


def seen(tx_hash: str, *, fee: int = 1000, vsize: float = 250.0, value: int = 200 * 10**8,
         first_seen: datetime | None = T0) -> WhaleSeen:
    rate = fee / vsize
    return WhaleSeen(tx_hash=tx_hash, fee_sat=fee, vsize_vb=vsize, value_sat=value, fee_rate_sat_vb=rate,
                     urgency=urgency_score(rate), band=urgency_band(rate), first_seen=first_seen)


def test_whale_is_stored_once_with_its_event_matched_whale_and_exchange_labels():
    raw = recorded.frame("mainnet_tx_cached.json")
    tx = decode_tx(raw)
    sender = raw["vin"][0]["prevout"]["scriptpubkey_address"]
    receiver = raw["vout"][0]["scriptpubkey_address"]
    whale = Whale.objects.create(chain="bitcoin", address=sender, name="Tracked sender")
    KnownAddress.objects.create(chain="bitcoin", address=receiver, name="Some Exchange",
                                category=AddressCategory.EXCHANGE, source="test")
    btc = Asset.objects.get(symbol="BTC", chain="bitcoin")
    PriceHistory.objects.create(asset=btc, timestamp=T0 - timedelta(hours=21), price_usd=Decimal("84000.5"))
    s = seen(raw["txid"], fee=raw["fee"], vsize=raw["weight"] / 4, value=15_000_000_000)
    first = mempool_whale_record(seen=s, tx=tx)
    again = mempool_whale_record(seen=s, tx=tx)
    assert first.created and first.event_created and not again.created and not again.event_created
    row = MempoolTransaction.objects.get()
    assert row.whale_id == whale.id and row.status == MempoolStatus.PENDING and row.has_full_tx
    assert row.value_btc == Decimal(150) and row.value_usd == Decimal("12600075.00000000")
    assert row.fee_rate_sat_vb == Decimal(str(round(raw["fee"] / (raw["weight"] / 4), 4)))
    event = WhaleEvent.objects.get()
    assert (event.type, event.tx_hash, event.whale_id, event.chain) == (EventType.MEMPOOL_WHALE, raw["txid"],
                                                                         whale.id, "bitcoin")
    assert event.value_usd == Decimal("12600075.00000000") and event.block_time == T0
    assert "Some Exchange (output)" in event.summary and "Tracked sender" in event.summary
    assert [w["address"] for w in event.details["whales"]] == [sender]
    assert [(lbl["address"], lbl["sides"]) for lbl in event.details["labels"]] == [(receiver, ["output"])]
    # The stored details use the standard names, with the recorded values.
    top = sorted(raw["vout"], key=lambda v: -v["value"])[:5]
    assert {k: event.details[k] for k in ("fee_sat", "vsize_vb", "fee_rate_sat_vb", "value_sat", "top_outputs")} == {
        "fee_sat": raw["fee"], "vsize_vb": raw["weight"] / 4,
        "fee_rate_sat_vb": round(raw["fee"] / (raw["weight"] / 4), 4), "value_sat": 15_000_000_000,
        "top_outputs": [{"address": v.get("scriptpubkey_address", ""), "value_sat": v["value"]} for v in top]}
    assert row.details["top_outputs"] == event.details["top_outputs"]


def test_whale_without_full_transaction_is_stored_from_the_summary():
    result = mempool_whale_record(seen=seen("ab" * 32, first_seen=None), tx=None,
                                  observed_at=datetime(2026, 1, 2, tzinfo=UTC))
    row = result.mempool_tx
    assert not row.has_full_tx and row.whale_id is None and row.first_seen_at == datetime(2026, 1, 2, tzinfo=UTC)
    assert WhaleEvent.objects.get().details["full_tx"] is False


def test_confirmation_replacement_and_drop_move_forward_only():
    for tx_hash in ("a" * 64, "b" * 64, "c" * 64):
        mempool_whale_record(seen=seen(tx_hash, fee=1000), tx=None)
    block_time = T0 + timedelta(seconds=124)
    assert mempool_confirmed(tx_hash="a" * 64, block_number=890448, block_hash="00" * 32, block_time=block_time)
    assert not mempool_confirmed(tx_hash="a" * 64, block_number=890449, block_hash="11" * 32, block_time=block_time)
    assert mempool_replaced(old_tx_hash="b" * 64, new_tx_hash="d" * 64, new_fee_sat=1354)
    assert not mempool_replaced(old_tx_hash="a" * 64, new_tx_hash="e" * 64, new_fee_sat=5000)  # already confirmed
    a, b = MempoolTransaction.objects.get(tx_hash="a" * 64), MempoolTransaction.objects.get(tx_hash="b" * 64)
    assert (a.status, a.confirmed_block_number, a.time_to_confirm_s) == (MempoolStatus.CONFIRMED, 890448, 124)
    assert (b.status, b.replaced_by_tx_hash, b.fee_bump_sat) == (MempoolStatus.REPLACED, "d" * 64, 354)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    MempoolTransaction.objects.filter(tx_hash="c" * 64).update(last_seen_at=now - timedelta(seconds=601))
    assert mempool_touch(tx_hashes=["a" * 64], at=now) == 0  # not pending: untouched
    assert mempool_drop_stale(now=now, drop_after_s=600) == 1
    assert MempoolTransaction.objects.get(tx_hash="c" * 64).status == MempoolStatus.DROPPED
    # A dropped transaction that confirms after all is confirmed.
    assert mempool_confirmed(tx_hash="c" * 64, block_number=890450, block_hash="22" * 32, block_time=T0 - timedelta(1))
    c = MempoolTransaction.objects.get(tx_hash="c" * 64)
    assert c.status == MempoolStatus.CONFIRMED and c.time_to_confirm_s is None  # block older than first sighting


def test_scorecard_shares_and_medians_per_band():
    # low band (fee rate < 10): 3 confirmed in 100, 200, 400 s, 1 replaced, 1 pending
    # medium (10-50): 1 confirmed in 50 s, 1 dropped; high: none
    rows = [("l1", 500, "c", 100), ("l2", 500, "c", 200), ("l3", 500, "c", 400), ("l4", 500, "r", None),
            ("l5", 500, "p", None), ("m1", 5000, "c", 50), ("m2", 5000, "d", None)]
    for name, fee, _, _ in rows:
        mempool_whale_record(seen=seen(name.ljust(64, "0"), fee=fee, vsize=250.0), tx=None)
    for name, _, outcome, seconds in rows:
        tx_hash = name.ljust(64, "0")
        if outcome == "c":
            mempool_confirmed(tx_hash=tx_hash, block_number=1, block_hash="",
                              block_time=T0 + timedelta(seconds=seconds))
        elif outcome == "r":
            mempool_replaced(old_tx_hash=tx_hash, new_tx_hash="f" * 64, new_fee_sat=900)
        elif outcome == "d":
            MempoolTransaction.objects.filter(tx_hash=tx_hash).update(status=MempoolStatus.DROPPED)
    card = mempool_scorecard()
    low, medium, high = card["bands"]
    assert (low["band"], low["total"], low["confirmed"], low["replaced"], low["pending"], low["resolved"]) == (
        "low", 5, 3, 1, 1, 4)
    assert (low["confirmed_percent"], low["replaced_percent"], low["dropped_percent"]) == ("75.00", "25.00", "0.00")
    assert low["median_time_to_confirm_s"] == 200.0
    assert (medium["confirmed_percent"], medium["dropped_percent"], medium["median_time_to_confirm_s"]) == (
        "50.00", "50.00", 50.0)
    assert high["total"] == 0 and high["confirmed_percent"] is None and high["median_time_to_confirm_s"] is None
    overall = card["overall"]
    assert (overall["total"], overall["resolved"], overall["confirmed_percent"]) == (7, 6, "66.67")
    assert overall["median_time_to_confirm_s"] == 150.0  # median of 50, 100, 200, 400
    assert mempool_scorecard(since=T0 + timedelta(days=1))["total"] == 0
