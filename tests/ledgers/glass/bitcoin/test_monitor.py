"""The mempool whale monitor against the replay node's WebSocket playing the recorded mempool.space
stream (a real socket), with its Esplora lookups on the replay node's REST recordings.

Expected values are computed here from the raw recorded files. The recordings hold no unconfirmed
transaction of 100 BTC or more, so the replay raises the value of five recorded transactions by
150 BTC (ledgers.replay.catalog, WHALE_VARIANT_TX_HASHES); their fee, size and times are real.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import websockets
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection, connections

from ledgers.glass.bitcoin.models import MempoolStatus, MempoolTransaction
from ledgers.glass.bitcoin.monitor import MempoolMonitor
from ledgers.glass.bitcoin.monitor_run import MONITOR_NAME, monitor_once
from ledgers.models import CollectorRun
from ledgers.replay.catalog import WHALE_VARIANT_BOOST_SAT
from tests.ledgers.glass.bitcoin import recorded
from tests.ledgers.glass.bitcoin.test_mempool import expected_urgency
from whales.models import EventType, RunStatus, Whale, WhaleEvent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
RBF_SENDER = "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj"


def recorded_whales() -> dict[str, dict]:
    """tx_hash -> {fee, vsize, value, time} of the five whale-sized variants, from the raw recordings."""
    init = {t["txid"]: t for t in recorded.frame("mainnet_mempoolInfo.json")["transactions"]}
    stratum = {t["txid"]: t for t in recorded.frame("details_rbf/tx01_ws_stratum_jobs.json")["transactions"]}
    tx01 = recorded.frame("details_rbf/tx01_api_cached.json")
    tx02 = recorded.frame("details_rbf/tx02_api_rbf.json")["replacements"]["tx"]
    cached = recorded.frame("mainnet_tx_cached.json")
    e885 = init["e88521600e3c8348d0534777ca6490091cb3cdd1fac8a2abe95123f7cef319e5"]
    s17a = stratum["17a9e5194345d8da287d49c0bf595474e08fc81434646925d6640964929aa7f9"]
    rows = {
        e885["txid"]: {"fee": e885["fee"], "vsize": e885["vsize"], "value": e885["value"], "time": None},
        s17a["txid"]: {"fee": s17a["fee"], "vsize": s17a["vsize"], "value": s17a["value"], "time": s17a["time"]},
        tx01["txid"]: {"fee": tx01["fee"], "vsize": tx01["weight"] / 4, "value": sum(v["value"] for v in tx01["vout"]),
                       "time": tx01["firstSeen"]},
        tx02["txid"]: {"fee": tx02["fee"], "vsize": tx02["vsize"], "value": tx02["value"], "time": tx02["time"]},
        cached["txid"]: {"fee": cached["fee"], "vsize": cached["weight"] / 4,
                         "value": sum(v["value"] for v in cached["vout"]), "time": cached["firstSeen"]},
    }
    for row in rows.values():
        row["value"] += WHALE_VARIANT_BOOST_SAT
    return rows


TX01 = "242f3fff9ca7d5aea7a7a57d886f3fa7329e24fac948598a991b3a3dd631cd29"
TX02 = "b6a53d8a8025c0c5b194345925a99741b645cae0b1f180f0613273029f2bf698"


def run_monitor(replay, **kwargs):
    replay.ws_rate = 25  # frames/s: the recorded stream takes ~0.6 s
    return monitor_once(ws_url=replay.bitcoin_ws_url, api_url=replay.bitcoin_url,
                        stop_when=replay.mempool_stream.finished.is_set, duration_s=30, **kwargs)


def assert_recorded_outcome(tracked: Whale) -> None:
    expected = recorded_whales()
    rows = {m.tx_hash: m for m in MempoolTransaction.objects.all()}
    assert set(rows) == set(expected)
    for tx_hash, e in expected.items():
        row, rate = rows[tx_hash], e["fee"] / e["vsize"]
        assert (row.fee_sat, row.value_sat, row.vsize_vb) == (e["fee"], e["value"], Decimal(str(e["vsize"])))
        assert row.urgency == Decimal(str(expected_urgency(rate))).quantize(Decimal("0.0001"), ROUND_HALF_EVEN)
        if e["time"] is not None:
            assert row.first_seen_at == datetime.fromtimestamp(e["time"], tz=UTC)
    # tx01 was replaced (recorded txReplaced) by tx02, whose recorded fee is higher.
    tx01, tx02 = rows[TX01], rows[TX02]
    assert (tx01.status, tx01.replaced_by_tx_hash) == (MempoolStatus.REPLACED, TX02)
    assert tx01.fee_bump_sat == expected[TX02]["fee"] - expected[TX01]["fee"] == 354
    # tx02 confirmed in the recorded block 890,448 (its txConfirmed), 124 s after it was first seen.
    block = recorded.frame("details_rbf/tx02_ws_block.json")["block"]
    assert (tx02.status, tx02.confirmed_block_number, tx02.confirmed_block_hash) == (
        MempoolStatus.CONFIRMED, block["height"], block["id"])
    assert tx02.time_to_confirm_s == block["timestamp"] - expected[TX02]["time"] == 124
    others = [rows[t] for t in expected if t not in (TX01, TX02)]
    assert {m.status for m in others} == {MempoolStatus.PENDING}
    # Full transactions come from Esplora where the recordings have them; 17a9e519 and e8852160 are
    # known to the stream only (no REST recording): stored from the summary.
    cached = recorded.frame("mainnet_tx_cached.json")["txid"]
    assert {t for t, m in rows.items() if m.has_full_tx} == {TX01, TX02, cached}
    assert tx01.whale_id == tracked.id and tx02.whale_id == tracked.id
    events = list(WhaleEvent.objects.filter(type=EventType.MEMPOOL_WHALE).values_list("tx_hash", "whale_id"))
    assert sorted(t for t, _ in events) == sorted(expected)  # one event per whale, none twice
    assert dict(events)[TX01] == tracked.id
    # Each event was published to the live feed once its row committed (claimed exactly once).
    assert not WhaleEvent.objects.filter(type=EventType.MEMPOOL_WHALE, published_at__isnull=True).exists()


def test_monitor_follows_the_recorded_stream(replay):
    tracked = Whale.objects.create(chain="bitcoin", address=RBF_SENDER, name="RBF sender")
    result = run_monitor(replay)
    assert result.status == RunStatus.OK, result.error
    stats = result.extra
    assert stats["whales"] == stats["whales_published"] == 5 and stats["reconnects"] == 0
    assert stats["replaced"] == 1 and stats["confirmed"] == 1 and stats["malformed"] == 0
    assert stats["messages"] == 1 + replay.mempool_stream.script_length  # INIT + every frame (all tracked)
    assert_recorded_outcome(tracked)
    run = CollectorRun.objects.get(collector=MONITOR_NAME)
    assert (run.status, run.items_written) == (RunStatus.OK, 5)
    # The monitor tracked tx01 then its replacement, so the server sent it the conditional frames.
    tracks = [m["track-tx"] for m in replay.mempool_stream.client_messages if isinstance(m, dict) and "track-tx" in m]
    assert TX01 in tracks and TX02 in tracks and replay.mempool_stream.frames_skipped == 0
    # A second run over the same stream changes nothing.
    outcome = MempoolTransaction.objects.order_by("tx_hash").values_list("tx_hash", "status", "fee_bump_sat")
    before = list(outcome)
    replay.mempool_stream.reset()
    again = run_monitor(replay)
    assert again.extra["whales_published"] == 0
    assert list(outcome.all()) == before
    assert WhaleEvent.objects.filter(type=EventType.MEMPOOL_WHALE).count() == 5


def test_a_stream_that_ends_at_once_is_handled_to_its_last_frame(replay):
    """The server sends the whole recording as fast as it can, so it is done (``finished``) while the frames
    still wait in the monitor's socket: stopping then must not drop them."""
    Whale.objects.create(chain="bitcoin", address=RBF_SENDER)
    replay.ws_rate = 0
    result = monitor_once(ws_url=replay.bitcoin_ws_url, api_url=replay.bitcoin_url,
                          stop_when=replay.mempool_stream.finished.is_set, duration_s=30)
    assert result.status == RunStatus.OK, result.error
    stream = replay.mempool_stream  # conditional frames the monitor could not ask for in time are skipped
    assert result.extra["messages"] == 1 + stream.script_length - stream.frames_skipped
    assert result.extra["whales"] == result.extra["whales_published"] == 5


def test_dropped_connection_reconnects_with_no_whale_missed_or_published_twice(replay):
    tracked = Whale.objects.create(chain="bitcoin", address=RBF_SENDER)
    replay.ws_faults.drop_after(6)  # abrupt TCP drop mid-stream (after INIT + 5 script frames)
    replay.ws_faults.rewind(4, times=2)  # the 1st connection has nothing to rewind; the 2nd resends 4 frames
    result = run_monitor(replay)
    stats = result.extra
    assert result.status == RunStatus.OK and stats["reconnects"] == 1 and replay.mempool_stream.connections == 2
    assert stats["duplicates_skipped"] > 0  # INIT and the rewound frames came twice
    assert stats["whales_published"] == 5 and stats["whales"] == 5
    assert_recorded_outcome(tracked)


def test_malformed_frames_are_logged_and_skipped_and_the_stream_goes_on(replay, caplog):
    tracked = Whale.objects.create(chain="bitcoin", address=RBF_SENDER)
    replay.ws_faults.malformed(before_frame=3)
    replay.ws_faults.malformed(before_frame=11, text="not json at all")
    result = run_monitor(replay)
    assert result.extra["malformed"] == 2 and result.extra["whales_published"] == 5
    logged = [r.frame for r in caplog.records if r.message == "bitcoin.mempool.malformed_frame"]
    assert logged == ['{"transactions": [{"txid": ', "not json at all"]
    assert_recorded_outcome(tracked)


def test_whales_not_seen_for_the_drop_time_are_dropped_on_the_next_block(replay):
    """With a drop time of 0 s, the whales Esplora does not know (e8852160, 17a9e519: stream only)
    are dropped at the next recorded block; the ones that end otherwise are not."""
    import asyncio

    from ledgers.glass.bitcoin.client import EsploraClient

    replay.ws_rate = 25
    esplora = EsploraClient(replay.bitcoin_url, retries=0)
    monitor = MempoolMonitor(ws_url=replay.bitcoin_ws_url, esplora=esplora, drop_after_s=0)
    stats = asyncio.run(monitor.run(stop_when=replay.mempool_stream.finished.is_set, duration_s=30))
    statuses = dict(MempoolTransaction.objects.values_list("tx_hash", "status"))
    assert statuses["e88521600e3c8348d0534777ca6490091cb3cdd1fac8a2abe95123f7cef319e5"] == MempoolStatus.DROPPED
    assert statuses["17a9e5194345d8da287d49c0bf595474e08fc81434646925d6640964929aa7f9"] == MempoolStatus.DROPPED
    assert (statuses[TX01], statuses[TX02]) == (MempoolStatus.REPLACED, MempoolStatus.CONFIRMED)
    assert stats.dropped == 2


def test_live_statistics_in_health_while_running(replay, client):
    replay.ws_rate = 25
    stop = threading.Event()

    def monitor_in_thread() -> None:
        try:
            monitor_once(ws_url=replay.bitcoin_ws_url, api_url=replay.bitcoin_url, stop_when=stop.is_set)
        finally:
            connections.close_all()  # this thread's database connection

    thread = threading.Thread(target=monitor_in_thread)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            live = (cache.get("bitcoin.mempool.monitor") or {})
            if replay.mempool_stream.finished.is_set() and live.get("messages") == 15 and live.get("connected"):
                break
            time.sleep(0.1)
        health = client.get("/api/v1/collectors/health").json()["items"]
        item = next(i for i in health if i["name"] == MONITOR_NAME)
        assert item["live"]["connected"] is True and item["is_stale"] is False, item
        assert item["live"]["messages"] == 15 and item["live"]["whales"] == 5
        assert item["live"]["last_message_age_s"] < 20 and item["live"]["reconnects"] == 0
        body = client.get("/health").json()
        assert next(i for i in body["collectors"] if i["name"] == MONITOR_NAME)["live"]["connected"] is True
    finally:
        stop.set()
        thread.join(timeout=15)
    assert not thread.is_alive()
    item = next(i for i in client.get("/api/v1/collectors/health").json()["items"] if i["name"] == MONITOR_NAME)
    assert item["live"]["connected"] is False and item["is_stale"] is True


def test_command_stops_gracefully_on_sigterm(replay):
    replay.ws_rate = 25
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(  # noqa: S603  (our own manage.py with fixed arguments)
        [sys.executable, "manage.py", "monitor_mempool", "--ws-url", replay.bitcoin_ws_url,
         "--api-url", replay.bitcoin_url], cwd=django_settings.BASE_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert replay.mempool_stream.finished.wait(30)
        deadline = time.monotonic() + 10
        while MempoolTransaction.objects.filter(status="confirmed").count() < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "bitcoin_mempool: ok" in out and "5 whales (5 new events)" in out and "1 replaced, 1 confirmed" in out
    assert MempoolTransaction.objects.count() == 5


def test_database_faults_during_the_stream_lose_no_whale_and_do_not_stop_the_monitor(replay):
    """The monitor process, its statements limited to 0.5 s, while another session holds an exclusive lock
    on the mempool table for most of the stream: every store then fails with a real OperationalError
    ("canceling statement due to statement timeout"). The node also drops the connection and resends four
    frames, so whales already in the dedupe LRU come again and are skipped. Once the lock is gone the
    queued stores succeed: every recorded whale is stored once, with its replacement and confirmation, and
    the same process goes on (until SIGTERM)."""
    tracked = Whale.objects.create(chain="bitcoin", address=RBF_SENDER)
    cache.delete("bitcoin.mempool.monitor")  # the statistics this process will publish, none from before
    replay.ws_rate = 3  # frames/s: the stream lasts ~5 s, long enough to lock after the first frame
    replay.ws_faults.drop_after(8)
    replay.ws_faults.rewind(4, times=2)
    db = connection.settings_dict
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
                           "?options=-c%20statement_timeout%3D500"}
    proc = subprocess.Popen(  # noqa: S603  (our own manage.py with fixed arguments)
        [sys.executable, "manage.py", "monitor_mempool", "--ws-url", replay.bitcoin_ws_url,
         "--api-url", replay.bitcoin_url], cwd=django_settings.BASE_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    locker = connections.create_connection("default")  # a session of its own, like another process
    try:
        deadline = time.monotonic() + 20
        while (cache.get("bitcoin.mempool.monitor") or {}).get("messages", 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        with locker.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("LOCK TABLE bitcoin_mempooltransaction IN ACCESS EXCLUSIVE MODE")
            assert replay.mempool_stream.finished.wait(30)
            time.sleep(1)  # a few more retries fail against the lock
            cursor.execute("ROLLBACK")
        deadline = time.monotonic() + 45  # the queued stores retry with backoff (at most 30 s apart)
        while time.monotonic() < deadline:
            stats = cache.get("bitcoin.mempool.monitor")
            if stats["unstored"] == 0 and stats["store_failures"] >= 1:
                break
            time.sleep(0.2)
        assert proc.poll() is None  # the same process, still running
        assert stats["store_failures"] >= 1 and stats["unstored"] == 0 and stats["duplicates_skipped"] > 0
        assert stats["reconnects"] == 1 and stats["connected"] is True
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        locker.close()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    # Stored late, tx02 was looked up after the recorded block, so it was stored confirmed at once (the
    # monitor's "confirmed" counter counts only confirmations of rows already pending): the rows say it all.
    assert "bitcoin_mempool: ok" in out and "5 whales (5 new events)" in out and "1 replaced" in out
    assert_recorded_outcome(tracked)


def test_reconnect_backoff_is_configured_and_retries_an_unresponsive_server():
    """Settings reach the websockets library's backoff (1 s to 30 s); against a server that accepts TCP
    but never answers the handshake, the monitor keeps retrying with backoff instead of giving up."""
    assert (websockets.client.BACKOFF_MIN_DELAY, websockets.client.BACKOFF_MAX_DELAY) == (
        django_settings.BITCOIN_WS_BACKOFF_MIN_S, django_settings.BITCOIN_WS_BACKOFF_MAX_S) == (1.0, 30.0)
    assert websockets.client.BACKOFF_INITIAL_DELAY == 1.0 and websockets.client.BACKOFF_FACTOR == 2.0
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            accepted.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    port = listener.getsockname()[1]
    import asyncio

    monitor = MempoolMonitor(ws_url=f"ws://127.0.0.1:{port}/api/v1/ws", esplora=None, open_timeout_s=0.3)
    stats = asyncio.run(monitor.run(duration_s=3.5))
    listener.close()
    for conn in accepted:
        conn.close()
    # attempt 1 at 0 s, 2 after a jittered delay in [0, 1) s, 3 one second later, 4 not before ~4 s
    assert 2 <= len(accepted) <= 4 and stats.connections == 0
