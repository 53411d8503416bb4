"""mempool.space's WebSocket (``/api/v1/ws``) played from real recorded messages, with fault injection.

Source: ``bitcoin-mempool-space-fixtures/`` under the data directory (mempool.space's own Cypress
fixtures and backend test data, see its PROVENANCE.md), read in place once, in ``MempoolScript.load``.

Protocol (``MempoolStream.handle``, one thread per connection): the server waits for the client's
first message (at most ``first_message_timeout_s``, 2 s), sends the INIT frame
(``mainnet_mempoolInfo.json``, what mempool.space sends on connect), then plays the SCRIPT from a
cursor GLOBAL to the stream: a reconnecting client continues where the previous connection stopped
(after INIT again). Client messages (``{"action": "init"}``, ``{"action": "want", "data": [...]}``,
``{"track-rbf": "all"}``, ``{"track-tx": txid}``, ``{"track-tx": "stop"}``) are read at any time; the
latest ``track-tx`` of a connection decides its conditional frames. After the script the connection
stays open and idle. Frames are JSON text, ``rate`` per second (0 = as fast as possible).

SCRIPT (``SCRIPT_SPEC``; "verbatim" = the file's JSON re-serialized; paths under frontend-cypress-fixtures/):

 0. details_rbf/tx01_ws_stratum_jobs.json      1. details_rbf/tx01_ws_blocks_01.json
 2. details_rbf/tx01_ws_mempool_blocks_01.json
 3. DERIVED ``{"transactions": [summary of details_rbf/tx01_api_cached.json]}`` (tx 242f3fff...)
 4. rbf_page/rbf_01.json
 5. details_rbf/tx01_ws_tx_replaced.json: only to a client tracking 242f3fff... (mempool.space sends
    ``txReplaced`` to the trackers of the replaced tx), skipped for the others
 6. DERIVED ``{"transactions": [replacements.tx of details_rbf/tx02_api_rbf.json]}`` (tx b6a53d8a...,
    its recorded summary without ``rbf``/``fullRbf``)
 7. details_rbf/tx02_ws_mempool_blocks_01.json, 8. details_rbf/tx02_ws_tx_position.json,
 9. details_rbf/tx02_ws_next_block.json: ``txPosition`` only to trackers of b6a53d8a...; the others
    get 7 and 9 without ``txPosition`` and skip 8
10. rbf_page/rbf_02.json
11. details_rbf/tx02_ws_block.json (block 890,448): ``txConfirmed`` only to trackers of b6a53d8a...
    (``block`` goes to everyone). Playing it confirms b6a53d8a... in that block for the REST view
    (``EsploraIndex.confirm``), DERIVED: the REST status follows what the stream has shown.
12. DERIVED ``{"transactions": [summary of mainnet_tx_cached.json]}`` (tx 21518a98...)
13. DERIVED ``{"transactions": [summaries of the unconfirmed txs of backend-test-data/
    transactions-random.json, transactions-rbfs.json, transactions-replaced.json]}``, in file order

A summary is mempool.space's stripped transaction ``{txid, fee, vsize, value, rate, time?}`` (see
``tx_summary``). WHALE-SIZED VARIANTS, DERIVED: the recordings hold no unconfirmed tx of 100 BTC or
more, so in every ``transactions`` list (INIT included) the ``value`` of ``WHALE_VARIANT_TX_HASHES`` is
raised by ``WHALE_VARIANT_BOOST_SAT`` (150 BTC); fee, vsize, rate and time stay the real ones. REST
answers (``ledgers.replay.bitcoin``) stay verbatim.

Faults (``WsFaultInjector``): abrupt TCP drop after N frames, a rewind on the next connection, one
malformed (invalid JSON) text frame before a given script frame.
"""

import copy
import json
import logging
import os
import selectors
import socket
import struct
import threading
import time
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from ledgers.replay.bitcoin import FIXTURES_DIR, EsploraIndex, is_txid
from ledgers.replay.catalog import (
    REPLACED_TX_HASH,
    REPLACEMENT_TX_HASH,
    WHALE_VARIANT_BOOST_SAT,
    WHALE_VARIANT_TX_HASHES,
)

logger = logging.getLogger(__name__)

WS_PATH = "/bitcoin/api/v1/ws"
FRONTEND_DIR = "frontend-cypress-fixtures"
BACKEND_DIR = "backend-test-data"
INIT_FILE = "mainnet_mempoolInfo.json"
DEFAULT_WS_RATE = 50.0
FIRST_MESSAGE_TIMEOUT_S = 2.0
DEFAULT_MALFORMED_TEXT = '{"transactions": [{"txid": '

SUMMARY_KEYS = ("txid", "fee", "vsize", "value", "rate", "time")


def tx_summary(tx: dict) -> dict:
    """mempool.space's stripped transaction (the WebSocket ``transactions`` item) of an Esplora tx.

    Shape: ``{"txid", "fee", "vsize", "value", "rate", "time"}``; ``time`` only when the object has
    ``firstSeen``. Units: fee and value (sum of the outputs) in satoshis; vsize = weight / 4 in vbytes,
    a JSON number as JavaScript writes it (``140.25``, ``233``); rate = fee / vsize in sat/vB.
    Raises: KeyError / TypeError for an object without txid, fee, weight or vout values.
    """
    quarter = tx["weight"] / 4
    vsize: int | float = int(quarter) if quarter.is_integer() else quarter
    summary = {
        "txid": tx["txid"],
        "fee": tx["fee"],
        "vsize": vsize,
        "value": sum(vout["value"] for vout in tx["vout"]),
        "rate": tx["fee"] / quarter,
    }
    if "firstSeen" in tx:
        summary["time"] = tx["firstSeen"]
    return summary


def whale_variant(payload: dict) -> dict:
    """``payload`` with the ``value`` of every ``transactions`` item in WHALE_VARIANT_TX_HASHES raised by
    WHALE_VARIANT_BOOST_SAT (DERIVED whale-sized variants; everything else unchanged, a new object)."""
    items = payload.get("transactions")
    if not isinstance(items, list):
        return payload
    boosted = [
        {**item, "value": item["value"] + WHALE_VARIANT_BOOST_SAT}
        if isinstance(item, dict) and item.get("txid") in WHALE_VARIANT_TX_HASHES and isinstance(item.get("value"), int)
        else item
        for item in items
    ]
    return {**payload, "transactions": boosted}


@dataclass(frozen=True)
class ScriptFrame:
    """One frame of the script: ``payload`` is what a client tracking ``track_txid`` gets (everyone
    when ``track_txid`` is None); ``untracked`` what the others get instead (None = skipped for them).
    ``confirms`` = ``(txid, Esplora status)`` a ``block`` frame confirms for the REST view."""

    source: str
    payload: dict
    track_txid: str | None = None
    untracked: dict | None = None
    confirms: tuple[str, dict] | None = None

    @property
    def conditional(self) -> bool:
        """True when what is sent depends on the connection's ``track-tx``."""
        return self.track_txid is not None

    def for_client(self, tracked: str | None) -> dict | None:
        """The payload for a connection tracking ``tracked``; None = skipped."""
        if self.track_txid is None or tracked == self.track_txid:
            return self.payload
        return self.untracked


# (source, kind, track_txid, key removed for the other clients or None = skip for them)
# kind: "file" = verbatim, "summary" = {"transactions": [tx_summary(file)]}, "rbf" = replacements.tx.
SCRIPT_SPEC: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("details_rbf/tx01_ws_stratum_jobs.json", "file", None, None),
    ("details_rbf/tx01_ws_blocks_01.json", "file", None, None),
    ("details_rbf/tx01_ws_mempool_blocks_01.json", "file", None, None),
    ("details_rbf/tx01_api_cached.json", "summary", None, None),
    ("rbf_page/rbf_01.json", "file", None, None),
    ("details_rbf/tx01_ws_tx_replaced.json", "file", REPLACED_TX_HASH, None),
    ("details_rbf/tx02_api_rbf.json", "rbf", None, None),
    ("details_rbf/tx02_ws_mempool_blocks_01.json", "file", REPLACEMENT_TX_HASH, "txPosition"),
    ("details_rbf/tx02_ws_tx_position.json", "file", REPLACEMENT_TX_HASH, None),
    ("details_rbf/tx02_ws_next_block.json", "file", REPLACEMENT_TX_HASH, "txPosition"),
    ("rbf_page/rbf_02.json", "file", None, None),
    ("details_rbf/tx02_ws_block.json", "file", REPLACEMENT_TX_HASH, "txConfirmed"),
    ("mainnet_tx_cached.json", "summary", None, None),
    ("backend", "unconfirmed", None, None),
)
UNCONFIRMED_FILES = ("transactions-random.json", "transactions-rbfs.json", "transactions-replaced.json")


def _block_status(block: dict) -> dict:
    return {"confirmed": True, "block_height": block["height"], "block_hash": block["id"],
            "block_time": block["timestamp"]}


@dataclass
class MempoolScript:
    """The INIT frame and the SCRIPT frames (see the module docstring). Build with ``load``."""

    init: dict | None = None
    frames: list[ScriptFrame] = field(default_factory=list)

    @classmethod
    def load(cls, data_dir: Path) -> "MempoolScript":
        """Read the frames from ``data_dir / bitcoin-mempool-space-fixtures``; a frame whose file is
        missing or unreadable is left out (logged). Raises: nothing."""
        root = Path(data_dir) / FIXTURES_DIR
        script = cls()
        with suppress(OSError, ValueError):
            script.init = whale_variant(json.loads((root / FRONTEND_DIR / INIT_FILE).read_text()))
        for source, kind, track_txid, strip in SCRIPT_SPEC:
            try:
                payload = _payload(root, source, kind)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                logger.warning("replay.mempool_ws.frame_missing", extra={"source": source, "error": str(exc)})
                continue
            payload = whale_variant(payload)
            untracked = None if strip is None else {k: v for k, v in payload.items() if k != strip}
            confirms = None
            if isinstance(payload.get("block"), dict) and isinstance(payload.get("txConfirmed"), str):
                confirms = (payload["txConfirmed"], _block_status(payload["block"]))
            name = f"DERIVED from {source}" if kind != "file" else source
            script.frames.append(ScriptFrame(name, payload, track_txid, untracked, confirms))
        return script

    @property
    def block_heights(self) -> tuple[int, ...]:
        """Heights of every block in the INIT and script frames (``blocks`` lists and ``block``)."""
        heights: list[int] = []
        for payload in [self.init or {}, *(f.payload for f in self.frames)]:
            listed = payload.get("blocks")
            blocks: list[Any] = listed if isinstance(listed, list) else []
            if isinstance(payload.get("block"), dict):
                blocks = [*blocks, payload["block"]]
            heights.extend(b["height"] for b in blocks if isinstance(b, dict) and isinstance(b.get("height"), int))
        return tuple(heights)


def _payload(root: Path, source: str, kind: str) -> dict:
    if kind == "unconfirmed":
        items = []
        for name in UNCONFIRMED_FILES:
            items.extend(json.loads((root / BACKEND_DIR / name).read_text()))
        return {"transactions": [tx_summary(t) for t in items if not t["status"].get("confirmed")]}
    doc = json.loads((root / FRONTEND_DIR / source).read_text())
    if kind == "summary":
        return {"transactions": [tx_summary(doc)]}
    if kind == "rbf":
        tx = doc["replacements"]["tx"]
        return {"transactions": [{k: tx[k] for k in SUMMARY_KEYS if k in tx}]}
    if not isinstance(doc, dict):
        raise ValueError("a WebSocket frame must be a JSON object")
    return doc


@dataclass
class WsFault:
    """One WebSocket fault: ``kind`` ``drop_after`` (``frames`` = frames sent on a connection, INIT
    counted), ``rewind`` (``frames`` = script frames resent) or ``malformed`` (``frames`` = script index
    it precedes, ``text`` = what is sent); ``remaining`` = connections (or frames) it still hits."""

    kind: str
    frames: int
    remaining: int = 1
    text: str = ""


class WsFaultInjector:
    """The active WebSocket faults of one stream (thread-safe); ``clear()`` removes all."""

    HTTP_FIELDS = frozenset({"path_prefix", "drop_after", "rewind", "malformed_before_frame", "text", "times"})

    def __init__(self) -> None:
        self._faults: list[WsFault] = []
        self._lock = threading.Lock()

    def drop_after(self, n_frames: int, times: int = 1) -> WsFault:
        """Abort the TCP connection abruptly (no close frame) right after it has sent ``n_frames``
        frames (INIT counted), on the next ``times`` connections that get that far. The script frame
        that would have come next is not consumed. Raises: ValueError for n_frames or times < 1."""
        return self._add(WsFault("drop_after", _positive(n_frames, "n_frames"), _positive(times, "times")))

    def rewind(self, n: int, times: int = 1) -> WsFault:
        """On the next ``times`` connections, resend the last ``n`` script frames already played (after
        INIT) before continuing. Raises: ValueError for n or times < 1."""
        return self._add(WsFault("rewind", _positive(n, "n"), _positive(times, "times")))

    def malformed(self, *, before_frame: int, text: str = DEFAULT_MALFORMED_TEXT) -> WsFault:
        """Send ``text`` (invalid JSON by default) once, as a text frame, right before script frame
        ``before_frame`` (an index of ``script_frames()``, i.e. when ``position == before_frame``).
        Raises: ValueError for a negative index or a non-string text."""
        if isinstance(before_frame, bool) or not isinstance(before_frame, int) or before_frame < 0:
            raise ValueError("before_frame must be an integer >= 0")
        if not isinstance(text, str):
            raise ValueError("text must be a string")
        return self._add(WsFault("malformed", before_frame, 1, text))

    def _add(self, fault: WsFault) -> WsFault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def parse_http(self, specs: list[dict]) -> list[WsFault]:
        """Faults from the control endpoint's JSON objects (not added): ``{"path_prefix":
        "/bitcoin/api/v1/ws"`` plus one of ``"drop_after": n``, ``"rewind": n`` (both with optional
        ``"times"``) or ``"malformed_before_frame": k`` (optional ``"text"``)``}``.
        Raises: ValueError describing the first bad spec."""
        probe = WsFaultInjector()
        for spec in specs:
            kinds = [k for k in ("drop_after", "rewind", "malformed_before_frame") if spec.get(k) is not None]
            if set(spec) - self.HTTP_FIELDS or len(kinds) != 1:
                raise ValueError(f"WebSocket fault fields are {sorted(self.HTTP_FIELDS)}, with exactly one of "
                                 "drop_after, rewind, malformed_before_frame")
            if kinds == ["malformed_before_frame"]:
                if "times" in spec:
                    raise ValueError("a malformed frame is sent once: no times")
                probe.malformed(before_frame=spec["malformed_before_frame"],
                                text=spec.get("text", DEFAULT_MALFORMED_TEXT))
            elif "text" in spec:
                raise ValueError("text goes with malformed_before_frame only")
            elif kinds == ["drop_after"]:
                probe.drop_after(spec["drop_after"], times=spec.get("times", 1))
            else:
                probe.rewind(spec["rewind"], times=spec.get("times", 1))
        return probe._faults

    def extend(self, faults: list[WsFault]) -> None:
        """Add already validated faults (from ``parse_http``)."""
        with self._lock:
            self._faults.extend(faults)

    def clear(self) -> None:
        """Remove every WebSocket fault."""
        with self._lock:
            self._faults.clear()

    def active(self) -> list[dict]:
        """The faults still active, as dicts ``{"path_prefix", "kind", "frames", "remaining", "text"}``."""
        with self._lock:
            return [{"path_prefix": WS_PATH, **asdict(f)} for f in self._faults]

    def _take(self, kind: str, frames: int | None) -> WsFault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind == kind and (frames is None or fault.frames == frames):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def take_drop(self, sent_on_connection: int) -> bool:
        """True (counting one use) when a connection that has sent this many frames must be dropped."""
        return self._take("drop_after", sent_on_connection) is not None

    def take_rewind(self) -> int:
        """Script frames to resend on a new connection (0 = none), counting one use."""
        fault = self._take("rewind", None)
        return fault.frames if fault is not None else 0

    def take_malformed(self, position: int) -> str | None:
        """The malformed text to send before script frame ``position``, once; None = none."""
        fault = self._take("malformed", position)
        return fault.text if fault is not None else None


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1")
    return value


@dataclass
class _Client:
    id: int
    tracked: str | None = None
    sent: int = 0
    last_send: float | None = None


class MempoolStream:
    """The playback state shared by every connection of one replay node (thread-safe).

    ``index`` (the REST view, optional) is told when a block frame confirms a tx and forgets those
    confirmations on ``reset()``. ``rate`` = frames per second per connection (0 = no wait);
    ``faults`` = WsFaultInjector; ``finished`` is set when the cursor reaches the end of the script.
    """

    def __init__(self, script: MempoolScript, *, index: EsploraIndex | None = None,
                 rate: float = DEFAULT_WS_RATE) -> None:
        self._script = script
        self._init_text = _encode(script.init) if script.init is not None else None
        self._texts = [(_encode(f.payload), _encode(f.untracked) if f.untracked is not None else None)
                       for f in script.frames]
        self._index = index
        self.rate = rate
        self.first_message_timeout_s = FIRST_MESSAGE_TIMEOUT_S
        self.faults = WsFaultInjector()
        self.finished = threading.Event()
        self._lock = threading.Lock()
        self._open: set[ServerConnection] = set()
        self._reset_counters()

    def _reset_counters(self) -> None:
        self._cursor = 0
        self._frames_sent = 0
        self._frames_skipped = 0
        self._connections = 0
        self._tracked: dict[int, str | None] = {}
        self._client_messages: list[Any] = []
        if self._script.frames:
            self.finished.clear()
        else:
            self.finished.set()

    def reset(self) -> None:
        """Back to the start: cursor 0, counters, tracked txids and client messages emptied, WebSocket
        faults cleared, REST confirmations from the stream forgotten. Open connections stay open."""
        with self._lock:
            self._reset_counters()
        self.faults.clear()
        if self._index is not None:
            self._index.clear_confirmations()

    # --- read-only views for tests and the command -------------------------------------------
    @property
    def script_length(self) -> int:
        """Number of SCRIPT frames (INIT not counted)."""
        return len(self._script.frames)

    @property
    def position(self) -> int:
        """Script frames played so far (sent or skipped): the global cursor."""
        with self._lock:
            return self._cursor

    @property
    def frames_sent(self) -> int:
        """Text frames sent on all connections: INIT, script frames (resent ones too), malformed frames."""
        with self._lock:
            return self._frames_sent

    @property
    def frames_skipped(self) -> int:
        """Conditional script frames skipped because the connection did not track their tx."""
        with self._lock:
            return self._frames_skipped

    @property
    def connections(self) -> int:
        """WebSocket connections accepted (handshake done) since start or ``reset()``."""
        with self._lock:
            return self._connections

    @property
    def tracked(self) -> dict[int, str | None]:
        """Latest ``track-tx`` per connection number (1 = first connection since reset; None = stopped);
        only connections that sent one."""
        with self._lock:
            return dict(self._tracked)

    @property
    def client_messages(self) -> list[Any]:
        """Every client message in arrival order, parsed as JSON (the raw text when it is not JSON)."""
        with self._lock:
            return list(self._client_messages)

    def script_frames(self) -> list[ScriptFrame]:
        """The SCRIPT frames (copies), in order; ``.conditional`` tells the track-tx dependent ones."""
        return copy.deepcopy(self._script.frames)

    def init_frame(self) -> dict | None:
        """The INIT frame sent first on every connection (a copy); None when not recorded."""
        return copy.deepcopy(self._script.init)

    # --- connection handling (one thread per connection) -------------------------------------
    def handle(self, conn: ServerConnection) -> None:
        """Serve one accepted connection until it closes (the websockets handler)."""
        with self._lock:
            self._connections += 1
            client = _Client(self._connections)
            self._open.add(conn)
        try:
            if self._play(conn, client):
                for message in conn:  # idle after the script: only read what the client says
                    self._receive(client, message)
        except ConnectionClosed:
            pass  # the client left
        finally:
            with self._lock:
                self._open.discard(conn)

    def close_all(self) -> None:
        """Close every open connection (close code 1001, going away)."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            conn.close(1001, "replay node stopped")

    def _play(self, conn: ServerConnection, client: _Client) -> bool:
        """INIT, any rewind, then the script from the global cursor; False when the connection was dropped."""
        try:
            self._receive(client, conn.recv(timeout=self.first_message_timeout_s))
        except TimeoutError:
            pass  # a silent client gets the init data anyway
        self._drain(conn, client)
        if self._init_text is not None and not self._send(conn, client, self._init_text):
            return False
        rewind = self.faults.take_rewind()
        if rewind:
            with self._lock:
                replay = range(max(0, self._cursor - rewind), self._cursor)
            for index in replay:
                self._wait_slot(conn, client)
                text = self._text_for(index, client)
                if text is None:
                    with self._lock:
                        self._frames_skipped += 1
                    continue
                self._apply_confirmation(index)
                if not self._send(conn, client, text):
                    return False
        while True:
            self._drain(conn, client)
            with self._lock:
                index = self._cursor
            if index >= len(self._texts):
                self.finished.set()
                return True
            malformed = self.faults.take_malformed(index)
            if malformed is not None:
                self._wait_slot(conn, client)
                if not self._send(conn, client, malformed):
                    return False
                continue
            # Wait for the frame's slot even when it would be skipped now: the client's track-tx may
            # arrive meanwhile (mempool.space decides per frame as it goes out).
            self._wait_slot(conn, client)
            text = self._text_for(index, client)
            with self._lock:
                if self._cursor != index:
                    continue  # another connection played it meanwhile
                self._cursor = index + 1
                if text is None:
                    self._frames_skipped += 1
                if self._cursor >= len(self._texts):
                    self.finished.set()
            if text is None:
                continue
            newly = self._apply_confirmation(index)
            try:
                if not self._send(conn, client, text):
                    return False
            except ConnectionClosed:
                with self._lock:  # not delivered: the next connection gets it
                    if self._cursor == index + 1:
                        self._cursor = index
                        self.finished.clear()
                if newly and self._index is not None:
                    self._index.unconfirm(newly)
                raise

    def _text_for(self, index: int, client: _Client) -> str | None:
        frame = self._script.frames[index]
        full, untracked = self._texts[index]
        return full if frame.track_txid is None or client.tracked == frame.track_txid else untracked

    def _apply_confirmation(self, index: int) -> str | None:
        """Confirm the frame's tx for REST before sending (a client reading the frame then asking
        REST must see it); returns the txid when this newly confirmed it."""
        confirms = self._script.frames[index].confirms
        if confirms is None or self._index is None:
            return None
        return confirms[0] if self._index.confirm(*confirms) else None

    def _send(self, conn: ServerConnection, client: _Client, text: str) -> bool:
        """Send one frame; False when a drop fault then aborted the connection."""
        conn.send(text)
        client.sent += 1
        client.last_send = time.monotonic()
        with self._lock:
            self._frames_sent += 1
        if self.faults.take_drop(client.sent):
            _abort(conn)
            return False
        return True

    def _wait_slot(self, conn: ServerConnection, client: _Client) -> None:
        """Wait until the rate allows the next frame, reading client messages meanwhile."""
        rate = self.rate
        if not rate or client.last_send is None:
            return
        deadline = client.last_send + 1 / rate
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                self._receive(client, conn.recv(timeout=remaining))
            except TimeoutError:
                return

    def _drain(self, conn: ServerConnection, client: _Client) -> None:
        while True:
            try:
                self._receive(client, conn.recv(timeout=0))
            except TimeoutError:
                return

    def _receive(self, client: _Client, raw: str | bytes) -> None:
        try:
            message: Any = json.loads(raw)
        except ValueError:
            message = raw
        with self._lock:
            self._client_messages.append(message)
            if isinstance(message, dict) and "track-tx" in message:
                value = message["track-tx"]
                if isinstance(value, str) and is_txid(value):
                    client.tracked = value.lower()
                elif value == "stop":
                    client.tracked = None
                else:
                    return  # mempool.space ignores an invalid txid
                self._tracked[client.id] = client.tracked


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _abort(conn: ServerConnection) -> None:
    """Drop the TCP connection without a close frame: SO_LINGER 0 makes the close send a RST."""
    with suppress(OSError):
        conn.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close_socket()
    conn.recv_events_thread.join(timeout=5)


class MempoolWsServer:
    """The WebSocket listener of a replay node: ``websockets.sync.server`` on ``host:port`` (0 = any
    free port), accepting in a daemon thread, one daemon thread per connection, path WS_PATH only
    (any other path is refused with HTTP 404). Raises: OSError (``start``) when the port cannot be bound."""

    def __init__(self, stream: MempoolStream, host: str, port: int = 0) -> None:
        self.stream = stream
        self.host = host
        self.port = port
        self._server: Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self) -> None:
        """Bind and accept in a daemon thread. Raises: RuntimeError if already started, OSError."""
        if self._server is not None:
            raise RuntimeError("WebSocket server already started")
        self._stopping.clear()
        self._server = serve(self.stream.handle, self.host, self.port, process_request=_only_ws_path,
                             compression=None, close_timeout=2, server_header="WhaleTrackReplay/1.0")
        self._thread = threading.Thread(target=self._accept, args=(self._server,),
                                        name=f"replay-ws:{self._server.socket.getsockname()[1]}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting and close every open connection (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        server.socket.close()
        with suppress(AttributeError, OSError):  # websockets' shutdown pipe, unused by this accept loop
            os.close(server.shutdown_watcher)
            os.close(server.shutdown_notifier)
        self.stream.close_all()

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/bitcoin/api/v1/ws``. Raises: RuntimeError before ``start()``."""
        if self._server is None:
            raise RuntimeError("WebSocket server is not running")
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}{WS_PATH}"

    def _accept(self, server: Server) -> None:
        # websockets' serve_forever() runs connections in non-daemon threads, which would keep the
        # process alive with an idle client; this loop is the same with daemon threads.
        with selectors.DefaultSelector() as poller:
            poller.register(server.socket, selectors.EVENT_READ)
            while not self._stopping.is_set():
                if not poller.select(timeout=0.05):
                    continue
                try:
                    sock, addr = server.socket.accept()
                except OSError:
                    break
                threading.Thread(target=server.handler, args=(sock, addr), name="replay-ws-conn", daemon=True).start()


def _only_ws_path(connection: ServerConnection, request: Request) -> Response | None:
    if urlsplit(request.path).path != WS_PATH:
        return connection.respond(404, "Not Found\n")
    return None
