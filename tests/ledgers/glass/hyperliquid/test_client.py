"""The Hyperliquid clients decode the recorded answers into ``types.py`` dataclasses.

Every expected value is computed here from the raw recordings in ../shared/data (read by ``recorded``);
the Info API answers come through the replay node, which serves those same recordings.
"""

import copy
import re
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings

from ledgers.errors import SourceError
from ledgers.glass.hyperliquid import client as client_module
from ledgers.glass.hyperliquid.arbitrum_client import transfer_decode
from ledgers.glass.hyperliquid.client import (
    account_state_decode,
    fill_decode,
    ledger_update_decode,
    records_decode,
)
from ledgers.glass.hyperliquid.types import BadRecord
from tests.ledgers.glass.hyperliquid import recorded

SIDE = {"B": "buy", "A": "sell"}  # Hyperliquid: B = bid, A = ask


def ms(value: int) -> datetime:
    return datetime.fromtimestamp(value / 1000, tz=UTC)


# --- fills ------------------------------------------------------------------------------------------------
def test_every_recorded_fill_is_decoded_field_by_field(hl_client):
    raw = recorded.fills()
    fills = hl_client.user_fills(recorded.FILLS_USER)
    assert (fills.count, len(fills.items), fills.bad) == (len(raw), 500, ())
    assert fills.newest_time_ms == max(r["time"] for r in raw)
    for fill, r in zip(fills.items, raw, strict=True):
        assert (fill.tx_hash, fill.symbol, fill.side, fill.dir) == (r["hash"], r["coin"], SIDE[r["side"]], r["dir"])
        assert (fill.price_usd, fill.quantity, fill.start_position) == (
            Decimal(r["px"]), Decimal(r["sz"]), Decimal(r["startPosition"]))
        assert (fill.realized_pnl_usd, fill.fee_usd) == (Decimal(r["closedPnl"]), Decimal(r["fee"]))
        assert (fill.block_time, fill.oid, fill.tid, fill.crossed) == (ms(r["time"]), r["oid"], None, r["crossed"])
        assert fill.key == "|".join(str(r[k]) for k in ("hash", "oid", "time", "px", "sz", "side", "startPosition"))


def test_the_first_recorded_fill(hl_client):
    r = recorded.fills()[0]
    first = hl_client.user_fills(recorded.FILLS_USER).items[0]
    assert (first.symbol, first.side, first.dir) == (r["coin"], SIDE[r["side"]], r["dir"]) == ("SUI", "sell",
                                                                                              "Close Long")
    assert (first.price_usd, first.quantity) == (Decimal(r["px"]), Decimal(r["sz"])) == (Decimal("1.3189"),
                                                                                       Decimal("142.7"))
    assert first.realized_pnl_usd == Decimal(r["closedPnl"]) == Decimal("-0.25686")
    assert first.block_time == ms(r["time"]) and first.block_time.tzinfo is UTC


def test_quantities_realized_pnl_and_fees_per_coin_equal_the_recorded_sums(hl_client):
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for r in recorded.fills():
        for key in ("sz", "closedPnl", "fee"):
            expected[r["coin"], key] += Decimal(r[key])
    got: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for f in hl_client.user_fills(recorded.FILLS_USER).items:
        got[f.symbol, "sz"] += f.quantity
        got[f.symbol, "closedPnl"] += f.realized_pnl_usd
        got[f.symbol, "fee"] += f.fee_usd
    assert dict(got) == dict(expected)


def test_fills_by_time_are_the_recorded_fills_in_the_window(hl_client):
    raw = recorded.fills()
    start, end = sorted(r["time"] for r in raw)[100], sorted(r["time"] for r in raw)[400]
    window = hl_client.user_fills_by_time(recorded.FILLS_USER, start, end)
    expected = [r for r in raw if start <= r["time"] <= end]
    assert [f.key for f in window.items] == [fill_decode(r).key for r in expected]
    assert window.newest_time_ms == max(r["time"] for r in expected)


def test_fills_since_pages_by_time_and_keeps_a_fill_read_twice_once(replay, hl_client, monkeypatch):
    raw = recorded.fills()
    monkeypatch.setattr(client_module, "FILLS_PAGE_LIMIT", 100)  # the replay answers all 500: a full page
    replay.hyperliquid.reset()
    fills = hl_client.user_fills_since(recorded.FILLS_USER, 0, None, max_pages=10)
    newest = max(r["time"] for r in raw)
    # page 1: all 500 fills; page 2 from the newest time: the fills of that instant again, kept once.
    assert [t for _, t, _, _ in replay.hyperliquid.requests] == ["userFillsByTime", "userFillsByTime"]
    assert [f.key for f in fills.items] == [fill_decode(r).key for r in raw]
    assert (fills.count, fills.newest_time_ms) == (500, newest)
    assert sum(1 for r in raw if r["time"] == newest) >= 1


def test_a_bad_fill_is_set_aside_and_the_rest_are_kept():
    raw = copy.deepcopy(recorded.fills())
    del raw[3]["px"]
    fills = records_decode(raw, fill_decode)
    assert [f.key for f in fills.items] == [fill_decode(r).key for n, r in enumerate(raw) if n != 3]
    (bad,) = fills.bad
    assert (bad.field, bad.record) == ("px", raw[3])
    assert fills.count == 500 and fills.newest_time_ms == max(r["time"] for r in raw)  # the bad one's time too


@pytest.mark.parametrize("field", ["hash", "coin", "dir", "side", "px", "sz", "time"])
def test_a_recorded_fill_without_a_required_field_raises_bad_record_naming_it(field):
    raw = copy.deepcopy(recorded.fills()[0])
    del raw[field]
    with pytest.raises(BadRecord, match=re.escape(f"'{field}' is missing")) as caught:
        fill_decode(raw)
    assert caught.value.field == field and isinstance(caught.value, SourceError)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("px", "abc", "'px' is not a number"), ("sz", "0", "'sz' must be positive"), ("px", "NaN", "'px' is not a number"),
    ("side", "X", "'side' is 'X', not B or A"), ("side", ["B"], "'side' is \"['B']\", not B or A"),
    ("time", "soon", "'time' is not a time in ms"),
    ("oid", "12", "'oid' is not an integer"), ("closedPnl", None, "'closedPnl' is null"),
])
def test_a_recorded_fill_with_a_malformed_field_raises_bad_record_naming_it(field, value, message):
    raw = {**recorded.fills()[0], field: value}
    with pytest.raises(BadRecord, match=re.escape(message)) as caught:
        fill_decode(raw)
    assert caught.value.field == field


def test_optional_fill_fields_default_to_zero_and_a_tid_is_the_key():
    raw = copy.deepcopy(recorded.fills()[0])
    for key in ("startPosition", "closedPnl", "fee", "oid", "crossed"):
        del raw[key]
    fill = fill_decode({**raw, "tid": 987654321})
    assert (fill.start_position, fill.realized_pnl_usd, fill.fee_usd) == (Decimal(0), Decimal(0), Decimal(0))
    assert (fill.oid, fill.crossed, fill.tid, fill.key) == (None, None, 987654321, "tid:987654321")


# --- ledger updates -----------------------------------------------------------------------------------------
def test_recorded_ledger_updates_are_decoded(hl_client):
    raw = recorded.ledger_updates()
    updates = hl_client.user_non_funding_ledger_updates(recorded.LEDGER_USER, 0)
    assert (updates.bad, updates.newest_time_ms) == ((), max(r["time"] for r in raw))
    for update, r in zip(updates.items, raw, strict=True):
        money = r["delta"]["type"] in ("deposit", "withdraw")
        assert (update.tx_hash, update.block_time, update.delta_type) == (r["hash"], ms(r["time"]), r["delta"]["type"])
        assert update.amount_usdc == (Decimal(r["delta"]["usdc"]) if money else None)
        assert (update.fee_usd, update.nonce) == (Decimal(r["delta"].get("fee", "0")) if money else Decimal(0), None)
    deposits = [u.amount_usdc for u in updates.items if u.delta_type == "deposit"]
    assert deposits == [Decimal(r["delta"]["usdc"]) for r in raw if r["delta"]["type"] == "deposit"] == [
        Decimal("2703997.4500000002"), Decimal("1099994.98")]


@pytest.mark.parametrize(("path", "field"), [(("delta", "usdc"), "delta.usdc"), (("delta", "type"), "delta.type"),
                                             (("delta",), "delta"), (("hash",), "hash"), (("time",), "time")])
def test_a_recorded_deposit_without_a_field_raises_bad_record_naming_it(path, field):
    raw = copy.deepcopy(next(u for u in recorded.ledger_updates() if u["delta"]["type"] == "deposit"))
    holder = raw
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    with pytest.raises(BadRecord, match=re.escape(f"'{field}' is missing")) as caught:
        ledger_update_decode(raw)
    assert caught.value.field == field


# --- clearinghouse state ------------------------------------------------------------------------------------
def assert_state_matches(state, raw: dict) -> None:
    summary = raw["marginSummary"]
    assert (state.account_value_usd, state.total_notional_usd, state.total_margin_used_usd) == (
        Decimal(summary["accountValue"]), Decimal(summary["totalNtlPos"]), Decimal(summary["totalMarginUsed"]))
    assert state.withdrawable_usd == Decimal(raw["withdrawable"])
    open_positions = [p["position"] for p in raw["assetPositions"] if Decimal(p["position"]["szi"]) != 0]
    assert len(state.positions) == len(open_positions)
    for position, r in zip(state.positions, open_positions, strict=True):
        assert (position.symbol, position.size, position.entry_price_usd) == (
            r["coin"], Decimal(r["szi"]), Decimal(r["entryPx"]))
        assert (position.position_value_usd, position.unrealized_pnl_usd, position.return_on_equity) == (
            Decimal(r["positionValue"]), Decimal(r["unrealizedPnl"]), Decimal(r["returnOnEquity"]))
        assert (position.leverage_type, position.leverage) == (r["leverage"]["type"], Decimal(r["leverage"]["value"]))
        assert position.liquidation_price_usd == (None if r["liquidationPx"] is None else Decimal(r["liquidationPx"]))
        assert position.margin_used_usd == Decimal(r["marginUsed"])
        assert position.mark_price_usd == Decimal(r["positionValue"]) / abs(Decimal(r["szi"]))


def test_the_recorded_clearinghouse_state_is_decoded(hl_client):
    raw = recorded.clearinghouse_state()
    state = hl_client.clearinghouse_state(recorded.POSITIONS_USER)
    assert_state_matches(state, raw)
    assert len(state.positions) == 12
    btc = state.positions[0]
    assert (btc.symbol, btc.size, btc.entry_price_usd) == ("BTC", Decimal(raw["assetPositions"][0]["position"]["szi"]),
                                                            Decimal("26951.0"))


def test_the_newer_recorded_clearinghouse_state_of_a_bridge_depositor_is_decoded(hl_client):
    raw = recorded.depositor_clearinghouse_state()
    state = hl_client.clearinghouse_state(recorded.DEPOSITOR)
    assert_state_matches(state, raw)
    (virtual,) = state.positions
    assert (virtual.symbol, virtual.leverage) == ("VIRTUAL", Decimal(raw["assetPositions"][0]["position"]["leverage"]
                                                                       ["value"]))


@pytest.mark.parametrize("field", ["entryPx", "positionValue", "unrealizedPnl", "returnOnEquity", "coin"])
def test_a_recorded_position_without_a_field_makes_the_state_a_bad_record_naming_it(field):
    raw = copy.deepcopy(recorded.clearinghouse_state())
    del raw["assetPositions"][1]["position"][field]
    with pytest.raises(BadRecord, match=re.escape(f"'{field}' is missing")) as caught:
        account_state_decode(raw)
    assert caught.value.field == field


def test_a_recorded_state_without_the_account_value_is_a_bad_record_naming_it():
    raw = copy.deepcopy(recorded.clearinghouse_state())
    del raw["marginSummary"]["accountValue"]
    with pytest.raises(BadRecord, match=re.escape("'marginSummary.accountValue' is missing")):
        account_state_decode(raw)


def test_a_closed_position_is_not_an_open_one():
    raw = copy.deepcopy(recorded.clearinghouse_state())
    closed = raw["assetPositions"][0]["position"]
    closed["szi"] = "0.0"
    del closed["entryPx"]  # a closed position is not read further
    state = account_state_decode(raw)
    assert [p.symbol for p in state.positions] == [p["position"]["coin"] for p in raw["assetPositions"][1:]]


# --- mids -----------------------------------------------------------------------------------------------------
def test_all_mids_are_decimals(hl_client):
    raw = recorded.response("test_get_all_mids.yaml", "allMids")
    mids = hl_client.all_mids()
    assert {coin: mids[coin] for coin in raw} == {coin: Decimal(price) for coin, price in raw.items()}
    # The replay node's venue simulator adds the mids of the spot pairs it trades ("PURR/USDC", "@1", ...).
    assert all(coin.startswith("@") or "/" in coin for coin in set(mids) - set(raw))


# --- bridge deposit logs (Arbitrum) --------------------------------------------------------------------------
USDC = settings.ARBITRUM_USDC_ADDRESS.lower()
BRIDGE = settings.HYPERLIQUID_BRIDGE_ADDRESS.lower()


def test_recorded_deposit_logs_decode_into_usdc_transfers_to_the_bridge():
    logs = recorded.bridge_deposit_logs()
    transfers = [transfer_decode(log, token_address=USDC, to_address=BRIDGE, decimals=6) for log in logs]
    assert [(t.tx_hash, t.block_number, t.log_index) for t in transfers] == [
        (log["transactionHash"], int(log["blockNumber"], 16), int(log["logIndex"], 16)) for log in logs]
    assert [(t.from_address, t.to_address, t.token_address) for t in transfers] == [
        ("0x" + log["topics"][1][-40:], "0x" + log["topics"][2][-40:], log["address"].lower()) for log in logs]
    assert [(t.value_raw, t.amount) for t in transfers] == [
        (Decimal(int(log["data"], 16)), Decimal(int(log["data"], 16)) / 10**6) for log in logs]
    assert [t.amount for t in transfers] == [Decimal("500.59"), Decimal("303.14")]


def test_a_log_of_another_token_or_recipient_is_no_transfer_of_interest():
    log = recorded.bridge_deposit_logs()[0]
    assert transfer_decode(log, token_address=USDC, to_address="0x" + "1" * 40, decimals=6) is None
    assert transfer_decode(log, token_address="0x" + "1" * 40, to_address=BRIDGE, decimals=6) is None


@pytest.mark.parametrize("field", ["topics", "address", "data", "transactionHash", "logIndex", "blockNumber"])
def test_a_recorded_deposit_log_without_a_field_raises_bad_record_naming_it(field):
    log = copy.deepcopy(recorded.bridge_deposit_logs()[0])
    del log[field]
    with pytest.raises(BadRecord, match=re.escape(f"'{field}'")) as caught:
        transfer_decode(log, token_address=USDC, to_address=BRIDGE, decimals=6)
    assert caught.value.field == field and isinstance(caught.value, SourceError)
