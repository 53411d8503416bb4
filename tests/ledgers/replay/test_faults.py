"""Fault injection (429, 5xx, delay, truncated JSON) and request stats, over real loopback HTTP."""

import json
import time

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ledgers.replay.server import ReplayServer
from tests.ledgers.replay.conftest import rpc

BLOCK_NUMBER = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber", "params": []}


def _post(url, body=BLOCK_NUMBER):
    return requests.post(url, json=body, timeout=10)


def test_429_then_success(replay):
    replay.faults.add("/ethereum", status=429, times=1)
    first, second = _post(replay.eth_url), _post(replay.eth_url)
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "0"
    assert first.json() == {"error": "injected fault", "status": 429}
    assert second.status_code == 200
    assert second.json()["result"] == "0x12889af"


def test_a_retrying_client_gets_through_two_429s(replay):
    replay.faults.add("/ethereum", status=429, times=2)
    session = requests.Session()
    retry = Retry(total=3, status_forcelist=[429], allowed_methods=None, backoff_factor=0)
    session.mount("http://", HTTPAdapter(max_retries=retry))
    response = session.post(replay.eth_url, json=BLOCK_NUMBER, timeout=10)
    assert response.status_code == 200
    assert response.json()["result"] == "0x12889af"
    assert replay.faults.active() == []


def test_500_hits_exactly_times_requests(replay):
    replay.faults.add("/ethereum", status=500, times=3)
    assert [_post(replay.eth_url).status_code for _ in range(4)] == [500, 500, 500, 200]


def test_a_fault_without_times_lasts_until_cleared(replay):
    replay.faults.add("/coingecko", status=503)
    url = replay.coingecko_url + "/simple/price?ids=bitcoin,dai,binancecoin&vs_currencies=eth"
    assert [requests.get(url, timeout=10).status_code for _ in range(3)] == [503, 503, 503]
    assert _post(replay.eth_url).status_code == 200  # another path prefix is untouched
    replay.faults.clear()
    assert requests.get(url, timeout=10).status_code == 200


def test_delay_slows_the_real_answer(replay):
    replay.faults.add("/ethereum", delay_s=0.4, times=1)
    started = time.monotonic()
    response = _post(replay.eth_url)
    elapsed = time.monotonic() - started
    assert response.json()["result"] == "0x12889af"
    assert elapsed >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        replay.faults.add("/ethereum", delay_s=0.5, times=1)
        requests.post(replay.eth_url, json=BLOCK_NUMBER, timeout=0.1)


def test_malformed_is_a_truncated_json_body_with_200(replay):
    replay.faults.add("/ethereum", malformed=True, times=1)
    response = _post(replay.eth_url)
    assert response.status_code == 200
    real = '{"jsonrpc":"2.0","id":1,"result":"0x12889af"}'
    assert response.text == real[: len(real) // 2] == '{"jsonrpc":"2.0","id":'
    with pytest.raises(json.JSONDecodeError):
        response.json()
    assert _post(replay.eth_url).json()["result"] == "0x12889af"


def test_method_restricted_fault_hits_only_that_rpc_method(replay):
    replay.faults.add("/ethereum", status=500, method="eth_getBlockReceipts", times=1)
    assert _post(replay.eth_url).status_code == 200
    receipts = {"jsonrpc": "2.0", "id": 2, "method": "eth_getBlockReceipts", "params": ["0x12889ae"]}
    assert _post(replay.eth_url, receipts).status_code == 500
    assert len(_post(replay.eth_url, receipts).json()["result"]) == 171


def test_faults_apply_in_the_order_added(replay):
    replay.faults.add("/ethereum", status=429, times=1)
    replay.faults.add("/ethereum", status=502, times=1)
    assert [_post(replay.eth_url).status_code for _ in range(3)] == [429, 502, 200]


def test_http_control_endpoint_adds_lists_and_clears_faults(replay):
    specs = [{"path_prefix": "/ethereum", "status": 429, "times": 2},
             {"path_prefix": "/coingecko", "malformed": True, "method": None}]
    added = requests.post(replay.url + "/_replay/faults", json=specs, timeout=10)
    assert added.json() == {"added": 2}
    listed = requests.get(replay.url + "/_replay/faults", timeout=10).json()
    assert [(f["path_prefix"], f["status"], f["remaining"]) for f in listed] == [
        ("/ethereum", 429, 2), ("/coingecko", None, None)]
    assert _post(replay.eth_url).status_code == 429
    assert requests.delete(replay.url + "/_replay/faults", timeout=10).json() == {"cleared": True}
    assert _post(replay.eth_url).status_code == 200
    assert replay.faults.active() == []


@pytest.mark.parametrize(
    "specs",
    [
        [{"path_prefix": "/ethereum", "status": 42}],
        [{"path_prefix": "/ethereum"}],  # does nothing
        [{"path_prefix": "/ethereum", "status": 500, "times": 0}],
        [{"path_prefix": "/ethereum", "status": 500, "colour": "red"}],
        [{"status": 500}],
        "not a list",
        [{"path_prefix": "/ethereum", "status": 500}, {"path_prefix": "/x", "delay_s": -1}],
    ],
)
def test_bad_fault_specs_are_400_and_add_nothing(replay, specs):
    response = requests.post(replay.url + "/_replay/faults", json=specs, timeout=10)
    assert response.status_code == 400
    assert "error" in response.json()
    assert replay.faults.active() == []


def test_faults_add_rejects_bad_arguments_in_process(replay):
    with pytest.raises(ValueError, match="status"):
        replay.faults.add("/ethereum", status=700)
    with pytest.raises(ValueError, match="path_prefix"):
        replay.faults.add("ethereum", status=500)


def test_stats_count_requests_per_path_and_rpc_method(replay_data_dir):
    with ReplayServer(replay_data_dir) as server:
        batch = [BLOCK_NUMBER, {**BLOCK_NUMBER, "id": 2}, {"jsonrpc": "2.0", "id": 3, "method": "eth_chainId"}]
        requests.post(server.eth_url, json=batch, timeout=10)
        rpc(server.eth_url, "eth_getBlockReceipts", ["0x12889ae"])
        server.faults.add("/ethereum", status=429, times=1)
        _post(server.eth_url)  # faulted requests are counted too
        requests.get(server.coingecko_url + "/coins/dogecoin", timeout=10)
        requests.get(server.url + "/_replay/info", timeout=10)  # control requests are not counted
        expected = {
            "paths": {"/ethereum": 3, "/coingecko/api/v3/coins/dogecoin": 1},
            "rpc_methods": {"eth_blockNumber": 3, "eth_chainId": 1, "eth_getBlockReceipts": 1},
        }
        assert server.stats.snapshot() == expected
        assert requests.get(server.url + "/_replay/stats", timeout=10).json() == expected
        assert requests.delete(server.url + "/_replay/stats", timeout=10).json() == {"reset": True}
        assert server.stats.snapshot() == {"paths": {}, "rpc_methods": {}}
