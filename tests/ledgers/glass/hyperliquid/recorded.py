"""Raw recorded Hyperliquid Info API answers for tests (read in place; never copied)."""

import json

import yaml
from django.conf import settings

SDK = "hyperliquid-python-sdk-cassettes"
FILLS_USER = "0xb7b6f3cea3f66bf525f5d8f965f6dbf6d9b017b2"
POSITIONS_USER = "0x5e9ee1089755c3435139848e47e6635505d5a13a"
LEDGER_USER = "0x2ba553d9f990a3b66b03b2dc0d030dfc1c061036"


def interactions(name: str, folder: str = SDK) -> list[tuple[dict, object]]:
    """(request body, response JSON) of every interaction of a cassette."""
    data = yaml.safe_load((settings.REPLAY_DATA_DIR / folder / name).read_text())
    return [(json.loads(i["request"]["body"]), json.loads(i["response"]["body"]["string"]))
            for i in data["interactions"] if i["request"].get("body")]


def response(name: str, request_type: str):
    """The recorded answer to the first request of ``request_type`` in cassette ``name``."""
    return next(answer for body, answer in interactions(name) if body.get("type") == request_type)


def fills() -> list[dict]:
    return response("test_get_user_fills.yaml", "userFills")


def clearinghouse_state() -> dict:
    return response("test_get_user_state.yaml", "clearinghouseState")


def ledger_updates() -> list[dict]:
    return response("test_user_non_funding_ledger_updates_without_end_time.yaml", "userNonFundingLedgerUpdates")


ROTKI = "rotki-test-caching-cassettes/hyperliquid"
BRIDGE_CASSETTE = "test_hyperliquid__arbitrum_one_accounts0-False.yaml"
DEPOSITOR = "0x4e60c2e7181edfc5471c0cbc8d485706d1b35686"  # the first bridge depositor, with a VIRTUAL short


def depositor_clearinghouse_state() -> dict:
    """The recorded ``clearinghouseState`` of DEPOSITOR (rotki, 2025-03-07: the newer shape, with ``time``)."""
    return next(answer for body, answer in interactions(BRIDGE_CASSETTE, ROTKI)
                if body.get("type") == "clearinghouseState" and body["user"].lower() == DEPOSITOR)


def bridge_deposit_logs() -> list[dict]:
    """The logs of the two recorded bridge deposit receipts (Arbitrum, via Etherscan's proxy), in cassette order."""
    data = yaml.safe_load((settings.REPLAY_DATA_DIR / ROTKI / BRIDGE_CASSETTE).read_text())
    logs = []
    for item in data["interactions"]:
        if "eth_getTransactionReceipt" in item["request"]["uri"]:
            logs.extend(json.loads(item["response"]["body"]["string"])["result"]["logs"])
    return logs
