"""The monitor's hot path (ledgers.glass.bitcoin.mempool) on recorded mempool.space WebSocket frames."""

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledgers.glass.bitcoin.mempool import (
    Confirmed,
    MempoolWatcher,
    NewBlock,
    RecentTxHashes,
    Replaced,
    WhaleSeen,
    urgency_band,
    urgency_score,
    whale_min_sat,
)
from tests.ledgers.glass.bitcoin import recorded


def expected_urgency(rate: float) -> float:
    """The documented mapping, written out independently: three linear pieces, capped at 500 sat/vB."""
    if rate < 10:
        return rate * 0.03
    if rate <= 50:
        return 0.3 + (rate - 10) * 0.01
    return 0.7 + (min(rate, 500) - 50) / 1500


@pytest.mark.parametrize(("rate", "score", "band"), [
    (0, 0.0, "low"), (5, 0.15, "low"), (9.999, 0.29997, "low"), (10, 0.3, "medium"), (30, 0.5, "medium"),
    (50, 0.7, "medium"), (50.0001, 0.70000002, "high"), (275, 0.85, "high"), (500, 1.0, "high"), (5000, 1.0, "high"),
])
def test_urgency_bands_map_fee_rate_into_their_ranges(rate, score, band):
    assert urgency_score(rate) == pytest.approx(score, abs=1e-6)
    assert urgency_band(rate) == band


def test_urgency_is_monotonic_and_within_0_1():
    rates = [i / 10 for i in range(0, 6000)]
    scores = [urgency_score(r) for r in rates]
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(b >= a for a, b in itertools.pairwise(scores))
    assert all(urgency_score(r) == pytest.approx(expected_urgency(r)) for r in rates)


def test_lru_is_bounded_and_evicts_the_least_recently_seen():
    lru = RecentTxHashes(3)
    assert [lru.seen(t) for t in "abc"] == [False, False, False]
    assert lru.seen("a") is True  # a is now the most recent; b the least
    assert lru.seen("d") is False  # evicts b
    assert "b" not in lru and {"a", "c", "d"} <= {t for t in "abcd" if t in lru}
    assert lru.seen("b") is False  # b was forgotten: seen as new, evicting c
    assert len(lru) == 3 and lru.evictions == 2 and lru.hits == 1
    big = RecentTxHashes(1000)
    for n in range(100_000):
        big.seen(f"{n:064x}")
    assert len(big) == 1000
    with pytest.raises(ValueError):
        RecentTxHashes(0)


def test_whale_minimum_in_satoshis():
    assert whale_min_sat(Decimal("100")) == 10_000_000_000
    assert whale_min_sat("0.5") == 50_000_000


def test_init_frame_whales_scores_and_newest_block():
    frame = recorded.frame("mainnet_mempoolInfo.json")
    minimum = 1_000_000  # 0.01 BTC: a low bar so the recorded (small) transactions include whales
    watcher = MempoolWatcher(min_value_sat=minimum, recent=RecentTxHashes(100))
    signals = watcher.feed(json.dumps(frame))
    whales = [s for s in signals if isinstance(s, WhaleSeen)]
    expected = [t for t in frame["transactions"] if t["value"] >= minimum]
    assert [w.tx_hash for w in whales] == [t["txid"] for t in expected] and len(expected) == 2
    for w, t in zip(whales, expected, strict=True):
        rate = t["fee"] / t["vsize"]
        assert (w.fee_sat, w.vsize_vb, w.value_sat) == (t["fee"], t["vsize"], t["value"])
        assert w.fee_rate_sat_vb == pytest.approx(t["rate"]) and w.urgency == pytest.approx(expected_urgency(rate))
        assert w.first_seen is None  # the init payload's transactions carry no time
    newest = max(frame["blocks"], key=lambda b: b["height"])
    [block] = [s for s in signals if isinstance(s, NewBlock)]
    assert (block.block_number, block.block_hash) == (newest["height"], newest["id"])
    assert block.block_time == datetime.fromtimestamp(newest["timestamp"], tz=UTC)
    # The same frame again (as after a reconnect): every tx is a duplicate, no whale twice.
    again = watcher.feed(json.dumps(frame))
    assert not [s for s in again if isinstance(s, WhaleSeen)]
    assert watcher.stats.duplicates == len(frame["transactions"]) and watcher.stats.whales == len(expected)


def test_stratum_frame_transactions_carry_their_first_seen_time():
    frame = recorded.frame("details_rbf/tx01_ws_stratum_jobs.json")
    watcher = MempoolWatcher(min_value_sat=0, recent=RecentTxHashes(100))
    whales = [s for s in watcher.feed(json.dumps(frame)) if isinstance(s, WhaleSeen)]
    assert [w.first_seen for w in whales] == [datetime.fromtimestamp(t["time"], tz=UTC)
                                              for t in frame["transactions"]]


def test_rbf_latest_tree_reports_each_replacement_with_fees():
    frame = recorded.frame("rbf_page/rbf_01.json")
    tree = frame["rbfLatest"][0]
    watcher = MempoolWatcher(min_value_sat=10**15, recent=RecentTxHashes(100))
    [replaced] = [s for s in watcher.feed(json.dumps(frame)) if isinstance(s, Replaced)]
    old = tree["replaces"][0]["tx"]
    assert replaced == Replaced(old_tx_hash=old["txid"], new_tx_hash=tree["tx"]["txid"], new_fee_sat=tree["tx"]["fee"],
                                old_fee_sat=old["fee"])


def test_tx_replaced_applies_to_the_tracked_transaction_only():
    frame = json.dumps(recorded.frame("details_rbf/tx01_ws_tx_replaced.json"))
    watcher = MempoolWatcher(min_value_sat=1, recent=RecentTxHashes(10))
    assert watcher.feed(frame) == []  # nothing tracked: a stray txReplaced is ignored
    tx01 = recorded.frame("details_rbf/tx01_api_cached.json")["txid"]
    watcher.tracked_tx_hash = tx01
    replacement = json.loads(frame)["txReplaced"]["txid"]
    assert watcher.feed(frame) == [Replaced(old_tx_hash=tx01, new_tx_hash=replacement)]


def test_block_frame_confirms_the_tracked_transaction():
    frame = recorded.frame("details_rbf/tx02_ws_block.json")
    block = frame["block"]
    signals = MempoolWatcher(min_value_sat=1, recent=RecentTxHashes(10)).feed(json.dumps(frame))
    when = datetime.fromtimestamp(block["timestamp"], tz=UTC)
    assert when == datetime(2025, 4, 1, 21, 10, 50, tzinfo=UTC)
    assert signals == [NewBlock(890448, block["id"], when), Confirmed(frame["txConfirmed"], 890448, block["id"], when)]


@pytest.mark.parametrize("frame", [b'{"transactions": [{"txid": ', b"not json", b"[1, 2]", b"\xff\xfe", b'"text"'])
def test_malformed_frames_are_counted_and_skipped(frame):
    watcher = MempoolWatcher(min_value_sat=1, recent=RecentTxHashes(10))
    assert watcher.feed(frame) == []
    assert watcher.stats.malformed == 1 and watcher.stats.frames == 1


def test_a_malformed_item_is_skipped_and_the_rest_of_the_frame_is_used():
    frame = {"transactions": [{"fee": 1}, "junk", {"txid": "aa" * 32, "value": 5, "fee": 10, "vsize": 0},
                              {"txid": "bb" * 32, "value": 7, "fee": 100, "vsize": 10.0}]}
    watcher = MempoolWatcher(min_value_sat=1, recent=RecentTxHashes(10))
    [whale] = watcher.feed(json.dumps(frame))
    assert whale.tx_hash == "bb" * 32 and whale.fee_rate_sat_vb == 10.0 and whale.band == "medium"
    assert watcher.stats.malformed == 3
