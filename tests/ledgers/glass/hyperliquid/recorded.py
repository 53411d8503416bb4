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
