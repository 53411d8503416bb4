"""mempool.space WebSocket playback (/bitcoin/api/v1/ws) with a real websockets client.

The expected INIT and script frames are built here from the raw recording files, independently of the
server (including the DERIVED summaries and the whale-sized variants).
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK, InvalidStatus
from websockets.sync.client import connect

from ledgers.replay.catalog import WHALE_VARIANT_BOOST_SAT, WHALE_VARIANT_TX_HASHES
from ledgers.replay.server import ReplayServer

REPLACED = "242f3fff9ca7d5aea7a7a57d886f3fa7329e24fac948598a991b3a3dd631cd29"
REPLACEMENT = "b6a53d8a8025c0c5b194345925a99741b645cae0b1f180f0613273029f2bf698"
CONDITIONAL = [5, 7, 8, 9, 11]  # script indexes whose content depends on track-tx
WANT = {"action": "want", "data": ["blocks", "stats", "mempool-blocks"]}


@pytest.fixture(scope="module")
def fixtures(replay_data_dir) -> Path:
    return replay_data_dir / "bitcoin-mempool-space-fixtures"


def _read(path: Path):
    return json.loads(path.read_text())


def _summary(tx: dict) -> dict:
    """mempool.space's stripped tx: vsize = weight / 4, value = sum of outputs, rate = fee / vsize."""
    out = {"txid": tx["txid"], "fee": tx["fee"], "vsize": tx["weight"] / 4,
           "value": sum(v["value"] for v in tx["vout"]), "rate": tx["fee"] / (tx["weight"] / 4)}
    if "firstSeen" in tx:
        out["time"] = tx["firstSeen"]
    return out


def _boost(frame: dict) -> dict:
    if "transactions" not in frame:
        return frame
    return {**frame, "transactions": [
        {**t, "value": t["value"] + 15_000_000_000} if t["txid"] in WHALE_VARIANT_TX_HASHES else t
        for t in frame["transactions"]]}


def _without(frame: dict, key: str) -> dict:
    return {k: v for k, v in frame.items() if k != key}


@pytest.fixture(scope="module")
def init(fixtures) -> dict:
    return _boost(_read(fixtures / "frontend-cypress-fixtures/mainnet_mempoolInfo.json"))


@pytest.fixture(scope="module")
def script(fixtures) -> list[tuple[dict, str | None, dict | None]]:
    """The 14 script frames as ``(payload for trackers, tracked txid or None, payload for others or None=skip)``."""
    front = fixtures / "frontend-cypress-fixtures"
    d = front / "details_rbf"
    rbf_tx = _read(d / "tx02_api_rbf.json")["replacements"]["tx"]
    unconfirmed = [t for name in ("transactions-random.json", "transactions-rbfs.json", "transactions-replaced.json")
                   for t in _read(fixtures / "backend-test-data" / name) if not t["status"]["confirmed"]]
    position_1 = _read(d / "tx02_ws_mempool_blocks_01.json")
    next_block = _read(d / "tx02_ws_next_block.json")
    block = _read(d / "tx02_ws_block.json")
    frames = [
        (_read(d / "tx01_ws_stratum_jobs.json"), None, None),
        (_read(d / "tx01_ws_blocks_01.json"), None, None),
        (_read(d / "tx01_ws_mempool_blocks_01.json"), None, None),
        ({"transactions": [_summary(_read(d / "tx01_api_cached.json"))]}, None, None),
        (_read(front / "rbf_page/rbf_01.json"), None, None),
        (_read(d / "tx01_ws_tx_replaced.json"), REPLACED, None),
        ({"transactions": [{k: rbf_tx[k] for k in ("txid", "fee", "vsize", "value", "rate", "time")}]}, None, None),
        (position_1, REPLACEMENT, _without(position_1, "txPosition")),
        (_read(d / "tx02_ws_tx_position.json"), REPLACEMENT, None),
        (next_block, REPLACEMENT, _without(next_block, "txPosition")),
        (_read(front / "rbf_page/rbf_02.json"), None, None),
        (block, REPLACEMENT, _without(block, "txConfirmed")),
        ({"transactions": [_summary(_read(front / "mainnet_tx_cached.json"))]}, None, None),
        ({"transactions": [_summary(t) for t in unconfirmed]}, None, None),
    ]
    return [(_boost(full), tracked, _boost(other) if other is not None else None) for full, tracked, other in frames]


def _expected_for(script, tracked: str | None) -> list[dict]:
    """What a connection tracking ``tracked`` receives over the whole script (skipped frames left out)."""
    out = []
    for full, track_txid, other in script:
        frame = full if track_txid is None or track_txid == tracked else other
        if frame is not None:
            out.append(frame)
    return out


@pytest.fixture
def stream(replay):
    """The session node's stream from the start, as fast as possible (the ``replay`` fixture resets it after)."""
    replay.mempool_stream.reset()
    replay.ws_rate = 0
    return replay.mempool_stream


def _recv(ws, n: int) -> list:
    return [json.loads(ws.recv(timeout=5)) for _ in range(n)]


def _assert_idle(ws) -> None:
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.3)


def test_whale_variant_constants():
    assert WHALE_VARIANT_BOOST_SAT == 15_000_000_000
    assert WHALE_VARIANT_TX_HASHES == {
        "e88521600e3c8348d0534777ca6490091cb3cdd1fac8a2abe95123f7cef319e5",
        "17a9e5194345d8da287d49c0bf595474e08fc81434646925d6640964929aa7f9",
        REPLACED,
        REPLACEMENT,
        "21518a98d1aa9df524865d2f88c578499f524eb1d0c4d3e70312ab863508692f",
    }


def test_whale_variants_raise_only_the_value_of_exactly_those_txids(replay, init, script, fixtures):
    raw_init = _read(fixtures / "frontend-cypress-fixtures/mainnet_mempoolInfo.json")
    (boosted,) = [t for t in init["transactions"] if t["value"] != next(
        r["value"] for r in raw_init["transactions"] if r["txid"] == t["txid"])]
    assert boosted == {"txid": "e88521600e3c8348d0534777ca6490091cb3cdd1fac8a2abe95123f7cef319e5", "fee": 2568,
                       "vsize": 208.25, "value": 29_143_035 + 15_000_000_000, "rate": 12.331332533013205}
    whales = [t for full, _, _ in [(init, None, None), *script] for t in full.get("transactions", [])
              if t["value"] >= 10_000_000_000]
    assert sorted(t["txid"] for t in whales) == sorted(WHALE_VARIANT_TX_HASHES)  # each boosted once, nothing else
    assert [t for t in whales if t["txid"] == REPLACED] == [{
        "txid": REPLACED, "fee": 606, "vsize": 233, "value": 49_394 + 15_000_000_000,
        "rate": 606 / 233, "time": 1743541407}]
    # REST stays verbatim
    rest = requests.get(f"{replay.bitcoin_url}/tx/{REPLACED}", timeout=10).json()
    assert sum(v["value"] for v in rest["vout"]) == 49_394


def test_script_frames_and_init_frame_are_exposed(replay, init, script):
    frames = replay.mempool_stream.script_frames()
    assert replay.mempool_stream.script_length == len(frames) == 14
    assert replay.mempool_stream.init_frame() == init
    assert [f.payload for f in frames] == [full for full, _, _ in script]
    assert [i for i, f in enumerate(frames) if f.conditional] == CONDITIONAL
    assert [f.for_client(None) for f in frames] == [other if tracked else full for full, tracked, other in script]


def test_a_client_tracking_the_replacement_gets_init_and_the_whole_script(replay, stream, init, script):
    message = {"action": "init", "track-tx": REPLACEMENT}
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps(message))
        ws.send(json.dumps(WANT))
        assert _recv(ws, 1) == [init]
        expected = _expected_for(script, REPLACEMENT)
        assert len(expected) == 13  # only txReplaced (for trackers of 242f3fff...) is skipped
        assert _recv(ws, len(expected)) == expected
        _assert_idle(ws)  # the script has ended; the connection stays open
        assert stream.finished.is_set()
        assert (stream.position, stream.frames_sent, stream.frames_skipped, stream.connections) == (14, 14, 1, 1)
        assert stream.tracked == {1: REPLACEMENT}
        assert stream.client_messages == [message, WANT]
        assert expected[10]["txConfirmed"] == REPLACEMENT
        assert [f["txPosition"]["txid"] for f in expected[6:9]] == [REPLACEMENT] * 3


def test_a_client_tracking_nothing_gets_no_tracked_frames(replay, stream, init, script):
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        frames = _recv(ws, 1 + 12)
        _assert_idle(ws)
    assert frames == [init, *_expected_for(script, None)]
    assert not any("txPosition" in f or "txConfirmed" in f or "txReplaced" in f for f in frames)
    assert "block" in frames[10]  # blocks go to everyone
    assert (stream.frames_sent, stream.frames_skipped) == (13, 2)


def test_the_latest_track_tx_replaces_the_previous_one(replay, stream, init, script):
    replay.ws_rate = 20
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"track-tx": REPLACED}))
        first = _recv(ws, 1 + 6)  # INIT, frames 0-5: txReplaced is sent to trackers of 242f3fff...
        ws.send(json.dumps({"track-tx": REPLACEMENT}))  # read by the server while it waits for frame 6's slot
        rest = _recv(ws, 8)
        _assert_idle(ws)
    assert first == [init, *[full for full, _, _ in script[:6]]]
    assert first[-1] == {"txReplaced": {"txid": REPLACEMENT}}
    assert rest == [script[6][0], *[full for full, _, _ in script[7:]]]
    assert stream.tracked == {1: REPLACEMENT}
    assert stream.client_messages == [{"track-tx": REPLACED}, {"track-tx": REPLACEMENT}]


def test_rest_status_follows_the_block_frame_and_reset_restores_it(replay, stream, fixtures):
    block = _read(fixtures / "frontend-cypress-fixtures/details_rbf/tx02_ws_block.json")["block"]
    url = replay.bitcoin_url
    confirmed = {"confirmed": True, "block_height": 890_448, "block_hash": block["id"],
                 "block_time": block["timestamp"]}
    assert requests.get(f"{url}/tx/{REPLACEMENT}/status", timeout=10).json() == {"confirmed": False}
    replay.ws_rate = 10
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        before_block = _recv(ws, 1 + 9)  # INIT and the 9 frames sent before the block (2 of 11 skipped)
        assert "rbfLatest" in before_block[-1]
        assert requests.get(f"{url}/tx/{REPLACEMENT}/status", timeout=10).json() == {"confirmed": False}
        (block_frame,) = _recv(ws, 1)
        assert block_frame["block"]["height"] == 890_448
        assert requests.get(f"{url}/tx/{REPLACEMENT}/status", timeout=10).json() == confirmed
        assert requests.get(f"{url}/tx/{REPLACEMENT}", timeout=10).json()["status"] == confirmed
        stats = requests.get(f"{url}/address/1stAprEZapjCYGUACUcXohQqSHF9MU5Kj", timeout=10).json()
        assert (stats["chain_stats"]["tx_count"], stats["mempool_stats"]["tx_count"]) == (1, 1)
    stream.reset()
    assert requests.get(f"{url}/tx/{REPLACEMENT}/status", timeout=10).json() == {"confirmed": False}


def test_drop_after_aborts_and_the_next_connection_continues_at_the_next_frame(replay, stream, init, script):
    stream.faults.drop_after(4)
    expected = _expected_for(script, None)
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 4) == [init, *expected[:3]]
        with pytest.raises(ConnectionClosedError) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is None  # no close frame: the TCP connection was cut
    assert stream.position == 3  # the frame that would have come next was not consumed
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 1 + len(expected) - 3) == [init, *expected[3:]]  # INIT again, then no frame lost
        _assert_idle(ws)
    assert stream.connections == 2
    assert stream.faults.active() == []


def test_rewind_resends_the_last_frames_on_the_next_connection(replay, stream, init, script):
    stream.faults.drop_after(6)
    expected = _expected_for(script, None)
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 6) == [init, *expected[:5]]
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=5)
    assert stream.position == 5
    stream.faults.rewind(2)
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 1 + 2 + len(expected) - 5) == [init, *expected[3:5], *expected[5:]]
        _assert_idle(ws)


def test_malformed_frame_is_invalid_json_and_the_stream_continues(replay, stream, init, script):
    stream.faults.malformed(before_frame=2)
    expected = _expected_for(script, None)
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 3) == [init, *expected[:2]]
        bad = ws.recv(timeout=5)
        assert bad == '{"transactions": [{"txid": '
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad)
        assert _recv(ws, len(expected) - 2) == expected[2:]
        _assert_idle(ws)
    assert stream.frames_sent == 1 + 1 + len(expected)


def test_ws_faults_through_the_http_control_endpoint(replay, stream, init, script):
    control = replay.url + "/_replay/faults"
    added = requests.post(control, json=[{"path_prefix": "/bitcoin/api/v1/ws", "drop_after": 2},
                                         {"path_prefix": "/bitcoin/api/tx", "status": 500, "times": 1}], timeout=10)
    assert added.json() == {"added": 2}
    listed = requests.get(control, timeout=10).json()
    assert [(f["path_prefix"], f.get("kind"), f["remaining"]) for f in listed] == [
        ("/bitcoin/api/tx", None, 1), ("/bitcoin/api/v1/ws", "drop_after", 1)]
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 2) == [init, script[0][0]]
        with pytest.raises(ConnectionClosedError):
            ws.recv(timeout=5)
    bad = requests.post(control, json=[{"path_prefix": "/bitcoin/api/v1/ws", "rewind": 1, "drop_after": 2}],
                        timeout=10)
    assert bad.status_code == 400
    assert requests.delete(control, timeout=10).json() == {"cleared": True}
    assert replay.faults.active() == [] and stream.faults.active() == []


def test_rate_throttles_frames(replay, stream):
    replay.ws_rate = 20
    with connect(replay.bitcoin_ws_url) as ws:
        ws.send(json.dumps({"action": "init"}))
        ws.recv(timeout=5)
        started = time.monotonic()
        for _ in range(10):
            ws.recv(timeout=5)
        elapsed = time.monotonic() - started
    assert elapsed >= 0.45  # 10 frames at 20 per second


def test_the_server_waits_for_the_first_client_message(replay, stream, init):
    with connect(replay.bitcoin_ws_url) as ws:
        _assert_idle(ws)  # up to 2 s for the client to speak
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 1) == [init]
    stream.first_message_timeout_s = 0.2
    try:
        with connect(replay.bitcoin_ws_url) as ws:  # a silent client gets the init data anyway
            assert _recv(ws, 1) == [init]
    finally:
        stream.first_message_timeout_s = 2.0


def test_other_paths_are_refused_with_404(replay):
    with pytest.raises(InvalidStatus) as refused:
        connect(replay.bitcoin_ws_url.replace("/v1/ws", "/v1/other"))
    assert refused.value.response.status_code == 404
    assert replay.bitcoin_ws_url.startswith("ws://127.0.0.1:")
    assert replay.bitcoin_ws_url.endswith("/bitcoin/api/v1/ws")


def test_stop_closes_open_ws_connections(replay_data_dir, init):
    server = ReplayServer(replay_data_dir, ws_rate=0).start()
    url = server.bitcoin_ws_url
    try:
        ws = connect(url)
        ws.send(json.dumps({"action": "init"}))
        assert _recv(ws, 1 + 12)[0] == init
        assert server.mempool_stream.position == 14  # a separate node has its own cursor, from 0
    finally:
        server.stop()
    with pytest.raises((ConnectionClosedOK, ConnectionClosedError)):
        while True:
            ws.recv(timeout=5)
    ws.close()
    with pytest.raises(OSError):
        connect(url, open_timeout=2)


def test_replay_node_command_prints_the_bitcoin_urls():
    command = [sys.executable, "manage.py", "replay_node", "--port", "0", "--ws-rate", "0"]
    process = subprocess.Popen(command, cwd=Path(settings.BASE_DIR), stdout=subprocess.PIPE, text=True,  # noqa: S603
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines = []
        while not (lines and lines[-1].startswith("Press Ctrl+C")):
            line = process.stdout.readline()
            assert line, f"command ended early: {lines}"
            lines.append(line.strip())
        (summary,) = [line for line in lines if line.startswith("bitcoin:")]
        assert summary == ("bitcoin: 72 transactions indexed, 872 addresses, tip height 938743, "
                           "14 WebSocket script frames at 0/s")
        (api_url,) = [line.removeprefix("BITCOIN_API_URL=") for line in lines if line.startswith("BITCOIN_API_URL=")]
        (ws_url,) = [line.removeprefix("BITCOIN_WS_URL=") for line in lines if line.startswith("BITCOIN_WS_URL=")]
        assert requests.get(api_url + "/blocks/tip/height", timeout=10).text == "938743"
        with connect(ws_url) as ws:
            ws.send(json.dumps({"action": "init"}))
            assert "mempoolInfo" in json.loads(ws.recv(timeout=5))
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
