"""``/api/v1/glass/bitcoin/mempool/...``: the scorecard and the list of mempool whales."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from ledgers.glass.bitcoin.mempool import WhaleSeen, urgency_band, urgency_score
from ledgers.glass.bitcoin.mempool_services import mempool_confirmed, mempool_replaced, mempool_whale_record

pytestmark = pytest.mark.django_db
API = "/api/v1/glass/bitcoin/mempool"


def record(txid: str, fee: int, first_seen: datetime) -> None:
    rate = fee / 200.0
    mempool_whale_record(seen=WhaleSeen(txid=txid, fee_sats=fee, vsize=200.0, value_sats=150 * 10**8,
                                        fee_rate=rate, urgency=urgency_score(rate), band=urgency_band(rate),
                                        first_seen=first_seen), tx=None)


@pytest.fixture
def whales():
    now = timezone.now().replace(microsecond=0)
    record("a" * 64, 400, now - timedelta(days=2))      # 2 sat/vB: low
    record("b" * 64, 4000, now - timedelta(days=2))     # 20 sat/vB: medium
    record("c" * 64, 20000, now - timedelta(days=20))   # 100 sat/vB: high
    mempool_confirmed(txid="a" * 64, block_height=900000, block_hash="0" * 64,
                      block_time=now - timedelta(days=2) + timedelta(seconds=600))
    mempool_replaced(old_txid="b" * 64, new_txid="d" * 64, new_fee_sats=6000)
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
    assert body["total"] == 3 and [i["txid"][0] for i in body["items"]] == ["b", "a", "c"]
    replaced = api_client.get(f"{API}/transactions", {"status": "replaced"}).json()
    [item] = replaced["items"]
    assert (item["txid"], item["replaced_by_txid"], item["fee_bump_sats"]) == ("b" * 64, "d" * 64, 2000)
    assert item["explorer_url"] == "https://mempool.space/tx/" + "b" * 64
    assert item["value_btc"] == "150.000000000000000000000000000000" and item["urgency_band"] == "medium"
    high = api_client.get(f"{API}/transactions", {"band": "high", "limit": 1}).json()
    assert [i["txid"] for i in high["items"]] == ["c" * 64]
    assert api_client.get(f"{API}/transactions", {"status": "lost"}).status_code == 400


def test_schema_documents_the_bitcoin_endpoints(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    assert "/api/v1/glass/bitcoin/mempool/scorecard" in schema["paths"]
    assert "/api/v1/glass/bitcoin/mempool/transactions" in schema["paths"]
