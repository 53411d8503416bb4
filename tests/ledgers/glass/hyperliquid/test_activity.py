"""Recorded Hyperliquid fills, positions and ledger updates, decoded by the client's decoders -> trades and
liquidation distances (pure parsing)."""

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledgers.glass.hyperliquid.activity import (
    fill_activities,
    fill_log_index,
    ledger_activity,
    position_liquidation_distance_percent,
)
from ledgers.glass.hyperliquid.client import account_state_decode, fill_decode, ledger_update_decode
from ledgers.refs import WhaleRef
from tests.ledgers.glass.hyperliquid import recorded
from whales.models import Direction, EventType

WHALE = WhaleRef(id=7, address=recorded.FILLS_USER, name="")


def all_activities():
    return [a for fill in recorded.fills() for a in fill_activities(fill_decode(fill), WHALE)]


def test_every_recorded_fill_becomes_trades_with_distinct_natural_keys():
    fills = recorded.fills()
    assert len(fills) == 500
    flips = [f for f in fills if f["dir"] in ("Long > Short", "Short > Long")]
    activities = all_activities()
    assert len(activities) == 500 + len(flips) == 522  # a flip is a close plus an open
    keys = {(a.tx_hash, a.log_index, a.direction) for a in activities}
    assert len(keys) == len(activities)
    assert len({(a.tx_hash, a.log_index) for a in activities}) == len(activities)  # events' keys too
    assert len({fill_log_index(fill_decode(f)) for f in fills}) == 500  # distinct per fill even within one hash
    assert all(0 <= fill_log_index(fill_decode(f)) < 2**31 for f in fills)


def test_realized_pnl_per_coin_equals_the_recorded_closed_pnl_exactly():
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for fill in recorded.fills():
        expected[fill["coin"]] += Decimal(fill["closedPnl"])
    got: dict[str, Decimal] = defaultdict(Decimal)
    for a in all_activities():
        got[a.base_asset] += a.pnl_usd or Decimal(0)
    assert dict(got) == dict(expected)
    assert sum(got.values()) == Decimal("-152.586132")


@pytest.mark.parametrize(("dir_text", "direction"), [
    ("Open Long", Direction.LONG), ("Close Long", Direction.CLOSE_LONG),
    ("Open Short", Direction.SHORT), ("Close Short", Direction.CLOSE_SHORT),
])
def test_direction_mapping_on_recorded_fills(dir_text, direction):
    fill = next(f for f in recorded.fills() if f["dir"] == dir_text)
    [a] = fill_activities(fill_decode(fill), WHALE)
    assert a.direction == direction and a.amount_base == Decimal(fill["sz"]) and a.price_usd == Decimal(fill["px"])
    assert a.value_usd == a.amount_quote == (Decimal(fill["px"]) * Decimal(fill["sz"])).quantize(Decimal("1e-8"))
    assert a.block_time == datetime.fromtimestamp(fill["time"] / 1000, tz=UTC) and a.tx_hash == fill["hash"]
    assert a.event_type == EventType.PERP_TRADE and a.platform == "hyperliquid" and a.quote_asset == "USDC"
    closing = direction in (Direction.CLOSE_LONG, Direction.CLOSE_SHORT)
    assert a.pnl_usd == (Decimal(fill["closedPnl"]) if closing else None)


def test_the_first_recorded_fill_closes_part_of_a_sui_long():
    fill = recorded.fills()[0]
    assert (fill["coin"], fill["dir"], fill["sz"], fill["startPosition"]) == ("SUI", "Close Long", "142.7", "4623.5")
    [a] = fill_activities(fill_decode(fill), WHALE)
    assert (a.direction, a.amount_base, a.pnl_usd) == (Direction.CLOSE_LONG, Decimal("142.7"), Decimal("-0.25686"))
    assert a.details == {"dir": "Close Long", "side": "A", "oid": fill["oid"], "tid": None, "start_position": "4623.5",
                         "fill_size": "142.7", "crossed": True, "movement": "reduced",
                         "fill_key": "|".join(str(fill[k]) for k in ("hash", "oid", "time", "px", "sz", "side",
                                                                     "startPosition")),
                         "pnl_method": "exchange_closedPnl"}
    assert a.details["movement"] == "reduced" and "reduced long 142.7 SUI" in a.summary


def test_a_flip_is_the_close_of_the_starting_position_and_the_open_of_the_rest():
    fill = next(f for f in recorded.fills() if f["dir"] == "Long > Short")
    start, size = Decimal(fill["startPosition"]), Decimal(fill["sz"])
    close, open_ = fill_activities(fill_decode(fill), WHALE)
    assert (close.direction, close.amount_base, close.pnl_usd) == (Direction.CLOSE_LONG, start,
                                                                   Decimal(fill["closedPnl"]))
    assert (open_.direction, open_.amount_base, open_.pnl_usd) == (Direction.SHORT, size - start, None)
    assert close.details["movement"] == "closed" and open_.details["movement"] == "opened"
    other = next(f for f in recorded.fills() if f["dir"] == "Short > Long")
    assert [a.direction for a in fill_activities(fill_decode(other), WHALE)] == [Direction.CLOSE_SHORT, Direction.LONG]


def test_a_fill_with_tid_is_keyed_by_it_and_spot_fills_are_buys_and_sells():
    fill = {**recorded.fills()[0], "tid": 123456789012345, "dir": "Buy", "coin": "@107", "closedPnl": "0.0"}
    moved = {**fill, "px": "9.9"}  # same tid: the same fill, whatever else differs
    assert fill_log_index(fill_decode(fill)) == fill_log_index(fill_decode(moved))
    [a] = fill_activities(fill_decode(fill), WHALE)
    assert a.direction == Direction.BUY and a.event_type == "" and a.details["tid"] == 123456789012345


def test_a_fill_with_another_dir_maps_by_side_and_keeps_the_raw_side_in_details():
    raw = {**recorded.fills()[0], "dir": "Liquidated Cross Long"}  # side "A": a sell
    [a] = fill_activities(fill_decode(raw), WHALE)
    assert (a.direction, a.pnl_usd, a.event_type) == (Direction.SELL, Decimal(raw["closedPnl"]), "")
    assert (a.details["dir"], a.details["side"]) == ("Liquidated Cross Long", "A")


def test_recorded_positions_liquidation_distance():
    state = recorded.clearinghouse_state()
    positions = account_state_decode(state).positions
    raw = [p["position"] for p in state["assetPositions"] if Decimal(p["position"]["szi"]) != 0]
    assert [p.symbol for p in positions] == [r["coin"] for r in raw] and len(positions) == 12
    for p, r in zip(positions, raw, strict=True):
        size, value = Decimal(r["szi"]), Decimal(r["positionValue"])
        if r["liquidationPx"] is None:
            assert position_liquidation_distance_percent(p) is None
        else:
            mark, liq = value / abs(size), Decimal(r["liquidationPx"])
            away = (liq - mark) if size < 0 else (mark - liq)  # how far the price may move against it
            assert position_liquidation_distance_percent(p) == (away / mark * 100).quantize(Decimal("0.0001"))
    assert position_liquidation_distance_percent(positions[0]) > 0  # BTC: a short liquidated far above the price


def test_the_recorded_2_7m_usdc_deposit_becomes_a_deposit_trade_and_transfers_are_skipped():
    updates = recorded.ledger_updates()
    whale = WhaleRef(id=9, address=recorded.LEDGER_USER, name="")
    parsed = [ledger_activity(ledger_update_decode(u), whale) for u in updates]
    deposits = [a for a in parsed if a is not None]
    assert [u["delta"]["type"] for u, a in zip(updates, parsed, strict=True) if a is None] == [
        "accountClassTransfer", "spotTransfer", "accountClassTransfer"]
    assert [(a.direction, a.amount_base) for a in deposits] == [
        (Direction.DEPOSIT, Decimal("2703997.4500000002")), (Direction.DEPOSIT, Decimal("1099994.98"))]
    assert deposits[0].value_usd == Decimal("2703997.45000000") and deposits[0].base_asset == "USDC"
    assert deposits[0].block_time == datetime(2024, 11, 19, 6, 53, 16, 516000, tzinfo=UTC)
