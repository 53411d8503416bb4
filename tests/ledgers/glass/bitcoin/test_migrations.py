"""Migration 0004: ``details`` stored under the old key names (before the standard names) are rewritten
to the new ones, and back. The old-shaped rows are built here from the raw recordings, the way the
Bitcoin code wrote them before migration 0003."""

import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps

from alerts.selectors import event_directions
from ledgers.glass.bitcoin.models import MempoolTransaction
from tests.ledgers.glass.bitcoin import recorded
from tests.whales.factories import WhaleEventFactory, WhaleFactory
from whales.chains import Chain
from whales.models import EventType, WhaleEvent

pytestmark = pytest.mark.django_db

migration = importlib.import_module("ledgers.glass.bitcoin.migrations.0004_rename_details_keys")
T0 = datetime(2025, 4, 1, 21, 0, tzinfo=UTC)


def old_transfer_details(raw: dict, sender: str) -> dict:
    """A large_transfer send as activity.py stored it before: amounts under ``*_sats``."""
    spent = sum(v["prevout"]["value"] for v in raw["vin"] if v["prevout"]["scriptpubkey_address"] == sender)
    paid = sum(v["value"] for v in raw["vout"])
    return {"net_sats": -spent, "received_sats": 0, "spent_sats": spent, "tx_fee_sats": raw["fee"],
            "inputs": len(raw["vin"]), "outputs": len(raw["vout"]), "coinjoin": False, "confirmed": True,
            "amount_sats": paid, "fee_sats": raw["fee"], "counterparties": len(raw["vout"])}


def old_top_outputs(raw: dict) -> list[dict]:
    top = sorted(raw["vout"], key=lambda v: -v["value"])[:5]
    return [{"address": v.get("scriptpubkey_address", ""), "value_sats": v["value"]} for v in top]


def old_mempool_details(raw: dict) -> dict:
    """A mempool_whale event as mempool_services.py stored it before."""
    vsize = raw["weight"] / 4
    return {"fee_sats": raw["fee"], "vsize": vsize, "fee_rate": round(raw["fee"] / vsize, 4), "urgency": 0.3,
            "urgency_band": "medium", "value_sats": 15_000_000_000, "full_tx": True, "whales": [], "labels": [],
            "inputs": len(raw["vin"]), "outputs": len(raw["vout"]), "top_outputs": old_top_outputs(raw)}


def test_old_details_keys_are_renamed_and_read_and_the_migration_reverses():
    transfer_raw = recorded.exposed("simple-legacy-p2pkh.json")
    sender = transfer_raw["vin"][0]["prevout"]["scriptpubkey_address"]
    mempool_raw = recorded.frame("mainnet_tx_cached.json")
    whale = WhaleFactory(chain=Chain.BITCOIN, address=sender)
    transfer = WhaleEventFactory(chain=Chain.BITCOIN, whale=whale, type=EventType.LARGE_TRANSFER,
                                 tx_hash=transfer_raw["txid"], details=old_transfer_details(transfer_raw, sender))
    mempool_event = WhaleEventFactory(chain=Chain.BITCOIN, whale=None, type=EventType.MEMPOOL_WHALE,
                                      tx_hash=mempool_raw["txid"], details=old_mempool_details(mempool_raw))
    ethereum = WhaleEventFactory(details={"fee_rate": 7, "value_sats": 1})  # not Bitcoin: never touched
    row = MempoolTransaction.objects.create(
        tx_hash=mempool_raw["txid"], first_seen_at=T0, fee_sat=mempool_raw["fee"], vsize_vb=mempool_raw["weight"] / 4,
        fee_rate_sat_vb=1, value_sat=15_000_000_000, value_btc=150, urgency=0, urgency_band="low",
        details={"whales": [], "labels": [], "inputs": 1, "outputs": 2, "top_outputs": old_top_outputs(mempool_raw)})
    before = {e.pk: e.details for e in WhaleEvent.objects.all()} | {"row": row.details}

    migration.details_keys_forward(apps, None)

    paid = sum(v["value"] for v in transfer_raw["vout"])
    spent = sum(v["prevout"]["value"] for v in transfer_raw["vin"] if v["prevout"]["scriptpubkey_address"] == sender)
    transfer.refresh_from_db()
    assert transfer.details == {
        "net_sat": -spent, "received_sat": 0, "spent_sat": spent, "tx_fee_sat": transfer_raw["fee"],
        "inputs": len(transfer_raw["vin"]), "outputs": len(transfer_raw["vout"]), "coinjoin": False,
        "confirmed": True, "amount_sat": paid, "fee_sat": transfer_raw["fee"],
        "counterparties": len(transfer_raw["vout"])}
    assert event_directions([transfer]) == {transfer.pk: frozenset({"send"})}  # alerts read the new key
    top = sorted(mempool_raw["vout"], key=lambda v: -v["value"])[:5]
    new_top = [{"address": v.get("scriptpubkey_address", ""), "value_sat": v["value"]} for v in top]
    mempool_event.refresh_from_db()
    vsize = mempool_raw["weight"] / 4
    assert mempool_event.details == {
        "fee_sat": mempool_raw["fee"], "vsize_vb": vsize, "fee_rate_sat_vb": round(mempool_raw["fee"] / vsize, 4),
        "urgency": 0.3, "urgency_band": "medium", "value_sat": 15_000_000_000, "full_tx": True, "whales": [],
        "labels": [], "inputs": len(mempool_raw["vin"]), "outputs": len(mempool_raw["vout"]), "top_outputs": new_top}
    row.refresh_from_db()
    assert row.details["top_outputs"] == new_top
    ethereum.refresh_from_db()
    assert ethereum.details == {"fee_rate": 7, "value_sats": 1}

    after = {e.pk: e.details for e in WhaleEvent.objects.all()} | {"row": row.details}
    migration.details_keys_forward(apps, None)  # again: nothing left to rename
    row.refresh_from_db()
    assert {e.pk: e.details for e in WhaleEvent.objects.all()} | {"row": row.details} == after

    migration.details_keys_backward(apps, None)
    row.refresh_from_db()
    assert {e.pk: e.details for e in WhaleEvent.objects.all()} | {"row": row.details} == before


def test_a_key_already_under_its_new_name_is_kept():
    assert migration.renamed({"fee_sats": 1, "fee_sat": 2}, migration.KEYS, migration.OUTPUT_KEYS) == {
        "fee_sats": 1, "fee_sat": 2}
    assert migration.renamed(["not", "a", "dict"], migration.KEYS, migration.OUTPUT_KEYS) == ["not", "a", "dict"]
