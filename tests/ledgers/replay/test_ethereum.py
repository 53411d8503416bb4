"""Ethereum JSON-RPC answered by the replay node, compared with the raw recordings read here."""

import json

import pytest
import requests

from ledgers.replay.server import ReplayServer
from tests.ledgers.replay.conftest import raw_result, rpc

TRIN_BLOCKS = ["19433902", "19433903", "17034871", "17034873", "14764013"]
HEAD_HEX = "0x12889af"  # 19,433,903: the highest block recorded with its receipts


def test_chain_id_and_net_version_are_mainnet(replay):
    assert rpc(replay.eth_url, "eth_chainId") == {"jsonrpc": "2.0", "id": 1, "result": "0x1"}
    assert rpc(replay.eth_url, "net_version")["result"] == "1"


def test_block_number_is_the_highest_block_recorded_with_receipts(replay):
    assert rpc(replay.eth_url, "eth_blockNumber")["result"] == HEAD_HEX


@pytest.mark.parametrize("number", TRIN_BLOCKS)
def test_get_block_by_number_full_equals_the_recording(replay, trin, number):
    raw = raw_result(trin / f"eth_getBlockByNumber_{number}_full.json")
    answer = rpc(replay.eth_url, "eth_getBlockByNumber", [hex(int(number)), True])
    assert answer["result"] == raw
    assert answer["result"]["number"] == raw["number"]  # hex text as recorded


def test_get_block_by_number_without_tx_objects_gives_the_recorded_hashes(replay, trin):
    raw = raw_result(trin / "eth_getBlockByNumber_19433902_full.json")
    result = rpc(replay.eth_url, "eth_getBlockByNumber", ["0x12889ae", False])["result"]
    assert result == {**raw, "transactions": [tx["hash"] for tx in raw["transactions"]]}
    assert len(result["transactions"]) == 171


def test_get_block_by_hash_equals_the_recording(replay, trin):
    raw = raw_result(trin / "eth_getBlockByNumber_19433903_full.json")
    assert rpc(replay.eth_url, "eth_getBlockByHash", [raw["hash"], True])["result"] == raw
    by_upper = rpc(replay.eth_url, "eth_getBlockByHash", ["0x" + raw["hash"][2:].upper(), False])["result"]
    assert by_upper["hash"] == raw["hash"]


@pytest.mark.parametrize("tag", ["latest", "safe", "finalized"])
def test_head_tags_answer_the_head_block(replay, trin, tag):
    raw = raw_result(trin / "eth_getBlockByNumber_19433903_full.json")
    assert rpc(replay.eth_url, "eth_getBlockByNumber", [tag, True])["result"] == raw


def test_hash_only_recording_is_served_without_tx_objects_and_null_with_them(replay, helios):
    raw = raw_result(helios / "eth_getBlockByNumber_21925176_txhashes.result.json")
    assert rpc(replay.eth_url, "eth_getBlockByNumber", ["0x14e8d38", False])["result"] == raw
    assert rpc(replay.eth_url, "eth_getBlockByHash", [raw["hash"], False])["result"] == raw
    # Only hashes were recorded: full tx objects are unknown, so the answer is null.
    assert rpc(replay.eth_url, "eth_getBlockByNumber", ["0x14e8d38", True])["result"] is None


@pytest.mark.parametrize("number", ["19433902", "19433903"])
def test_get_block_receipts_equals_the_recording(replay, trin, number):
    raw = raw_result(trin / f"eth_getBlockReceipts_{number}.json")
    assert rpc(replay.eth_url, "eth_getBlockReceipts", [hex(int(number))])["result"] == raw


def test_get_block_receipts_of_a_bare_recording_by_number_and_by_hash(replay, helios):
    raw = raw_result(helios / "eth_getBlockReceipts_21925176.result.json")
    block = raw_result(helios / "eth_getBlockByNumber_21925176_txhashes.result.json")
    assert rpc(replay.eth_url, "eth_getBlockReceipts", ["0x14e8d38"])["result"] == raw
    assert rpc(replay.eth_url, "eth_getBlockReceipts", [block["hash"]])["result"] == raw
    assert len(raw) == 202


def test_get_block_receipts_latest_is_the_head(replay, trin):
    raw = raw_result(trin / "eth_getBlockReceipts_19433903.json")
    assert rpc(replay.eth_url, "eth_getBlockReceipts", ["latest"])["result"] == raw


def test_receipts_assembled_from_single_receipt_recordings_follow_tx_order(replay, replay_data_dir):
    folder = replay_data_dir / "ethereum-etl-rpc-fixtures"
    block_file = "test_export_blocks_job/block_with_logs/web3_response.eth_getBlockByNumber_0x76250_true.json"
    block = raw_result(folder / block_file)
    singles = folder / "test_export_receipts_job/receipts_with_logs"
    expected = [
        raw_result(singles / f"web3_response.eth_getTransactionReceipt_{tx['hash']}.json")
        for tx in block["transactions"]
    ]
    assert rpc(replay.eth_url, "eth_getBlockReceipts", ["0x76250"])["result"] == expected
    assert len(expected) == 4


def test_get_transaction_receipt_equals_the_recording(replay, trin, helios):
    single = raw_result(helios / "eth_getTransactionReceipt_0x6cf75d5d.result.json")
    assert rpc(replay.eth_url, "eth_getTransactionReceipt", [single["transactionHash"]])["result"] == single
    from_array = raw_result(trin / "eth_getBlockReceipts_19433902.json")[17]
    assert rpc(replay.eth_url, "eth_getTransactionReceipt", [from_array["transactionHash"]])["result"] == from_array


def test_get_transaction_by_hash_equals_the_recorded_tx_object(replay, trin):
    tx = raw_result(trin / "eth_getBlockByNumber_19433903_full.json")["transactions"][42]
    assert rpc(replay.eth_url, "eth_getTransactionByHash", [tx["hash"]])["result"] == tx


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBlockByNumber", ["0x12889b0", True]),  # 19,433,904: not recorded
        ("eth_getBlockByNumber", ["0x1", False]),
        ("eth_getBlockByHash", ["0x" + "ab" * 32, True]),
        ("eth_getBlockReceipts", ["0x1132e77"]),  # 18,034,295
        ("eth_getBlockReceipts", ["0x103ee77"]),  # 17,034,871: block recorded, receipts not
        ("eth_getTransactionReceipt", ["0x" + "00" * 32]),
        ("eth_getTransactionByHash", ["0x" + "11" * 32]),
    ],
)
def test_unknown_block_or_transaction_is_null(replay, method, params):
    assert rpc(replay.eth_url, method, params) == {"jsonrpc": "2.0", "id": 1, "result": None}


def test_batch_is_answered_as_an_array_in_order(replay, trin):
    raw = raw_result(trin / "eth_getBlockReceipts_19433902.json")
    batch = [
        {"jsonrpc": "2.0", "id": 7, "method": "eth_blockNumber", "params": []},
        {"jsonrpc": "2.0", "id": "r", "method": "eth_getBlockReceipts", "params": ["0x12889ae"]},
        {"jsonrpc": "2.0", "id": 9, "method": "eth_nope", "params": []},
        {"jsonrpc": "2.0", "id": 10, "method": "eth_getBlockByNumber", "params": ["0x1", True]},
    ]
    answer = requests.post(replay.eth_url, json=batch, timeout=10).json()
    assert answer == [
        {"jsonrpc": "2.0", "id": 7, "result": HEAD_HEX},
        {"jsonrpc": "2.0", "id": "r", "result": raw},
        {"jsonrpc": "2.0", "id": 9,
         "error": {"code": -32601, "message": "the method eth_nope does not exist/is not available"}},
        {"jsonrpc": "2.0", "id": 10, "result": None},
    ]


def test_unknown_method_is_geths_error(replay):
    answer = rpc(replay.eth_url, "eth_sendRawTransaction", ["0x00"], call_id=5)
    assert answer == {
        "jsonrpc": "2.0", "id": 5,
        "error": {"code": -32601, "message": "the method eth_sendRawTransaction does not exist/is not available"},
    }


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("eth_getBlockByNumber", ["12889ae", True]),
        ("eth_getBlockByNumber", ["0xzz", True]),
        ("eth_getBlockByNumber", []),
        ("eth_getBlockByNumber", ["0x12889ae", "yes"]),
        ("eth_getBlockByHash", ["0x1234", True]),
        ("eth_getBlockReceipts", []),
        ("eth_getTransactionReceipt", [42]),
        ("eth_getTransactionByHash", []),
    ],
)
def test_invalid_params_are_error_32602(replay, method, params):
    answer = rpc(replay.eth_url, method, params)
    assert answer["error"]["code"] == -32602
    assert "result" not in answer


def test_params_that_are_not_an_array_are_invalid(replay):
    body = {"jsonrpc": "2.0", "id": 3, "method": "eth_getBlockByNumber", "params": {"block": "latest"}}
    answer = requests.post(replay.eth_url, json=body, timeout=10).json()
    assert answer == {"jsonrpc": "2.0", "id": 3, "error": {"code": -32602, "message": "non-array args"}}


def test_malformed_json_body_is_parse_error(replay):
    response = requests.post(replay.eth_url, data=b'{"jsonrpc": "2.0", "method": ', timeout=10)
    assert response.status_code == 200
    assert response.json() == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}


def test_empty_batch_and_bad_request_object_are_invalid_request(replay):
    assert requests.post(replay.eth_url, json=[], timeout=10).json()["error"]["code"] == -32600
    answer = requests.post(replay.eth_url, json={"id": 4, "params": []}, timeout=10).json()
    assert answer == {"jsonrpc": "2.0", "id": 4, "error": {"code": -32600, "message": "invalid request"}}


def test_get_on_the_rpc_path_is_not_allowed(replay):
    assert requests.get(replay.eth_url, timeout=10).status_code == 405


def test_web3_reads_the_recorded_block_through_the_node(replay, trin):
    from web3 import Web3

    raw = raw_result(trin / "eth_getBlockByNumber_19433902_full.json")
    w3 = Web3(Web3.HTTPProvider(replay.eth_url, request_kwargs={"timeout": 10}))
    block = w3.eth.get_block(19_433_902, full_transactions=True)
    assert w3.eth.block_number == 19_433_903
    assert block["hash"].to_0x_hex() == raw["hash"]
    assert len(block["transactions"]) == 171
    assert block["transactions"][0]["value"] == int(raw["transactions"][0]["value"], 16)


def test_new_recordings_are_indexed_by_content_not_by_name(tmp_path, trin):
    # Derived from the real block 19,433,902 (not a recording): number and hash rewritten so the
    # test can tell it apart; written under a file name that says nothing about its content.
    block = raw_result(trin / "eth_getBlockByNumber_19433902_full.json")
    derived = {**block, "number": "0x1312d00", "hash": "0x" + "5e" * 32}  # 20,000,000
    nested = tmp_path / "some" / "new-recorder"
    nested.mkdir(parents=True)
    (nested / "capture-001.json").write_text(json.dumps({"jsonrpc": "2.0", "id": 3, "result": derived}))
    (tmp_path / "not-json.json").write_text("{ this is not json")
    (tmp_path / "a-log-list.json").write_text(json.dumps([{"address": "0x00", "transactionHash": "0x01"}]))
    (tmp_path / "notes.json").write_text(json.dumps({"hello": "world"}))

    with ReplayServer(tmp_path) as server:
        assert server.summary()["blocks"] == 1
        assert server.summary()["skipped_files"] == 3
        assert rpc(server.eth_url, "eth_getBlockByNumber", ["0x1312d00", True])["result"] == derived
        hashes = rpc(server.eth_url, "eth_getBlockByHash", [derived["hash"], False])["result"]
        assert hashes["transactions"] == [tx["hash"] for tx in block["transactions"]]
        assert rpc(server.eth_url, "eth_getBlockReceipts", ["0x1312d00"])["result"] is None
        # No block has receipts here: the head is the highest block recorded at all.
        assert rpc(server.eth_url, "eth_blockNumber")["result"] == "0x1312d00"
        assert rpc(server.eth_url, "eth_getBlockByNumber", ["0x12889ae", True])["result"] is None


def test_head_block_can_be_set_at_construction_and_at_run_time(replay_data_dir, trin):
    raw_902 = raw_result(trin / "eth_getBlockByNumber_19433902_full.json")
    with ReplayServer(replay_data_dir, head_block=19_433_902) as server:
        assert rpc(server.eth_url, "eth_blockNumber")["result"] == "0x12889ae"
        assert rpc(server.eth_url, "eth_getBlockByNumber", ["latest", True])["result"] == raw_902
        server.head_block = 19_433_903
        assert rpc(server.eth_url, "eth_blockNumber")["result"] == HEAD_HEX
