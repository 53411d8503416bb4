"""Hyperliquid Info API (POST /hyperliquid/info) answered by the replay node, compared with the raw cassettes."""

import json
import time
from pathlib import Path

import pytest
import requests
import yaml
from django.conf import settings

from ledgers.replay.hyperliquid import HyperliquidIndex, HyperliquidInfo, info_request_weight

SDK = "hyperliquid-python-sdk-cassettes"
ROTKI = "rotki-test-caching-cassettes/hyperliquid"
FILLS_USER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
LEDGER_USER = "0x2ba553d9f990a3b66b03b2dc0d030dfc1c061036"
STATE_USER = "0x5e9ee1089755c3435139848e47e6635505d5a13a"
UNKNOWN_USER = "0x000000000000000000000000000000000000dead"


def _recorded() -> list[tuple[str, dict, object]]:
    """(id, request body, response JSON) of every recorded POST .../info, read here with yaml.safe_load."""
    found = []
    for folder in (SDK, ROTKI):
        for path in sorted((Path(settings.REPLAY_DATA_DIR) / folder).glob("*.yaml")):
            cassette = yaml.safe_load(path.read_text())
            for n, item in enumerate(cassette["interactions"]):
                if item["request"]["uri"].endswith("/info"):
                    found.append((f"{path.stem}#{n}", json.loads(item["request"]["body"]),
                                  json.loads(item["response"]["body"]["string"])))
    return found


RECORDED = _recorded()


def _answer(name: str, request_type: str) -> object:
    return next(answer for id_, body, answer in RECORDED if id_.startswith(name + "#") and body["type"] == request_type)


def _post(replay, body) -> requests.Response:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return requests.post(replay.hyperliquid_url + "/info", data=data, timeout=10,
                         headers={"Content-Type": "application/json"})


def test_url_is_the_api_base(replay):
    assert replay.hyperliquid_url == replay.url + "/hyperliquid"


def test_every_cassette_interaction_was_indexed():
    assert len(RECORDED) == 46
    index = HyperliquidIndex.load(settings.REPLAY_DATA_DIR)
    assert index.interactions == len(RECORDED)


@pytest.mark.parametrize(("body", "expected"), [(b, e) for _, b, e in RECORDED], ids=[i for i, _, _ in RECORDED])
def test_every_recorded_request_gets_the_recorded_answer(replay, body, expected):
    response = _post(replay, body)
    assert response.status_code == 200
    if body.get("type") == "allMids":  # the venue simulator adds its spot pairs' mids (exact values:
        answer = response.json()          # test_hyperliquid_exchange.py::test_spot_asset_ids_and_mids_...)
        assert {coin: answer[coin] for coin in expected} == expected
        assert all(coin.startswith("@") or "/" in coin for coin in set(answer) - set(expected))
        return
    assert response.json() == expected


def test_user_is_matched_case_insensitively(replay):
    expected = _answer("test_get_user_state", "clearinghouseState")
    assert _post(replay, {"type": "clearinghouseState", "user": STATE_USER.upper().replace("0X", "0x")}).json() \
        == expected
    rotki = "0x4E60C2E7181EDFc5471C0cBC8D485706d1b35686"
    recorded = _answer("test_hyperliquid__arbitrum_one_accounts0-False", "clearinghouseState")
    assert _post(replay, {"type": "clearinghouseState", "user": rotki.lower()}).json() == recorded


def test_fills_by_time_are_filtered_by_the_window_in_recorded_order(replay):
    fills = _answer("test_get_user_fills", "userFills")
    times = sorted({f["time"] for f in fills})
    start, end = times[50], times[150]
    expected = [f for f in fills if start <= f["time"] <= end]  # DERIVED, like the replay
    assert 0 < len(expected) < len(fills)
    body = {"type": "userFillsByTime", "user": FILLS_USER, "startTime": start, "endTime": end}
    assert _post(replay, body).json() == expected
    # No endTime: no upper bound.
    open_ended = _post(replay, {"type": "userFillsByTime", "user": FILLS_USER, "startTime": start}).json()
    assert open_ended == [f for f in fills if f["time"] >= start]
    # A window after the last fill, and one before the first.
    assert _post(replay, {**body, "startTime": times[-1] + 1, "endTime": times[-1] + 10**9}).json() == []
    assert _post(replay, {**body, "startTime": 0, "endTime": times[0] - 1}).json() == []


def test_user_funding_and_ledger_updates_are_filtered_by_time(replay):
    funding = _answer("test_user_funding_history_without_end_time", "userFunding")
    start, end = funding[100]["time"], funding[120]["time"]
    body = {"type": "userFunding", "user": FILLS_USER, "startTime": start, "endTime": end}
    assert _post(replay, body).json() == [f for f in funding if start <= f["time"] <= end]
    ledger = _answer("test_user_non_funding_ledger_updates_without_end_time", "userNonFundingLedgerUpdates")
    body = {"type": "userNonFundingLedgerUpdates", "user": LEDGER_USER, "startTime": ledger[1]["time"]}
    assert _post(replay, body).json() == ledger[1:]
    assert _post(replay, {**body, "endTime": ledger[2]["time"]}).json() == ledger[1:3]


def test_user_fills_of_a_user_recorded_only_by_time_are_the_time_recordings(replay_data_dir):
    # DERIVED in process: the userFills recording of the fills user is dropped, leaving userFillsByTime.
    index = HyperliquidIndex.load(replay_data_dir)
    del index.by_key[("userFills", FILLS_USER)]
    index.by_body = {k: v for k, v in index.by_body.items() if '"type":"userFills"' not in k}
    answer = HyperliquidInfo(index).answer(json.dumps({"type": "userFills", "user": FILLS_USER}).encode())
    assert answer.status == 200
    assert json.loads(answer.body) == _answer("test_get_user_fills_by_time", "userFillsByTime")
    assert answer.items == 500


@pytest.mark.parametrize("request_type", ["userFills", "openOrders", "historicalOrders"])
def test_unknown_user_gets_an_empty_list_for_list_requests(replay, request_type):
    response = _post(replay, {"type": request_type, "user": UNKNOWN_USER})
    assert (response.status_code, response.json()) == (200, [])


@pytest.mark.parametrize("request_type", ["userFillsByTime", "userFunding", "userNonFundingLedgerUpdates"])
def test_unknown_user_gets_an_empty_list_for_time_requests(replay, request_type):
    response = _post(replay, {"type": request_type, "user": UNKNOWN_USER, "startTime": 0})
    assert (response.status_code, response.json()) == (200, [])


def test_unknown_user_state_is_422_not_an_invented_empty_account(replay):
    response = _post(replay, {"type": "clearinghouseState", "user": UNKNOWN_USER})
    assert (response.status_code, response.json()) == (422, {"error": "no recording for this user"})
    response = _post(replay, {"type": "l2Book", "coin": "NOPE-NOT-RECORDED"})
    assert (response.status_code, response.json()) == (422, {"error": "no recording for this request"})


def test_another_time_window_of_a_recorded_coin_gets_its_first_recorded_window(replay):
    # fundingHistory is not filtered: the first BTC recording (sorted file names) is the answer.
    answer = _post(replay, {"type": "fundingHistory", "coin": "BTC", "startTime": 1}).json()
    assert answer == _answer("test_get_funding_history__1684811870000", "fundingHistory")
    assert len(answer) == 34


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"user": "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"}', b'{"type": 7}',
     b'{"type": "clearinghouseState", "user": 5}', b'{"type": "userFillsByTime", "user": "0xab"}',
     b'{"type": "userFunding", "user": "0xab", "startTime": "yesterday"}', b'{"type": "userFills"}'],
)
def test_malformed_bodies_are_422_with_hyperliquids_message(replay, body):
    response = _post(replay, body)
    assert response.status_code == 422
    assert response.json()["error"].startswith("Failed to deserialize the JSON body")


def test_info_needs_post_and_other_paths_are_404(replay):
    assert requests.get(replay.hyperliquid_url + "/info", timeout=10).status_code == 405
    assert requests.post(replay.hyperliquid_url + "/other", json={}, timeout=10).status_code == 404
    # /exchange is the simulated venue (test_hyperliquid_exchange.py); an empty body cannot be deserialized
    exchange = requests.post(replay.hyperliquid_url + "/exchange", json={}, timeout=10)
    assert (exchange.status_code, exchange.json()["error"].split(":")[0]) == (
        422, "Failed to deserialize the JSON body into the target type")
    assert requests.get(replay.hyperliquid_url + "/exchange", timeout=10).status_code == 405


def test_injected_429_then_the_real_answer_and_stats_count_the_path(replay):
    before = replay.stats.snapshot()["paths"].get("/hyperliquid/info", 0)
    replay.faults.add("/hyperliquid/info", status=429, times=1)
    body = {"type": "meta"}  # answered from the recordings (allMids gains the spot mids)
    first, second = _post(replay, body), _post(replay, body)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "0")
    assert (second.status_code, second.json()) == (200, _answer("test_get_info", "meta"))
    assert replay.stats.snapshot()["paths"]["/hyperliquid/info"] == before + 2


def test_a_fault_can_target_one_info_request_type(replay):
    replay.faults.add("/hyperliquid/info", status=500, method="userFills", times=1)
    assert _post(replay, {"type": "allMids"}).status_code == 200
    assert _post(replay, {"type": "userFills", "user": FILLS_USER}).status_code == 500
    assert _post(replay, {"type": "userFills", "user": FILLS_USER}).status_code == 200


def test_request_log_and_weight_in_window(replay):
    replay.hyperliquid.reset()
    replay.faults.add("/hyperliquid/info", status=429, times=1)
    assert _post(replay, {"type": "meta"}).status_code == 429  # refused: not answered, not logged
    _post(replay, {"type": "clearinghouseState", "user": STATE_USER})  # 2
    _post(replay, {"type": "userRole", "user": "0x31ca8395cf837de08b24da3f660e77761dfb974b"})  # 60
    _post(replay, {"type": "userFills", "user": FILLS_USER})  # 20 + 500 // 20
    _post(replay, {"type": "meta"})  # 20
    candles = {"type": "candleSnapshot", "req": {"coin": "kPEPE", "interval": "1h", "startTime": 1684702007000,
                                                 "endTime": 1684784807000}}
    _post(replay, candles)  # 20 + 24 // 20
    log = replay.hyperliquid.requests
    assert [(t, u, n) for _, t, u, n in log] == [
        ("clearinghouseState", STATE_USER, 0), ("userRole", "0x31ca8395cf837de08b24da3f660e77761dfb974b", 0),
        ("userFills", FILLS_USER, 500), ("meta", None, 0), ("candleSnapshot", None, 24)]
    assert replay.hyperliquid.weight_in_window() == 2 + 60 + (20 + 25) + 20 + (20 + 1)
    time.sleep(0.3)
    _post(replay, {"type": "allMids"})
    assert replay.hyperliquid.weight_in_window(seconds=0.25) == 2
    replay.hyperliquid.reset()
    assert replay.hyperliquid.requests == []
    assert replay.hyperliquid.weight_in_window() == 0


def test_published_weights():
    assert [info_request_weight(t) for t in ("clearinghouseState", "spotClearinghouseState", "l2Book", "allMids",
                                             "orderStatus", "userRole", "meta", "spotMeta", "metaAndAssetCtxs",
                                             "openOrders", "portfolio", None)] == [2, 2, 2, 2, 2, 60] + [20] * 6
    assert info_request_weight("userFillsByTime", 19) == 20
    assert info_request_weight("userFillsByTime", 2000) == 120
    assert info_request_weight("userNonFundingLedgerUpdates", 40) == 22
    assert info_request_weight("openOrders", 196) == 20  # not item-weighted


def test_info_and_summary_list_hyperliquid_and_arbitrum(replay):
    info = requests.get(replay.url + "/_replay/info", timeout=10).json()
    assert info["hyperliquid_url"] == replay.hyperliquid_url
    assert info["hyperliquid_recordings"] == len(RECORDED)
    assert info["hyperliquid_users"] == len({b["user"].lower() for _, b, _ in RECORDED if b.get("user")})
    assert info["arbitrum_url"] == replay.arbitrum_url
