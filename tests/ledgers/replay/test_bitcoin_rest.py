"""Esplora REST (/bitcoin/api) from the mempool.space recordings, over real loopback HTTP.

Expected values are computed here from the raw recording files, independently of the server's index.
"""

import json
from collections import Counter
from pathlib import Path

import pytest
import requests

from ledgers.replay.server import ReplayServer

GENESIS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
WHALE_RECEIVER = "18p3G8gQ3oKy4U9EqnWs7UZswdqAMhE3r8"  # gets 829.74 BTC in simple-legacy-p2pkh.json
BUSY_ADDRESS = "bc1qda5nalygwqrtl3a5pq3lzenv6uy9yjtkddg5a3"  # 46 confirmed txs in satoshi-genesis-txs.json
RBF_ADDRESS = "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj"  # the two unconfirmed RBF txs 242f3fff.. and b6a53d8a..
ESPLORA_KEYS = ["txid", "version", "locktime", "vin", "vout", "size", "weight", "sigops", "fee", "status"]
DIRS = ("bitcoin-mempool-space-am-i-exposed", "bitcoin-mempool-space-fixtures")


@pytest.fixture(scope="module")
def exposed(replay_data_dir) -> Path:
    return replay_data_dir / DIRS[0]


@pytest.fixture(scope="module")
def recorded_txs(replay_data_dir) -> list[tuple[Path, dict]]:
    """Every recorded Esplora-shaped tx object (raw, extra keys included) with its file, in recording order."""
    found = []
    for name in DIRS:
        for path in sorted((replay_data_dir / name).rglob("*.json")):
            doc = json.loads(path.read_text())
            for item in doc if isinstance(doc, list) else [doc]:
                if isinstance(item, dict) and {"txid", "vin", "vout"} <= set(item) and isinstance(
                        item.get("status"), dict):
                    found.append((path, item))
    return found


def _load(path: Path):
    return json.loads(path.read_text())


def _get(replay, path: str) -> requests.Response:
    return requests.get(replay.bitcoin_url + path, timeout=10)


def _esplora(raw: dict) -> dict:
    return {key: raw[key] for key in ESPLORA_KEYS if key in raw}


def _touches(tx: dict, address: str) -> bool:
    return any(v.get("scriptpubkey_address") == address for v in tx["vout"]) or any(
        (v.get("prevout") or {}).get("scriptpubkey_address") == address for v in tx["vin"])


def _stats(txs: list[dict], address: str) -> dict:
    stats = Counter(funded_txo_count=0, funded_txo_sum=0, spent_txo_count=0, spent_txo_sum=0, tx_count=0)
    for tx in txs:
        stats["tx_count"] += 1
        for vout in tx["vout"]:
            if vout.get("scriptpubkey_address") == address:
                stats["funded_txo_count"] += 1
                stats["funded_txo_sum"] += vout["value"]
        for vin in tx["vin"]:
            if (vin.get("prevout") or {}).get("scriptpubkey_address") == address:
                stats["spent_txo_count"] += 1
                stats["spent_txo_sum"] += vin["prevout"]["value"]
    return dict(stats)


def test_bitcoin_url_is_under_the_http_server(replay):
    assert replay.bitcoin_url == replay.url + "/bitcoin/api"


def test_every_recorded_tx_is_answered_with_exactly_esploras_keys(replay, recorded_txs):
    assert len(recorded_txs) == 72
    extended = 0
    for path, raw in recorded_txs:
        response = _get(replay, f"/tx/{raw['txid']}")
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == "application/json"
        body = response.json()
        assert body == _esplora(raw), path
        assert list(body) == [k for k in ESPLORA_KEYS if k in raw]  # Esplora's key order
        extended += set(raw) != set(body)
        status = _get(replay, f"/tx/{raw['txid']}/status")
        assert (status.status_code, status.json()) == (200, raw["status"])
    assert extended == 9  # 7 of backend-test-data and 2 frontend files are mempool's extended objects


def test_a_plain_esplora_recording_is_served_verbatim(replay, exposed):
    raw = _load(exposed / "simple-legacy-p2pkh.json")
    response = _get(replay, f"/tx/{raw['txid'].upper()}")  # Esplora accepts either case
    assert response.json() == raw
    assert _get(replay, f"/tx/{raw['txid']}/status").json() == {
        "confirmed": True, "block_height": 399_996,
        "block_hash": "00000000000000000389c017302436575e6480fa70ddd39f635267760540be0a", "block_time": 1456416472}


def test_a_recorded_confirmed_copy_wins_over_an_unconfirmed_one(tmp_path, replay_data_dir):
    raw = _load(replay_data_dir / DIRS[0] / "dust-attack-555.json")
    (tmp_path / DIRS[1]).mkdir()
    # DERIVED test data: the same real tx recorded once more as if seen in the mempool, in a file indexed after it
    (tmp_path / DIRS[1] / "seen-unconfirmed.json").write_text(json.dumps([{**raw, "status": {"confirmed": False}}]))
    (tmp_path / DIRS[0]).mkdir()
    (tmp_path / DIRS[0] / "dust-attack-555.json").write_text(json.dumps(raw))
    with ReplayServer(tmp_path) as server:
        assert _get(server, f"/tx/{raw['txid']}").json() == raw
        assert server.summary()["bitcoin_txs"] == 1


def test_genesis_address_stats_txs_and_utxo_are_the_recorded_files(replay, exposed):
    assert _get(replay, f"/address/{GENESIS}").json() == _load(exposed / "satoshi-genesis-address.json")
    assert _get(replay, f"/address/{GENESIS}/txs").json() == _load(exposed / "satoshi-genesis-txs.json")
    assert _get(replay, f"/address/{GENESIS}/utxo").json() == _load(exposed / "satoshi-genesis-utxos.json") == []
    assert _get(replay, f"/address/{GENESIS}/txs/mempool").json() == []


def test_genesis_chain_pages_follow_the_recorded_order_and_end_with_the_recording(replay, exposed):
    page = _load(exposed / "satoshi-genesis-txs.json")
    assert _get(replay, f"/address/{GENESIS}/txs/chain").json() == page[:25]
    seen, last = [], page[0]["txid"]
    while True:
        chunk = _get(replay, f"/address/{GENESIS}/txs/chain/{last}").json()
        if not chunk:
            break
        assert len(chunk) <= 25
        seen.extend(chunk)
        last = chunk[-1]["txid"]
    assert [t["txid"] for t in seen] == [t["txid"] for t in page[1:]]
    assert seen == page[1:]
    assert _get(replay, f"/address/{GENESIS}/txs/chain/{page[-1]['txid']}").json() == []  # the recording ends here


def test_derived_stats_of_the_whale_receiver_cover_the_recorded_txs(replay, recorded_txs):
    txs = [raw for _, raw in recorded_txs if _touches(raw, WHALE_RECEIVER)]
    expected_chain = _stats([t for t in txs if t["status"]["confirmed"]], WHALE_RECEIVER)
    expected_mempool = _stats([t for t in txs if not t["status"]["confirmed"]], WHALE_RECEIVER)
    assert expected_chain["funded_txo_sum"] == 82_974_043_165
    response = _get(replay, f"/address/{WHALE_RECEIVER}")
    assert response.status_code == 200
    assert response.json() == {"address": WHALE_RECEIVER, "chain_stats": expected_chain,
                               "mempool_stats": expected_mempool}
    assert expected_chain == {"funded_txo_count": 1, "funded_txo_sum": 82_974_043_165, "spent_txo_count": 0,
                              "spent_txo_sum": 0, "tx_count": 1}
    assert _get(replay, f"/address/{WHALE_RECEIVER}/txs").json() == [_esplora(t) for t in txs]
    (tx,) = txs
    utxos = [{"txid": tx["txid"], "vout": n, "status": tx["status"], "value": v["value"]}
             for n, v in enumerate(tx["vout"]) if v.get("scriptpubkey_address") == WHALE_RECEIVER]
    assert _get(replay, f"/address/{WHALE_RECEIVER}/utxo").json() == utxos


def test_derived_pages_are_newest_first_25_at_a_time(replay, recorded_txs):
    confirmed = [raw for _, raw in recorded_txs if _touches(raw, BUSY_ADDRESS) and raw["status"]["confirmed"]]
    order = sorted(range(len(confirmed)), key=lambda i: (-confirmed[i]["status"]["block_height"], i))
    expected = [_esplora(confirmed[i]) for i in order]
    assert len(expected) == 46
    assert _get(replay, f"/address/{BUSY_ADDRESS}/txs").json() == expected[:25]
    second = _get(replay, f"/address/{BUSY_ADDRESS}/txs/chain/{expected[24]['txid']}").json()
    assert second == expected[25:]
    assert _get(replay, f"/address/{BUSY_ADDRESS}/txs/chain/{expected[-1]['txid']}").json() == []
    stats = _get(replay, f"/address/{BUSY_ADDRESS}").json()
    assert stats["chain_stats"] == _stats(confirmed, BUSY_ADDRESS)
    assert stats["chain_stats"]["tx_count"] == 46


def test_unconfirmed_txs_of_an_address_are_mempool_stats_and_come_first(replay, recorded_txs):
    txs = [raw for _, raw in recorded_txs if _touches(raw, RBF_ADDRESS)]
    assert [t["status"] for t in txs] == [{"confirmed": False}] * 2
    stats = _get(replay, f"/address/{RBF_ADDRESS}").json()
    zero = {"funded_txo_count": 0, "funded_txo_sum": 0, "spent_txo_count": 0, "spent_txo_sum": 0, "tx_count": 0}
    assert stats == {"address": RBF_ADDRESS, "chain_stats": zero, "mempool_stats": _stats(txs, RBF_ADDRESS)}
    assert _get(replay, f"/address/{RBF_ADDRESS}/txs").json() == [_esplora(t) for t in txs]
    assert _get(replay, f"/address/{RBF_ADDRESS}/txs/mempool").json() == [_esplora(t) for t in txs]
    assert _get(replay, f"/address/{RBF_ADDRESS}/txs/chain").json() == []


def test_tip_height_is_the_highest_recorded_block(replay, recorded_txs, replay_data_dir):
    heights = [raw["status"]["block_height"] for _, raw in recorded_txs if raw["status"]["confirmed"]]
    frontend = replay_data_dir / DIRS[1] / "frontend-cypress-fixtures"
    heights += [b["height"] for b in _load(frontend / "mainnet_mempoolInfo.json")["blocks"]]
    heights += [b["height"] for b in _load(frontend / "details_rbf/tx01_ws_blocks_01.json")["blocks"]]
    heights.append(_load(frontend / "details_rbf/tx02_ws_block.json")["block"]["height"])
    response = _get(replay, "/blocks/tip/height")
    assert response.headers["Content-Type"] == "text/plain"
    assert response.text == str(max(heights)) == "938743"


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/tx/xyz", 400, "Invalid hex string"),
        ("/tx/" + "0" * 64, 404, "Transaction not found"),
        ("/tx/" + "0" * 64 + "/status", 404, "Transaction not found"),
        ("/address/xyz", 400, "Invalid Bitcoin address"),
        ("/address/1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa0", 400, "Invalid Bitcoin address"),  # 0 is not base58
        ("/address/0x00000000219ab540356cbb839cbe05303d7705fa", 400, "Invalid Bitcoin address"),
        ("/address/bc1Qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", 400, "Invalid Bitcoin address"),  # mixed case
        ("/address/bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", 404, "Address not in the recordings"),
        ("/address/3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy/txs", 404, "Address not in the recordings"),
        (f"/address/{GENESIS}/txs/chain/{'0' * 64}", 404, "Transaction not found"),
        (f"/address/{GENESIS}/txs/chain/xyz", 400, "Invalid hex string"),
        (f"/address/{BUSY_ADDRESS}/txs/chain/{'0' * 64}", 404, "Transaction not found"),
        ("/blocks/tip/hash", 404, "Not Found"),
    ],
)
def test_errors_are_plain_text_like_esplora(replay, path, status, text):
    response = _get(replay, path)
    assert (response.status_code, response.text) == (status, text)
    assert response.headers["Content-Type"] == "text/plain"


def test_only_get_is_answered(replay):
    response = requests.post(replay.bitcoin_url + "/blocks/tip/height", timeout=10)
    assert (response.status_code, response.text) == (405, "Method Not Allowed")


def test_http_faults_and_stats_apply_to_bitcoin_paths(replay, exposed):
    raw = _load(exposed / "whirlpool-coinjoin.json")
    path = f"/bitcoin/api/tx/{raw['txid']}"
    before = replay.stats.snapshot()["paths"].get(path, 0)
    replay.faults.add("/bitcoin/api/tx", status=429, times=1)
    first, second = _get(replay, f"/tx/{raw['txid']}"), _get(replay, f"/tx/{raw['txid']}")
    assert (first.status_code, first.headers["Retry-After"]) == (429, "0")
    assert (second.status_code, second.json()) == (200, raw)
    assert replay.stats.snapshot()["paths"][path] == before + 2
    replay.faults.add("/bitcoin/api/blocks", malformed=True, times=1)
    assert _get(replay, "/blocks/tip/height").text == "938"  # the body cut in half
    assert _get(replay, "/blocks/tip/height").text == "938743"


def test_summary_counts_the_bitcoin_recordings(replay, recorded_txs):
    summary = replay.summary()
    addresses = {v.get("scriptpubkey_address") for _, raw in recorded_txs for v in raw["vout"]}
    addresses |= {(v.get("prevout") or {}).get("scriptpubkey_address") for _, raw in recorded_txs for v in raw["vin"]}
    assert summary["bitcoin_txs"] == len({raw["txid"] for _, raw in recorded_txs}) == 72
    assert summary["bitcoin_addresses"] == len(addresses - {None, ""}) == 872  # one recorded output has ""
    assert summary["bitcoin_tip_height"] == 938_743
    assert summary["bitcoin_script_frames"] == 14
    info = requests.get(replay.url + "/_replay/info", timeout=10).json()
    assert (info["bitcoin_url"], info["bitcoin_ws_url"]) == (replay.bitcoin_url, replay.bitcoin_ws_url)


def test_a_data_dir_without_bitcoin_recordings_serves_nothing(tmp_path):
    with ReplayServer(tmp_path) as server:
        assert _get(server, "/blocks/tip/height").text == "0"
        assert _get(server, f"/address/{GENESIS}").status_code == 404
        assert server.mempool_stream.script_length == 0
