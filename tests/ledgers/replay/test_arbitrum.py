"""Arbitrum One JSON-RPC (POST /arbitrum) answered by the replay node, compared with the raw rotki cassette."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import yaml
from django.conf import settings

from tests.ledgers.replay.conftest import rpc

CASSETTE = "rotki-test-caching-cassettes/hyperliquid/test_hyperliquid__arbitrum_one_accounts0-False.yaml"
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
USDC = "0xaf88d065e77c8cc2239327c5edb3a432268e5831"
BRIDGE_TOPIC = "0x0000000000000000000000002df1c51e09aecf9cacb7bc98cb1742757f163df7"


def _recorded() -> dict[str, dict[str, dict]]:
    """{action: {key: result}} of the cassette's Etherscan proxy calls (key: tx hash or block tag), read here."""
    cassette = yaml.safe_load((Path(settings.REPLAY_DATA_DIR) / CASSETTE).read_text())
    found: dict[str, dict[str, dict]] = {}
    for item in cassette["interactions"]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(item["request"]["uri"]).query).items()}
        if query.get("module") != "proxy":
            continue
        result = json.loads(item["response"]["body"]["string"])["result"]
        found.setdefault(query["action"], {})[query.get("txhash") or query.get("tag")] = result
    return found


RECORDED = _recorded()
RECEIPTS = RECORDED["eth_getTransactionReceipt"]
BLOCKS = RECORDED["eth_getBlockByNumber"]
LOGS = sorted((log for r in RECEIPTS.values() for log in r["logs"]), key=lambda g: int(g["blockNumber"], 16))
FIRST, SECOND = (int(tag, 16) for tag in sorted(BLOCKS, key=lambda t: int(t, 16)))


def _logs(replay, **criteria) -> dict:
    return rpc(replay.arbitrum_url, "eth_getLogs", [criteria])


def test_the_cassette_holds_two_deposits_in_two_blocks():
    assert (FIRST, SECOND) == (311_103_061, 311_535_537)
    assert len(RECEIPTS) == 2
    assert len(LOGS) == 2


def test_chain_id_and_net_version_are_arbitrum_one(replay):
    assert rpc(replay.arbitrum_url, "eth_chainId") == {"jsonrpc": "2.0", "id": 1, "result": "0xa4b1"}
    assert rpc(replay.arbitrum_url, "net_version")["result"] == "42161"
    assert rpc(replay.eth_url, "eth_chainId")["result"] == "0x1"  # Ethereum is untouched


def test_block_number_is_the_highest_recorded_block_and_can_be_overridden(replay):
    assert rpc(replay.arbitrum_url, "eth_blockNumber")["result"] == hex(SECOND)
    replay.arbitrum.head = SECOND + 100
    try:
        assert rpc(replay.arbitrum_url, "eth_blockNumber")["result"] == hex(SECOND + 100)
    finally:
        replay.arbitrum.head = None
    assert rpc(replay.arbitrum_url, "eth_blockNumber")["result"] == hex(SECOND)


@pytest.mark.parametrize("tag", sorted(BLOCKS))
def test_get_block_by_number_equals_the_recording(replay, tag):
    raw = BLOCKS[tag]
    assert rpc(replay.arbitrum_url, "eth_getBlockByNumber", [tag, True])["result"] == raw
    hashes = rpc(replay.arbitrum_url, "eth_getBlockByNumber", [tag, False])["result"]
    assert hashes == {**raw, "transactions": [tx["hash"] for tx in raw["transactions"]]}
    assert rpc(replay.arbitrum_url, "eth_getBlockByHash", [raw["hash"], True])["result"] == raw


def test_unrecorded_block_transaction_and_receipt_are_null(replay):
    assert rpc(replay.arbitrum_url, "eth_getBlockByNumber", [hex(FIRST + 1), True])["result"] is None
    missing = "0x" + "ab" * 32
    assert rpc(replay.arbitrum_url, "eth_getTransactionByHash", [missing])["result"] is None
    assert rpc(replay.arbitrum_url, "eth_getTransactionReceipt", [missing])["result"] is None


@pytest.mark.parametrize("tx_hash", sorted(RECEIPTS))
def test_transaction_and_receipt_equal_the_recording(replay, tx_hash):
    assert rpc(replay.arbitrum_url, "eth_getTransactionByHash", [tx_hash])["result"] == \
        RECORDED["eth_getTransactionByHash"][tx_hash]
    assert rpc(replay.arbitrum_url, "eth_getTransactionReceipt", [tx_hash.upper().replace("0X", "0x")])["result"] \
        == RECEIPTS[tx_hash]


def test_get_logs_over_everything_is_every_recorded_receipt_log(replay):
    assert _logs(replay, fromBlock="earliest", toBlock="latest")["result"] == LOGS
    assert _logs(replay, fromBlock=hex(FIRST))["result"] == LOGS  # toBlock defaults to the head


def test_get_logs_by_block_range(replay):
    assert _logs(replay, fromBlock=hex(FIRST), toBlock=hex(FIRST))["result"] == [LOGS[0]]
    assert _logs(replay, fromBlock=hex(FIRST + 1), toBlock=hex(SECOND))["result"] == [LOGS[1]]
    # A range whose receipts were not recorded: the replay only knows the recorded receipts' logs.
    assert _logs(replay, fromBlock=hex(FIRST + 1), toBlock=hex(SECOND - 1))["result"] == []
    assert _logs(replay, blockHash=BLOCKS[hex(SECOND)]["hash"])["result"] == [LOGS[1]]


def test_get_logs_by_address(replay):
    assert _logs(replay, fromBlock="0x0", address=USDC)["result"] == LOGS
    assert _logs(replay, fromBlock="0x0", address=USDC.upper().replace("0X", "0x"))["result"] == LOGS
    assert _logs(replay, fromBlock="0x0", address=["0x" + "11" * 20, USDC])["result"] == LOGS
    assert _logs(replay, fromBlock="0x0", address="0x" + "11" * 20)["result"] == []


def test_get_logs_by_topics_with_wildcards_and_alternatives(replay):
    first_sender, second_sender = LOGS[0]["topics"][1], LOGS[1]["topics"][1]
    assert _logs(replay, fromBlock="0x0", topics=[TRANSFER, None, BRIDGE_TOPIC])["result"] == LOGS
    assert _logs(replay, fromBlock="0x0", topics=[None, first_sender])["result"] == [LOGS[0]]
    assert _logs(replay, fromBlock="0x0", topics=[TRANSFER, [second_sender, "0x" + "00" * 32]])["result"] == [LOGS[1]]
    assert _logs(replay, fromBlock="0x0", topics=[[TRANSFER, None]])["result"] == LOGS  # a null in an OR-list
    assert _logs(replay, fromBlock="0x0", topics=[[], [first_sender, second_sender]])["result"] == LOGS
    assert _logs(replay, fromBlock="0x0", topics=[None, None, None, None])["result"] == []  # logs have 3 topics
    assert _logs(replay, fromBlock="0x0", topics=["0x" + "00" * 32])["result"] == []


@pytest.mark.parametrize(
    ("criteria", "code"),
    [
        ({"fromBlock": hex(SECOND), "toBlock": hex(FIRST)}, -32000),
        ({"fromBlock": "0x0", "address": "0x1234"}, -32602),
        ({"fromBlock": "0x0", "topics": ["0x12"]}, -32602),
        ({"fromBlock": "0x0", "topics": [None] * 5}, -32000),
        ({"fromBlock": "yesterday"}, -32602),
        ({"blockHash": "0x" + "ab" * 32}, -32000),
        ({"blockHash": "0x" + "ab" * 32, "fromBlock": "0x0"}, -32602),
    ],
)
def test_get_logs_errors_are_geth_style(replay, criteria, code):
    answer = _logs(replay, **criteria)
    assert "result" not in answer
    assert answer["error"]["code"] == code


def test_batch_answers_each_call_in_order(replay):
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_getLogs",
         "params": [{"fromBlock": hex(FIRST), "toBlock": hex(FIRST)}]},
        {"jsonrpc": "2.0", "id": 3, "method": "eth_sendRawTransaction", "params": ["0x00"]},
        {"jsonrpc": "2.0", "id": 4, "method": "eth_blockNumber"},
    ]
    answers = requests.post(replay.arbitrum_url, json=batch, timeout=10).json()
    assert [a["id"] for a in answers] == [1, 2, 3, 4]
    assert answers[0]["result"] == "0xa4b1"
    assert answers[1]["result"] == [LOGS[0]]
    assert answers[2]["error"] == {"code": -32601,
                                   "message": "the method eth_sendRawTransaction does not exist/is not available"}
    assert answers[3]["result"] == hex(SECOND)


def test_unknown_method_parse_error_and_get_are_errors(replay):
    assert rpc(replay.arbitrum_url, "debug_traceTransaction", ["0x" + "ab" * 32])["error"]["code"] == -32601
    response = requests.post(replay.arbitrum_url, data=b"{nope", timeout=10)
    assert response.json()["error"] == {"code": -32700, "message": "Parse error"}
    assert requests.get(replay.arbitrum_url, timeout=10).status_code == 405


def test_faults_and_stats_apply_to_the_arbitrum_path(replay):
    before = replay.stats.snapshot()["paths"].get("/arbitrum", 0)
    replay.faults.add("/arbitrum", status=429, times=1)
    first = requests.post(replay.arbitrum_url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"}, timeout=10)
    assert first.status_code == 429
    assert rpc(replay.arbitrum_url, "eth_chainId")["result"] == "0xa4b1"
    assert replay.stats.snapshot()["paths"]["/arbitrum"] == before + 2
    assert rpc(replay.eth_url, "eth_chainId")["result"] == "0x1"


def test_summary_counts_the_arbitrum_recordings(replay):
    summary = replay.summary()
    assert (summary["arbitrum_blocks"], summary["arbitrum_receipts"], summary["arbitrum_logs"]) == (2, 2, 2)
    assert summary["arbitrum_head_block"] == SECOND
    assert summary["blocks"] == 14  # Ethereum's counts are not mixed with Arbitrum's


def test_replay_node_command_prints_the_hyperliquid_and_arbitrum_urls():
    command = [sys.executable, "manage.py", "replay_node", "--port", "0"]
    process = subprocess.Popen(command, cwd=Path(settings.BASE_DIR), stdout=subprocess.PIPE, text=True,  # noqa: S603
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        while not (lines and lines[-1].startswith("Press Ctrl+C")):
            line = process.stdout.readline()
            assert line, f"command ended early: {lines}"
            lines.append(line.strip())
        urls = dict(line.split("=", 1) for line in lines if "_URL=" in line)
        assert list(urls)[:4] == ["ETH_RPC_URL", "COINGECKO_API_URL", "BITCOIN_API_URL", "BITCOIN_WS_URL"]
        assert urls["ARBITRUM_RPC_URL"].endswith("/arbitrum")
        assert rpc(urls["ARBITRUM_RPC_URL"], "eth_blockNumber")["result"] == hex(SECOND)
        info = requests.post(urls["HYPERLIQUID_API_URL"] + "/info", json={"type": "allMids"}, timeout=10)
        assert info.json()["BTC"] == "30135.0"
        assert any(line.startswith("arbitrum: 2 blocks, 2 receipts, 2 logs") for line in lines)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
