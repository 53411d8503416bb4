"""The replay node: a loopback HTTP server answering like the live services, from real recordings.

Paths (DESIGN.md section 6), all relative to ``ReplayServer.url``:

- ``POST /ethereum``: Ethereum JSON-RPC 2.0 (single call or batch array), see ``ledgers.replay.ethereum``;
- ``GET /coingecko/api/v3/...``: CoinGecko API v3, see ``ledgers.replay.coingecko``;
- ``GET /bitcoin/api/...``: Esplora / mempool.space REST, see ``ledgers.replay.bitcoin``;
- ``POST /hyperliquid/info``: Hyperliquid's Info API, see ``ledgers.replay.hyperliquid`` (faults can be
  restricted to one request ``type`` with ``method``; stats count the path only); requests about a simulated
  user, ``spotMeta``, ``allMids`` and the SDK's ``{"type": "meta", "dex": ""}`` are answered first by the venue
  simulator (``ledgers.replay.hyperliquid_exchange``);
- ``POST /hyperliquid/exchange``: Hyperliquid's Exchange API, SIMULATED (signed orders, cancels, agents) by
  ``ledgers.replay.hyperliquid_exchange``; the official SDK takes ``hyperliquid_url`` as its ``base_url``;
- ``POST /arbitrum``: Arbitrum One JSON-RPC 2.0 (single call or batch), see ``ledgers.replay.arbitrum``;
- ``GET /defillama-stablecoins/stablecoins`` (stablecoins.llama.fi) and ``/defillama/...`` (api.llama.fi, nothing
  recorded: 404): DeFiLlama, see ``ledgers.replay.defillama``;
- ``GET /reddit/r/<subreddit>/<listing>.json``: Reddit listings, see ``ledgers.replay.reddit``; for PRAW, the token
  request ``POST /reddit/api/v1/access_token`` (prawcore appends it to REDDIT_URL) and the OAuth listings
  ``GET /r/<subreddit>/<listing>`` (the recorded requests' own path) at the root (prawcore joins absolute paths to
  its OAuth host, which drops a path prefix);
- ``GET /sec-data/submissions/...`` (data.sec.gov) and ``GET /sec-www/cgi-bin/browse-edgar`` (www.sec.gov's
  latest-filings feed): SEC EDGAR, see ``ledgers.replay.sec``;
- ``POST /coinspot/api/v2/...`` (private, signed) and ``GET /coinspot/pubapi/v2/...`` (public): a SIMULATOR of
  Coinspot's documented API v2 (no recording exists), see ``ledgers.replay.coinspot``; its control endpoints
  ``/_replay/coinspot/{accounts,prices,state,faults}`` are there too;
- control (not counted in stats, never faulted): ``POST /_replay/faults`` (JSON list of
  ``{"path_prefix", "status", "delay_s", "malformed", "times", "method"}``, or, with ``path_prefix``
  ``/bitcoin/api/v1/ws``, WebSocket faults ``{"drop_after"|"rewind": n, "times"}`` /
  ``{"malformed_before_frame": k, "text"}``), ``GET``/``DELETE /_replay/faults`` (both kinds),
  ``GET``/``DELETE /_replay/stats``, ``GET /_replay/info``; the simulated venue's ``POST
  /_replay/hyperliquid/accounts`` (``{"user", "agents": [address], "usdc": "100000"}``: create or reset a user),
  ``POST /_replay/hyperliquid/mids`` (``{"BTC": "30000.5"}``: override mids, fill the resting orders they cross;
  answers ``{"filled": [oid]}``), ``GET``/``DELETE /_replay/hyperliquid/state`` (dump / reset users, orders,
  fills, positions, mids) and ``POST``/``GET``/``DELETE /_replay/hyperliquid/faults`` (a list of ``{"kind":
  "accept_then_timeout"|"reject"|"partial_fill"|"rate_limit"|"drop_connection", "times", "delay_s", "error",
  "fraction", "info_type"}``, see ``HYPERLIQUID_FAULTS_DOC`` below).

Only the standard library serves HTTP requests (``http.server.ThreadingHTTPServer``, HTTP/1.1
keep-alive, one thread per connection); no Django is needed inside request handling. Next to it, on
its own port, a ``websockets`` server plays mempool.space's WebSocket ``/bitcoin/api/v1/ws`` (see
``ledgers.replay.mempool_ws``); both start and stop together.
"""

import json
import logging
import socket
import threading
import time
from collections import OrderedDict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ledgers.replay.arbitrum import ArbitrumRpc, load_arbitrum_index
from ledgers.replay.bitcoin import EsploraIndex
from ledgers.replay.coingecko import CoinGeckoIndex
from ledgers.replay.coinspot import CoinspotSimulator, default_prices
from ledgers.replay.defillama import DefiLlamaRecording
from ledgers.replay.ethereum import EthereumIndex, EthereumRpc, RpcError
from ledgers.replay.faults import FaultInjector, ReplayStats
from ledgers.replay.hyperliquid import HyperliquidIndex, HyperliquidInfo
from ledgers.replay.hyperliquid_exchange import ExchangeFault, HyperliquidExchange
from ledgers.replay.mempool_ws import (
    DEFAULT_WS_RATE,
    WS_PATH,
    MempoolScript,
    MempoolStream,
    MempoolWsServer,
    WsFaultInjector,
)
from ledgers.replay.reddit import RedditIndex
from ledgers.replay.sec import SecIndex

logger = logging.getLogger(__name__)

ETH_PATH = "/ethereum"
ARBITRUM_PATH = "/arbitrum"
HYPERLIQUID_PREFIX = "/hyperliquid"
HYPERLIQUID_INFO_PATH = HYPERLIQUID_PREFIX + "/info"
HYPERLIQUID_EXCHANGE_PATH = HYPERLIQUID_PREFIX + "/exchange"
HYPERLIQUID_CONTROL_PREFIX = "/_replay/hyperliquid/"
HYPERLIQUID_FAULTS_DOC = """The simulated venue's faults (POST /_replay/hyperliquid/faults), each hitting ``times``
requests (default 1):

- rate_limit: HTTP 429 (plain-text body, ``Retry-After: 0``) before anything is done, on the next /exchange request,
  or with ``info_type`` the next /info request of that type;
- drop_connection: the socket is closed without an answer and nothing is done, on the next /exchange request, or
  with ``info_type`` (e.g. "userFills") the next /info request of that type;
- accept_then_timeout: the next /exchange request is applied, then its answer is held ``delay_s`` seconds (the
  client times out first), or, without ``delay_s``, the socket is closed without an answer;
- reject: the next order (one per use: the first ``times`` orders of order actions, after the signature, nonce and
  price/size checks) is answered ``{"error": error}`` (default "Insufficient margin to place order.") and recorded
  as rejected;
- partial_fill: the next order (one per use, likewise) fills only ``fraction`` (0-1, exclusive; rounded down to
  szDecimals) of its size now, of what crosses; a Gtc rests the remainder, an Ioc cancels it.
"""
COINGECKO_PREFIX = "/coingecko/api/v3"
BITCOIN_PREFIX = "/bitcoin/api"
SEC_DATA_PREFIX = "/sec-data"
REDDIT_PREFIX = "/reddit"
DEFILLAMA_PREFIX = "/defillama"
DEFILLAMA_STABLECOINS_PREFIX = "/defillama-stablecoins"
SEC_WWW_PREFIX = "/sec-www"
COINSPOT_PREFIX = "/coinspot"
COINSPOT_CONTROL_PREFIX = "/_replay/coinspot/"
CONTROL_PREFIX = "/_replay/"
MAX_BODY_BYTES = 16 * 1024 * 1024
JSON = "application/json"


class _EncodeCache:
    """Encoded JSON of the last few large results. Entries hold the object itself, so its ``id``
    cannot be reused by another object while cached."""

    def __init__(self, size: int = 32) -> None:
        self._items: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def encode(self, value: Any) -> bytes:
        if not isinstance(value, dict | list):
            return _dumps(value)
        key = id(value)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None and hit[0] is value:
                self._items.move_to_end(key)
                return hit[1]
        encoded = _dumps(value)
        with self._lock:
            self._items[key] = (value, encoded)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return encoded


def _dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def _rpc_error(call_id: Any, code: int, message: str) -> bytes:
    return b'{"jsonrpc":"2.0","id":%s,"error":%s}' % (_dumps(call_id), _dumps({"code": code, "message": message}))


class ReplayServer:
    """Serves the recordings under ``data_dir`` over HTTP on ``host:port`` (0 = any free port), and
    mempool.space's WebSocket on ``host:ws_port`` (0 = any free port).

    ``eth_copies=N`` adds N synthetic copies of the recorded pair 19,433,902-19,433,903 after it
    (DERIVED from the real blocks, for benchmarks; see ``ledgers.replay.ethereum``). ``head_block``
    overrides the head (default: the highest block recorded with its receipts, i.e. 19,433,903, or
    the last copy). ``ws_rate`` = WebSocket frames per second (0 = as fast as possible). The data is
    indexed in the constructor; ``start()`` binds and serves in daemon threads. In process:
    ``faults`` (FaultInjector), ``stats`` (ReplayStats), ``bitcoin`` (EsploraIndex), ``mempool_stream``
    (MempoolStream: cursor, counters, ``reset()``), ``ws_faults`` (WsFaultInjector), ``hyperliquid``
    (HyperliquidInfo: ``requests`` log, ``reset()``, ``weight_in_window(seconds)``), ``hyperliquid_exchange``
    (HyperliquidExchange, the simulated venue: ``account_set``, ``mids_set``, ``state()``, ``reset()``,
    ``faults_add``/``faults_clear``) and ``arbitrum``
    (ArbitrumRpc; its ``head`` is settable, None = the highest recorded block).

    Raises: ValueError (constructor) when ``eth_copies`` > 0 and the template pair is not recorded, or
    for a negative ``ws_rate``; OSError (``start``) when a port cannot be bound.
    """

    def __init__(
        self,
        data_dir: Path,
        host: str = "127.0.0.1",
        port: int = 0,
        eth_copies: int = 0,
        head_block: int | None = None,
        ws_port: int = 0,
        ws_rate: float = DEFAULT_WS_RATE,
    ) -> None:
        if eth_copies < 0:
            raise ValueError("eth_copies must be >= 0")
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        started = time.monotonic()
        self.eth_index = EthereumIndex.load(self.data_dir)
        self.eth = EthereumRpc(self.eth_index, copies=eth_copies, head_block=head_block)
        self.coingecko = CoinGeckoIndex.load(self.data_dir)
        self.hyperliquid = HyperliquidInfo(HyperliquidIndex.load(self.data_dir))
        self.hyperliquid_exchange = HyperliquidExchange.from_index(self.hyperliquid.index)
        self.arbitrum = ArbitrumRpc(load_arbitrum_index(self.data_dir))
        self.sec = SecIndex.load(self.data_dir)
        self.reddit = RedditIndex.load(self.data_dir)
        self.defillama = DefiLlamaRecording(self.data_dir)
        self.coinspot = CoinspotSimulator(default_prices(self.coingecko))
        script = MempoolScript.load(self.data_dir)
        self.bitcoin = EsploraIndex.load(self.data_dir, block_heights=script.block_heights)
        self.mempool_stream = MempoolStream(script, index=self.bitcoin)
        self.ws_rate = ws_rate  # validated by the setter
        self._ws = MempoolWsServer(self.mempool_stream, host, ws_port)
        self.index_seconds = time.monotonic() - started
        self.faults = FaultInjector()
        self.stats = ReplayStats()
        self._encoder = _EncodeCache()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> "ReplayServer":
        """Bind and serve in a daemon thread; returns self. Raises: RuntimeError if already started."""
        if self._httpd is not None:
            raise RuntimeError("replay server already started")
        httpd = ThreadingHTTPServer((self.host, self.port), _ReplayHandler)
        httpd.daemon_threads = True
        httpd.replay = self  # type: ignore[attr-defined]  # read by _ReplayHandler
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},  # stop() waits at most one poll
            name=f"replay-node:{httpd.server_address[1]}", daemon=True)
        self._thread.start()
        try:
            self._ws.start()
        except OSError:
            self.stop()
            raise
        logger.info("replay.started", extra={"url": self.url, "ws_url": self.bitcoin_ws_url})
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection, HTTP and WebSocket (idempotent)."""
        self._ws.stop()
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        with self._connections_lock:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass  # already closed by the peer
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        logger.info("replay.stopped", extra={"data_dir": str(self.data_dir)})

    def __enter__(self) -> "ReplayServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server. Raises: RuntimeError before ``start()``."""
        if self._httpd is None:
            raise RuntimeError("replay server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    @property
    def eth_url(self) -> str:
        """Ethereum JSON-RPC endpoint (``url + "/ethereum"``), for ETH_RPC_URL."""
        return self.url + ETH_PATH

    @property
    def coingecko_url(self) -> str:
        """CoinGecko API base (``url + "/coingecko/api/v3"``), for COINGECKO_API_URL."""
        return self.url + COINGECKO_PREFIX

    @property
    def bitcoin_url(self) -> str:
        """Esplora REST base (``url + "/bitcoin/api"``), for BITCOIN_API_URL."""
        return self.url + BITCOIN_PREFIX

    @property
    def hyperliquid_url(self) -> str:
        """Hyperliquid API base (``url + "/hyperliquid"``; clients POST to ``+ "/info"``), for HYPERLIQUID_API_URL."""
        return self.url + HYPERLIQUID_PREFIX

    @property
    def hyperliquid_exchange_url(self) -> str:
        """The simulated Exchange API (``url + "/hyperliquid/exchange"``); SDKs take ``hyperliquid_url`` and append
        ``/exchange`` themselves."""
        return self.url + HYPERLIQUID_EXCHANGE_PATH

    @property
    def arbitrum_url(self) -> str:
        """Arbitrum One JSON-RPC endpoint (``url + "/arbitrum"``), for ARBITRUM_RPC_URL."""
        return self.url + ARBITRUM_PATH

    @property
    def defillama_url(self) -> str:
        """DeFiLlama's TVL API (``url + "/defillama"``; nothing recorded), for DEFILLAMA_API_URL."""
        return self.url + DEFILLAMA_PREFIX

    @property
    def defillama_stablecoins_url(self) -> str:
        """DeFiLlama's stablecoins API (``url + "/defillama-stablecoins"``), for DEFILLAMA_STABLECOINS_URL."""
        return self.url + DEFILLAMA_STABLECOINS_PREFIX

    @property
    def reddit_url(self) -> str:
        """Reddit's base (``url + "/reddit"``; listings at ``/r/<sub>/<listing>.json``), for REDDIT_URL."""
        return self.url + REDDIT_PREFIX

    @property
    def reddit_oauth_url(self) -> str:
        """Reddit's OAuth API host (the node's root: ``/r/<sub>/<listing>``), for REDDIT_OAUTH_URL."""
        return self.url

    @property
    def sec_data_url(self) -> str:
        """SEC EDGAR submissions host (``url + "/sec-data"``), for SEC_DATA_URL."""
        return self.url + SEC_DATA_PREFIX

    @property
    def sec_www_url(self) -> str:
        """SEC EDGAR www host, the latest-filings feed (``url + "/sec-www"``), for SEC_WWW_URL."""
        return self.url + SEC_WWW_PREFIX

    @property
    def bitcoin_ws_url(self) -> str:
        """mempool.space WebSocket (``ws://HOST:WSPORT/bitcoin/api/v1/ws``), for BITCOIN_WS_URL.
        Raises: RuntimeError before ``start()``."""
        return self._ws.url

    @property
    def ws_faults(self) -> WsFaultInjector:
        """The WebSocket faults (``drop_after``, ``rewind``, ``malformed``, ``clear``)."""
        return self.mempool_stream.faults

    @property
    def ws_rate(self) -> float:
        """WebSocket frames per second on each connection (0 = as fast as possible); settable."""
        return self.mempool_stream.rate

    @ws_rate.setter
    def ws_rate(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError("ws_rate must be a number >= 0")
        self.mempool_stream.rate = value

    @property
    def head_block(self) -> int | None:
        """Block number answered by ``eth_blockNumber`` and the ``latest``/``safe``/``finalized``
        tags. Settable at run time (e.g. to let a test "mine" the next recorded block); None = default."""
        return self.eth.head

    @head_block.setter
    def head_block(self, value: int | None) -> None:
        self.eth.head = value

    def summary(self) -> dict[str, Any]:
        """What was indexed: ``{"blocks", "full_blocks", "blocks_with_receipts", "receipts",
        "transactions", "eth_copies", "head_block", "coingecko_responses", "coingecko_series",
        "json_files", "skipped_files", "bitcoin_txs", "bitcoin_addresses", "bitcoin_tip_height",
        "bitcoin_script_frames", "hyperliquid_recordings", "hyperliquid_users", "hyperliquid_types",
        "arbitrum_blocks", "arbitrum_receipts", "arbitrum_logs", "arbitrum_head_block", "sec_submissions",
        "sec_feed_pages", "reddit_listings", "index_seconds"}``
        (json_files/skipped_files: Ethereum's; hyperliquid_recordings: indexed ``/info`` interactions)."""
        c = self.eth_index.counts
        arb = self.arbitrum.index.counts
        return {
            "blocks": c.blocks,
            "full_blocks": c.full_blocks,
            "blocks_with_receipts": c.blocks_with_receipts,
            "receipts": c.receipts,
            "transactions": c.transactions,
            "eth_copies": self.eth.copies.count if self.eth.copies else 0,
            "head_block": self.head_block,
            "coingecko_responses": len(self.coingecko.recorded),
            "coingecko_series": {k: s.path.name for k, s in sorted(self.coingecko.series.items())},
            "json_files": c.files,
            "skipped_files": c.skipped,
            "bitcoin_txs": len(self.bitcoin.txs),
            "bitcoin_addresses": len(self.bitcoin.by_address),
            "bitcoin_tip_height": self.bitcoin.tip_height,
            "bitcoin_script_frames": self.mempool_stream.script_length,
            "hyperliquid_recordings": self.hyperliquid.index.interactions,
            "hyperliquid_users": len(self.hyperliquid.index.users),
            "hyperliquid_types": len(self.hyperliquid.index.types),
            "arbitrum_blocks": arb.blocks,
            "arbitrum_receipts": arb.receipts,
            "arbitrum_logs": len(self.arbitrum.logs),
            "arbitrum_head_block": self.arbitrum.head,
            "sec_submissions": len(self.sec.submissions),
            "sec_feed_pages": len(self.sec.feed_pages),
            "reddit_listings": len(self.reddit.listings),
            "index_seconds": round(self.index_seconds, 3),
        }

    # --- request handling (called from handler threads) ---------------------------------------
    def _track(self, conn: socket.socket, *, opened: bool) -> None:
        with self._connections_lock:
            if opened:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _rpc_calls(self, body: bytes) -> Any:
        """Parsed JSON-RPC body, or ValueError."""
        return json.loads(body)

    def _rpc_response(self, parsed: Any, node: EthereumRpc | None = None) -> bytes:
        """JSON-RPC answer of ``node`` (default: Ethereum) to a parsed single call or batch."""
        node = node if node is not None else self.eth
        if isinstance(parsed, list):
            if not parsed:
                return _rpc_error(None, -32600, "empty batch")
            return b"[" + b",".join(self._rpc_one(call, node) for call in parsed) + b"]"
        return self._rpc_one(parsed, node)

    def _rpc_one(self, call: Any, node: EthereumRpc) -> bytes:
        if not isinstance(call, dict) or not isinstance(call.get("method"), str):
            call_id = call.get("id") if isinstance(call, dict) else None
            return _rpc_error(call_id, -32600, "invalid request")
        call_id = call.get("id")
        try:
            result = node.call(call["method"], call.get("params"))
        except RpcError as exc:
            return _rpc_error(call_id, exc.code, exc.message)
        return b'{"jsonrpc":"2.0","id":%s,"result":%s}' % (_dumps(call_id), self._encoder.encode(result))

    def _control(self, verb: str, path: str, body: bytes) -> tuple[int, bytes]:
        if path.startswith(COINSPOT_CONTROL_PREFIX):
            return self.coinspot.control(verb, path[len(COINSPOT_CONTROL_PREFIX):], body)
        if path.startswith(HYPERLIQUID_CONTROL_PREFIX):
            status, value = self.hyperliquid_exchange.control(verb, path, body)
            return status, _dumps(value)
        if path == "/_replay/faults":
            if verb == "POST":
                try:
                    added = self._add_faults(json.loads(body))
                except (ValueError, TypeError) as exc:
                    return 400, _dumps({"error": str(exc)})
                return 200, _dumps({"added": added})
            if verb == "DELETE":
                self.faults.clear()
                self.ws_faults.clear()
                return 200, _dumps({"cleared": True})
            if verb == "GET":
                return 200, _dumps(self.faults.active() + self.ws_faults.active())
        elif path == "/_replay/stats":
            if verb == "GET":
                return 200, _dumps(self.stats.snapshot())
            if verb == "DELETE":
                self.stats.reset()
                return 200, _dumps({"reset": True})
        elif path == "/_replay/info" and verb == "GET":
            return 200, _dumps({**self.summary(), "eth_url": self.eth_url, "coingecko_url": self.coingecko_url,
                                "bitcoin_url": self.bitcoin_url, "bitcoin_ws_url": self.bitcoin_ws_url,
                                "hyperliquid_url": self.hyperliquid_url,
                                "hyperliquid_exchange_url": self.hyperliquid_exchange_url,
                                "arbitrum_url": self.arbitrum_url})
        else:
            return 404, _dumps({"error": "not found"})
        return 405, _dumps({"error": f"{verb} not allowed"})

    def _hyperliquid_info(self, body: bytes) -> tuple[int, bytes]:
        """An ``/info`` answer: the venue simulator's when it has one (logged like the recorded ones), else the
        recordings'."""
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            request = None
        simulated = self.hyperliquid_exchange.info_answer(request)
        if simulated is None:
            info = self.hyperliquid.answer(body)
            return info.status, info.body
        items = len(simulated) if isinstance(simulated, list) else 0
        self.hyperliquid.log(request.get("type"), request.get("user"), items)
        return 200, _dumps(simulated)

    def _add_faults(self, specs: Any) -> int:
        """Add HTTP and WebSocket faults from the control endpoint's JSON; all or nothing.
        Raises: ValueError / TypeError describing the first bad spec."""
        if isinstance(specs, dict):
            specs = [specs]
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ValueError("expected a JSON list of fault objects")
        is_ws = [isinstance(s.get("path_prefix"), str) and s["path_prefix"].startswith(WS_PATH) for s in specs]
        ws_faults = self.ws_faults.parse_http([s for s, ws in zip(specs, is_ws, strict=True) if ws])
        http_specs = [s for s, ws in zip(specs, is_ws, strict=True) if not ws]
        if http_specs:
            self.faults.add_many(http_specs)
        self.ws_faults.extend(ws_faults)
        return len(specs)


def _info_type(body: bytes) -> str:
    """The ``type`` of a Hyperliquid info request body ("" when unreadable), for fault matching."""
    try:
        request = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return ""
    value = request.get("type") if isinstance(request, dict) else None
    return value if isinstance(value, str) else ""


class _ReplayHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse one connection per thread
    # Headers and body go out in separate writes; with Nagle's algorithm and the client's delayed
    # ACK that costs ~40 ms per response on loopback.
    disable_nagle_algorithm = True

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test, a killed collector): nothing to answer
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    server_version = "WhaleTrackReplay/1.0"

    @property
    def replay(self) -> ReplayServer:
        return self.server.replay  # type: ignore[attr-defined]  # set in ReplayServer.start

    def setup(self) -> None:
        super().setup()
        self.replay._track(self.connection, opened=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.replay._track(self.connection, opened=False)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("replay.request", extra={"line": format % args})

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY_BYTES:
            self._send(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, _dumps({"error": "bad Content-Length"}))
            self.close_connection = True
            return None
        return self.rfile.read(length) if length else b""

    def _handle(self, verb: str) -> None:
        replay = self.replay
        url = urlsplit(self.path)
        path = url.path
        body = self._read_body()
        if body is None:
            return
        if path.startswith(CONTROL_PREFIX):
            self._send(*replay._control(verb, path, body))
            return

        rpc_methods: list[str] = []
        content_type = JSON
        parsed: Any = None
        parse_failed = False
        rpc_node = {ETH_PATH: replay.eth, ARBITRUM_PATH: replay.arbitrum}.get(path.rstrip("/"))
        is_hyperliquid = path.rstrip("/") == HYPERLIQUID_INFO_PATH
        is_hyperliquid_exchange = path.rstrip("/") == HYPERLIQUID_EXCHANGE_PATH
        if rpc_node is not None and verb == "POST":
            try:
                parsed = replay._rpc_calls(body)
            except ValueError:
                parse_failed = True
            else:
                calls = parsed if isinstance(parsed, list) else [parsed]
                rpc_methods = [c["method"] for c in calls if isinstance(c, dict) and isinstance(c.get("method"), str)]
        replay.stats.record(path, rpc_methods)

        fault_methods = rpc_methods
        if is_hyperliquid and verb == "POST":
            fault_methods = [_info_type(body)]  # lets a fault target one info request type
        venue_fault: ExchangeFault | None = None
        if (is_hyperliquid or is_hyperliquid_exchange) and verb == "POST":
            venue_fault = replay.hyperliquid_exchange.take_transport_fault(
                info_type=fault_methods[0] if is_hyperliquid else None)
            if venue_fault is not None and venue_fault.kind == "rate_limit":
                self._send(429, b"429 Too Many Requests (injected)", {"Retry-After": "0"}, content_type="text/plain")
                return
            if venue_fault is not None and venue_fault.kind == "drop_connection":
                self._drop()
                return
        fault = replay.faults.take(path, fault_methods)
        if fault is not None:
            if fault.delay_s:
                time.sleep(fault.delay_s)
            if fault.status is not None:
                headers = {"Retry-After": "0"} if fault.status == 429 else {}
                self._send(fault.status, _dumps({"error": "injected fault", "status": fault.status}), headers)
                return

        if rpc_node is not None:
            if verb != "POST":
                status, payload = 405, _dumps({"error": "JSON-RPC needs POST"})
            elif parse_failed:
                status, payload = 200, _rpc_error(None, -32700, "Parse error")
            else:
                status, payload = 200, replay._rpc_response(parsed, rpc_node)
        elif is_hyperliquid:
            if verb != "POST":
                status, payload = 405, _dumps({"error": "the Info API needs POST"})
            else:
                status, payload = replay._hyperliquid_info(body)
        elif is_hyperliquid_exchange:
            if verb != "POST":
                status, payload = 405, _dumps({"error": "the Exchange API needs POST"})
            else:
                exchange_status, exchange_answer = replay.hyperliquid_exchange.exchange(body)
                status, payload = exchange_status, _dumps(exchange_answer)
                if venue_fault is not None:  # accept_then_timeout: applied; now hold the answer or hang up
                    if not venue_fault.delay_s:
                        self._drop()
                        return
                    time.sleep(venue_fault.delay_s)
        elif path.startswith(COINGECKO_PREFIX + "/") and verb == "GET":
            answer = replay.coingecko.answer(path[len(COINGECKO_PREFIX) + 1:], url.query)
            status, payload = answer.status, answer.body
        elif path.startswith(COINSPOT_PREFIX + "/"):
            auth = {name: self.headers.get(name, "") for name in ("key", "sign")}
            venue = replay.coinspot.answer(verb, path[len(COINSPOT_PREFIX):], body, auth)
            if venue.delay_s:
                time.sleep(venue.delay_s)  # outside the simulator's lock
            if venue.drop:
                self.close_connection = True  # no answer at all: the client sees the connection close
                return
            self._send(venue.status, venue.body, venue.headers)
            return
        elif path.startswith(SEC_DATA_PREFIX + "/submissions/") and verb == "GET":
            sec = replay.sec.submissions_answer(path[len(SEC_DATA_PREFIX + "/submissions/"):])
            status, payload, content_type = sec.status, sec.body, sec.content_type
        elif path.startswith(DEFILLAMA_STABLECOINS_PREFIX + "/") and verb == "GET":
            status, payload = replay.defillama.stablecoins_answer(path[len(DEFILLAMA_STABLECOINS_PREFIX):])
        elif path.startswith(DEFILLAMA_PREFIX + "/") and verb == "GET":
            status, payload = 404, _dumps({"error": "no DeFiLlama TVL answer is recorded"})
        elif path.startswith(REDDIT_PREFIX + "/r/") and verb == "GET":
            status, payload = replay.reddit.answer(path[len(REDDIT_PREFIX):])
        elif path == REDDIT_PREFIX + "/api/v1/access_token" and verb == "POST":
            status, payload = replay.reddit.token_answer(self.headers.get("Authorization", ""), body)
        elif path.startswith("/r/") and verb == "GET":
            status, payload = replay.reddit.oauth_answer(path, self.headers.get("Authorization", ""))
        elif path == SEC_WWW_PREFIX + "/cgi-bin/browse-edgar" and verb == "GET":
            sec = replay.sec.feed_answer(url.query)
            status, payload, content_type = sec.status, sec.body, sec.content_type
        elif path.startswith(BITCOIN_PREFIX + "/"):
            if verb == "GET":
                esplora = replay.bitcoin.answer(path[len(BITCOIN_PREFIX):])
                status, payload, content_type = esplora.status, esplora.body, esplora.content_type
            else:
                status, payload, content_type = 405, b"Method Not Allowed", "text/plain"
        else:
            status, payload = 404, _dumps({"error": "not found"})

        if fault is not None and fault.malformed:
            status, payload = 200, payload[: max(1, len(payload) // 2)]
        self._send(status, payload, content_type=content_type)

    def _drop(self) -> None:
        """Close the connection without answering (the client sees the server hang up)."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the peer

    def _send(
        self, status: int, payload: bytes, headers: dict[str, str] | None = None, content_type: str = JSON,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
