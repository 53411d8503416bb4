"""``/api/v1/glass/bitcoin/mempool/...``: the scorecard and the list of mempool whales."""

import json
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.utils import timezone

from ledgers.glass.bitcoin.mempool import MempoolWatcher, RecentTxHashes, WhaleSeen, urgency_band, urgency_score
from ledgers.glass.bitcoin.mempool_services import mempool_confirmed, mempool_replaced, mempool_whale_record
from tests.ledgers.glass.bitcoin import recorded

pytestmark = pytest.mark.django_db
API = "/api/v1/glass/bitcoin/mempool"


def record(tx_hash: str, fee: int, first_seen: datetime) -> None:
    rate = fee / 200.0
    mempool_whale_record(seen=WhaleSeen(tx_hash=tx_hash, fee_sat=fee, vsize_vb=200.0, value_sat=150 * 10**8,
                                        fee_rate_sat_vb=rate, urgency=urgency_score(rate), band=urgency_band(rate),
                                        first_seen=first_seen), tx=None)


@pytest.fixture
def whales():
    now = timezone.now().replace(microsecond=0)
    record("a" * 64, 400, now - timedelta(days=2))      # 2 sat/vB: low
    record("b" * 64, 4000, now - timedelta(days=2))     # 20 sat/vB: medium
    record("c" * 64, 20000, now - timedelta(days=20))   # 100 sat/vB: high
    mempool_confirmed(tx_hash="a" * 64, block_number=900000, block_hash="0" * 64,
                      block_time=now - timedelta(days=2) + timedelta(seconds=600))
    mempool_replaced(old_tx_hash="b" * 64, new_tx_hash="d" * 64, new_fee_sat=6000)
    return now


def test_scorecard_by_band(api_client, whales):
    response = api_client.get(f"{API}/scorecard")
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 3 and body["since"] is None
    low, medium, high = body["bands"]
    assert (low["band"], low["confirmed"], low["confirmed_percent"], low["median_time_to_confirm_s"]) == (
        "low", 1, "100.00", 600.0)
    assert (medium["replaced"], medium["replaced_percent"], medium["median_time_to_confirm_s"]) == (1, "100.00", None)
    assert (high["pending"], high["resolved"], high["confirmed_percent"]) == (1, 0, None)
    assert body["overall"]["resolved"] == 2 and body["overall"]["confirmed_percent"] == "50.00"


def test_scorecard_window_in_days(api_client, whales):
    body = api_client.get(f"{API}/scorecard", {"days": 7}).json()
    assert body["total"] == 2 and [b["total"] for b in body["bands"]] == [1, 1, 0]


@pytest.mark.parametrize("days", ["0", "x", "-3", "99999"])
def test_scorecard_rejects_bad_days(api_client, days):
    response = api_client.get(f"{API}/scorecard", {"days": days})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_parameter" and "days" in response.json()["detail"]


def test_transaction_list_filters_and_shape(api_client, whales):
    body = api_client.get(f"{API}/transactions").json()
    # newest first seen first; a and b share their first-seen time, then the newer row first
    assert body["total"] == 3 and [i["tx_hash"][0] for i in body["items"]] == ["b", "a", "c"]
    replaced = api_client.get(f"{API}/transactions", {"status": "replaced"}).json()
    [item] = replaced["items"]
    assert (item["tx_hash"], item["replaced_by_tx_hash"], item["fee_bump_sat"]) == ("b" * 64, "d" * 64, 2000)
    assert item["explorer_url"] == "https://mempool.space/tx/" + "b" * 64
    assert item["value_btc"] == "150.000000000000000000000000000000" and item["urgency_band"] == "medium"
    high = api_client.get(f"{API}/transactions", {"band": "high", "limit": 1}).json()
    assert [i["tx_hash"] for i in high["items"]] == ["c" * 64]
    assert api_client.get(f"{API}/transactions", {"status": "lost"}).status_code == 400


def test_recorded_mempool_transactions_are_served_with_their_recorded_fee_size_and_rate(api_client):
    """The WebSocket init payload mempool.space sent (mainnet_mempoolInfo.json), fed to the watcher and
    stored: the API serves each transaction's tx_hash, fee_sat, vsize_vb, fee_rate_sat_vb and value_sat
    as computed here from the raw ``{txid, fee, vsize, value, rate}`` items."""
    frame = recorded.frame("mainnet_mempoolInfo.json")
    minimum = 1_000_000  # 0.01 BTC: a low bar so the recorded (small) transactions include whales
    watcher = MempoolWatcher(min_value_sat=minimum, recent=RecentTxHashes(100))
    for seen in watcher.feed(json.dumps(frame)):
        if isinstance(seen, WhaleSeen):
            mempool_whale_record(seen=seen, tx=None)
    raws = [t for t in frame["transactions"] if t["value"] >= minimum]
    assert len(raws) == 2
    items = {i["tx_hash"]: i for i in api_client.get(f"{API}/transactions").json()["items"]}
    assert set(items) == {t["txid"] for t in raws}
    for raw in raws:
        vsize = Decimal(str(raw["vsize"]))  # JSON numbers as mempool.space wrote them (e.g. 208.25)
        rate = (Decimal(raw["fee"]) / vsize).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
        item = items[raw["txid"]]
        assert (item["tx_hash"], item["fee_sat"], item["vsize_vb"], item["fee_rate_sat_vb"], item["value_sat"]) == (
            raw["txid"], raw["fee"], str(vsize.quantize(Decimal("0.01"))), str(rate), raw["value"])
        assert abs(Decimal(item["fee_rate_sat_vb"]) - Decimal(str(raw["rate"]))) < Decimal("0.0001")  # their rate


def test_schema_documents_the_bitcoin_endpoints(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/glass/bitcoin/mempool/scorecard" in schema["paths"]
    assert "/api/v1/glass/bitcoin/mempool/transactions" in schema["paths"]
