"""The mempool whale monitor process: a mempool.space WebSocket client around ``MempoolWatcher``.

- Connection and reconnects: the ``websockets`` library's reconnecting iterator
  (``async for ws in connect(...)``). A dropped connection is reconnected at once; failed attempts
  back off exponentially with jitter, from BITCOIN_WS_BACKOFF_MIN_S to BITCOIN_WS_BACKOFF_MAX_S
  (1 s to 30 s by default; the library takes them from its WEBSOCKETS_BACKOFF_* variables, which
  settings set). Every connection subscribes again (``init``, ``want`` blocks/stats/mempool-blocks,
  ``track-rbf: all``, ``track-tx`` of the newest pending whale) and reconciles: pending whales are
  checked against Esplora (``/tx/:txid/status``), so a confirmation missed while disconnected is
  not lost.
- Per frame: ``MempoolWatcher.feed`` (parse, dedupe with the LRU, filter, score). A new whale is
  tracked at once (``track-tx``), then fetched from Esplora for its addresses and stored with its
  ``mempool_whale`` event (``mempool_services``); replacements and confirmations end it; on every
  new block pending whales are checked against Esplora and those not seen for
  BITCOIN_MEMPOOL_DROP_AFTER_S are marked dropped.
- Faults of this process's own stores never stop the stream. What a frame says is queued and stored in
  order; when the database fails (a lost connection, a restart, SQLite's "database is locked"), the
  queue is kept, the connection dropped, and the store retried with exponential backoff (on the next
  frames and every heartbeat) until it succeeds. A whale whose tx hash is already in the dedupe LRU (so
  a resent frame is skipped) is therefore still stored. A cache that cannot be reached (Redis down)
  only skips a statistics update.
- Live statistics go to the Django cache (key ``bitcoin.mempool.monitor``, read by /health and the
  collectors health endpoint) every second and on every connect/disconnect.
- ``stop()`` (SIGTERM/SIGINT in the command) closes the connection and ends ``run()`` cleanly.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connections
from django.utils import timezone
from redis.exceptions import RedisError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from ledgers.glass.bitcoin.client import EsploraClient, EsploraError, EsploraUnavailable
from ledgers.glass.bitcoin.mempool import (
    Confirmed,
    MempoolWatcher,
    NewBlock,
    RecentTxHashes,
    Replaced,
    Signal,
    WhaleSeen,
    whale_min_sat,
)
from ledgers.glass.bitcoin.mempool_services import (
    fee_of,
    mempool_confirmed,
    mempool_drop_stale,
    mempool_pending_tx_hashes,
    mempool_replaced,
    mempool_touch,
    mempool_whale_record,
)
from ledgers.redact import error_redact
from ledgers.runlog import DATABASE_FAULTS
from ledgers.supervisor import backoff_delay_s

logger = logging.getLogger(__name__)
# A stop asked by ``stop_when`` waits until no frame has arrived for this long (frames in flight are handled).
STOP_QUIET_S = 0.25

STATS_CACHE_KEY = "bitcoin.mempool.monitor"
STATS_TTL_S = 300
RECONCILE_LIMIT = 200  # pending whales checked against Esplora per block / reconnect
STORE_BACKOFF_MAX_S = 30.0  # longest wait between two tries of a store that failed
SUBSCRIBE = (
    {"action": "init"},
    {"action": "want", "data": ["blocks", "stats", "mempool-blocks"]},
    {"track-rbf": "all"},
)


@dataclass
class MonitorStats:
    """Live statistics of one monitor process (the /health ``live`` block)."""

    url: str
    started_at: str
    connected: bool = False
    connections: int = 0
    reconnects: int = 0
    last_message_at: str | None = None
    messages: int = 0
    transactions: int = 0
    malformed: int = 0
    duplicates_skipped: int = 0
    whales: int = 0
    whales_published: int = 0
    replaced: int = 0
    confirmed: int = 0
    dropped: int = 0
    esplora_errors: int = 0
    tracked_tx_hash: str | None = None
    lru_size: int = 0
    store_failures: int = 0  # stores that failed on a database fault (each retried until it succeeds)
    unstored: int = 0  # signals waiting to be stored now
    updated_at: str | None = None
    published: list[str] = field(default_factory=list)  # tx hashes whose event this process created

    def public(self) -> dict:
        """JSON-safe dict without the published tx hash list; the URL without credentials (it is shown on the
        public health pages and stored in the run log)."""
        data = asdict(self)
        data.pop("published")
        data["url"] = error_redact(data["url"])
        return data


def live_stats() -> dict | None:
    """The newest statistics a monitor process published (None when none ran recently), with
    ``last_message_age_s`` computed now."""
    data = cache.get(STATS_CACHE_KEY)
    if not data:
        return None
    last = data.get("last_message_at")
    data["last_message_age_s"] = (
        round((timezone.now() - datetime.fromisoformat(last)).total_seconds(), 1) if last else None)
    return data


class MempoolMonitor:
    """One monitor: ``await run()`` until ``stop()``, ``stop_when()`` is true, or ``duration_s`` passes.

    ``esplora`` fetches full transactions and statuses (None = never: whales are stored from the
    stream's summary only). Raises from ``run()``: nothing for network trouble (it reconnects);
    ``websockets.exceptions.InvalidURI``/``InvalidStatus`` etc. when the URL is wrong for good
    (a 4xx handshake is not retried).
    """

    def __init__(
        self,
        *,
        ws_url: str,
        esplora: EsploraClient | None,
        min_value_sat: int | None = None,
        lru_size: int | None = None,
        drop_after_s: int | None = None,
        open_timeout_s: float | None = None,
    ) -> None:
        self.ws_url = ws_url
        self.esplora = esplora
        self.watcher = MempoolWatcher(
            min_value_sat=min_value_sat if min_value_sat is not None
            else whale_min_sat(settings.BITCOIN_MEMPOOL_WHALE_MIN_BTC),
            recent=RecentTxHashes(lru_size or settings.BITCOIN_MEMPOOL_LRU_SIZE),
        )
        self.drop_after_s = drop_after_s if drop_after_s is not None else settings.BITCOIN_MEMPOOL_DROP_AFTER_S
        self.open_timeout_s = open_timeout_s or settings.BITCOIN_WS_OPEN_TIMEOUT_S
        self.stats = MonitorStats(url=ws_url, started_at=timezone.now().isoformat())
        self._stop = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._closing: asyncio.Future | None = None
        self._last_publish = 0.0
        self._last_block_number = -1
        self._pending: set[str] = set()  # pending whale tx hashes (shared with the watcher's ``watch``)
        self._order: dict[str, int] = {}  # tx_hash -> sighting order, to track the newest
        self._unstored: deque[list[Signal]] = deque()  # frames' signals not stored yet, oldest first
        self._store_failures_in_row = 0
        self._store_retry_at = 0.0
        self._in_frame = False
        self._last_frame_done = time.monotonic()

    # --- lifecycle ----------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run()`` to finish: close the connection and return (safe from a signal handler)."""
        self._stop.set()
        if self._ws is not None:
            self._closing = asyncio.ensure_future(self._ws.close())

    async def run(self, *, duration_s: float | None = None,
                  stop_when: Callable[[], bool] | None = None) -> MonitorStats:
        """Monitor until stopped; return the final statistics. A ``stop_when`` stop first handles the
        frames already received (``_poll``)."""
        self._check_backoff_config()
        stored = await sync_to_async(mempool_pending_tx_hashes)()  # newest first
        self._order = {tx_hash: -n for n, tx_hash in enumerate(stored)}
        self._pending = self.watcher.watch = set(stored)
        main = asyncio.ensure_future(self._loop())
        heartbeat = asyncio.ensure_future(self._heartbeat())
        waiters: list[asyncio.Future[Any]] = [asyncio.ensure_future(self._stop.wait())]
        if duration_s is not None:
            waiters.append(asyncio.ensure_future(asyncio.sleep(duration_s)))
        if stop_when is not None:
            waiters.append(asyncio.ensure_future(self._poll(stop_when)))
        await asyncio.wait([main, *waiters], return_when=asyncio.FIRST_COMPLETED)
        connected = self._ws is not None
        self.stop()
        try:  # connected: let the loop close the connection cleanly; else it is waiting to reconnect
            await asyncio.wait_for(asyncio.shield(main), timeout=5 if connected else 0)
        except TimeoutError:
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await main
        for task in (*waiters, heartbeat):
            task.cancel()
        self._store_retry_at = 0.0  # one last try for anything a database fault left queued
        await self._store_queued()
        failure = main.exception() if main.done() and not main.cancelled() else None
        if failure is not None:
            raise failure
        self.stats.connected = False
        await self._publish_stats(force=True)
        await sync_to_async(connections.close_all)()  # the worker thread's connection, not kept idle
        return self.stats

    async def _heartbeat(self) -> None:
        """Every second, even when no frame arrives: retry stores that failed, and publish the statistics
        (a quiet stream is not a dead monitor: the age of the last message tells them apart)."""
        while True:
            await asyncio.sleep(1.0)
            await self._store_queued()
            await self._publish_stats(force=True)

    async def _poll(self, predicate: Callable[[], bool]) -> None:
        """Return once ``predicate()`` holds and the frames already received are handled: the source may be
        done sending (a recorded stream that ended) while frames still wait in the socket's buffer, so the
        stop waits for STOP_QUIET_S without a frame."""
        while not predicate():
            await asyncio.sleep(0.05)
        while self._in_frame or time.monotonic() - self._last_frame_done < STOP_QUIET_S:
            await asyncio.sleep(0.05)

    @staticmethod
    def _check_backoff_config() -> None:
        configured = (settings.BITCOIN_WS_BACKOFF_MIN_S, settings.BITCOIN_WS_BACKOFF_MAX_S)
        actual = (websockets.client.BACKOFF_MIN_DELAY, websockets.client.BACKOFF_MAX_DELAY)
        if configured != actual:
            logger.warning("bitcoin.mempool.backoff_config", extra={"configured": configured, "actual": actual})

    async def _loop(self) -> None:
        async for ws in connect(self.ws_url, open_timeout=self.open_timeout_s, ping_interval=20, ping_timeout=20,
                                close_timeout=5, max_size=2 ** 24, max_queue=64):
            if self._stop.is_set():
                await ws.close()
                return
            self._ws = ws
            self.stats.connections += 1
            self.stats.reconnects = self.stats.connections - 1
            self.stats.connected = True
            logger.info("bitcoin.mempool.connected", extra={"url": self.ws_url, "connections": self.stats.connections})
            await self._publish_stats(force=True)
            try:
                await self._subscribe(ws)
                await self._reconcile(self._pending_list(), reason="connect")
                async for frame in ws:
                    self._in_frame = True
                    try:
                        await self._on_frame(ws, frame)
                    finally:
                        self._in_frame = False
                        self._last_frame_done = time.monotonic()
            except ConnectionClosed as exc:
                logger.warning("bitcoin.mempool.disconnected", extra={"url": self.ws_url, "reason": str(exc)})
            finally:
                self._ws = None
                self.stats.connected = False
                await self._publish_stats(force=True)
            if self._stop.is_set():
                return

    async def _subscribe(self, ws: ClientConnection) -> None:
        for message in SUBSCRIBE:
            await ws.send(json.dumps(message))
        pending = self._pending_list()
        if pending:
            await self._track(ws, pending[0])

    async def _track(self, ws: ClientConnection, tx_hash: str) -> None:
        self.watcher.tracked_tx_hash = tx_hash
        self.stats.tracked_tx_hash = tx_hash
        await ws.send(json.dumps({"track-tx": tx_hash}))

    def _pending_list(self) -> list[str]:
        """Pending whale tx hashes, newest sighting first."""
        return sorted(self._pending, key=lambda t: self._order.get(t, 0), reverse=True)

    # --- frames -------------------------------------------------------------------------------
    async def _on_frame(self, ws: ClientConnection, frame: str | bytes) -> None:
        malformed = self.watcher.stats.malformed
        signals = self.watcher.feed(frame)
        if self.watcher.stats.malformed > malformed:  # logged and skipped; the stream goes on
            logger.warning("bitcoin.mempool.malformed_frame", extra={"frame": str(frame[:200])})
        self.stats.messages += 1
        self.stats.last_message_at = timezone.now().isoformat()
        for signal in signals:  # track first: the server only reports on tracked transactions
            if isinstance(signal, WhaleSeen):
                self._pending.add(signal.tx_hash)
                self._order[signal.tx_hash] = len(self._order) + 1
                await self._track(ws, signal.tx_hash)
        if signals:
            self._unstored.append(signals)
            await self._store_queued()
            follow = self._follow_after(signals)
            if follow and follow != self.watcher.tracked_tx_hash:
                await self._track(ws, follow)
        await self._publish_stats()

    def _follow_after(self, signals: list[Signal]) -> str | None:
        """What to track once a frame ended the tracked whale: its replacement, else the newest pending."""
        tracked = self.watcher.tracked_tx_hash
        for signal in signals:
            if isinstance(signal, Replaced) and signal.old_tx_hash == tracked:
                return signal.new_tx_hash
        if tracked is not None and tracked not in self._pending:
            pending = self._pending_list()
            return pending[0] if pending else None
        return None

    async def _store_queued(self) -> None:
        """Store the queued signals in order. On a database fault keep the batch that failed and all
        after it, drop the connection, and come back after a backoff (1 s doubling to 30 s)."""
        if not self._unstored or time.monotonic() < self._store_retry_at:
            self.stats.unstored = sum(len(batch) for batch in self._unstored)
            return
        while self._unstored:
            try:
                await sync_to_async(self._persist)(self._unstored[0])
            except DATABASE_FAULTS as exc:
                self._store_failures_in_row += 1
                self.stats.store_failures += 1
                delay = backoff_delay_s(self._store_failures_in_row, min_s=1.0, max_s=STORE_BACKOFF_MAX_S)
                self._store_retry_at = time.monotonic() + delay
                logger.warning("bitcoin.mempool.store_failed", extra={
                    "error": f"{type(exc).__name__}: {exc}"[:300], "queued": len(self._unstored),
                    "retry_in_s": round(delay, 1)})
                await sync_to_async(connections.close_all)()  # the next try connects afresh
                break
            self._unstored.popleft()
            self._store_failures_in_row = 0
        self.stats.unstored = sum(len(batch) for batch in self._unstored)

    def _fetch_tx(self, tx_hash: str):
        if self.esplora is None:
            return None
        try:
            return self.esplora.tx(tx_hash)
        except (EsploraUnavailable, EsploraError) as exc:
            self.stats.esplora_errors += 1
            logger.warning("bitcoin.mempool.esplora", extra={"tx_hash": tx_hash, "error": str(exc)})
            return None

    def _persist(self, signals: list[Signal]) -> None:
        """Store what the signals say (runs in a worker thread: ORM and Esplora are blocking)."""
        close_old_connections()
        now = timezone.now()
        for signal in signals:
            if isinstance(signal, WhaleSeen):
                result = mempool_whale_record(seen=signal, tx=self._fetch_tx(signal.tx_hash), observed_at=now)
                if result.event_created:
                    self.stats.whales_published += 1
                    self.stats.published.append(signal.tx_hash)
                if result.mempool_tx.status != "pending":
                    self._pending.discard(signal.tx_hash)
            elif isinstance(signal, Replaced):
                new_fee_sat = signal.new_fee_sat
                if new_fee_sat is None:
                    new_fee_sat = fee_of(signal.new_tx_hash)
                if new_fee_sat is None and signal.old_tx_hash in self._pending:
                    tx = self._fetch_tx(signal.new_tx_hash)
                    new_fee_sat = tx.fee_sat if tx is not None else None
                if mempool_replaced(old_tx_hash=signal.old_tx_hash, new_tx_hash=signal.new_tx_hash,
                                    new_fee_sat=new_fee_sat):
                    self.stats.replaced += 1
                self._pending.discard(signal.old_tx_hash)
            elif isinstance(signal, Confirmed):
                if mempool_confirmed(tx_hash=signal.tx_hash, block_number=signal.block_number,
                                     block_hash=signal.block_hash, block_time=signal.block_time):
                    self.stats.confirmed += 1
                self._pending.discard(signal.tx_hash)
            elif isinstance(signal, NewBlock) and signal.block_number > self._last_block_number:
                first = self._last_block_number < 0
                self._last_block_number = signal.block_number
                if not first:
                    self._reconcile_sync(self._pending_list(), now)
        self.stats.whales = self.watcher.stats.whales

    async def _reconcile(self, tx_hashes: list[str], *, reason: str) -> None:
        if tx_hashes:
            logger.info("bitcoin.mempool.reconcile", extra={"reason": reason, "pending": len(tx_hashes)})
            try:
                await sync_to_async(self._reconcile_sync)(tx_hashes, timezone.now())
            except DATABASE_FAULTS as exc:  # checked again at the next block or reconnect
                logger.warning("bitcoin.mempool.reconcile_failed", extra={"error": str(exc)[:300]})
                await sync_to_async(connections.close_all)()

    def _reconcile_sync(self, tx_hashes: list[str], now: datetime) -> None:
        """Check pending whales against Esplora; drop those not seen for too long."""
        close_old_connections()
        still_there = []
        if self.esplora is not None:
            for tx_hash in tx_hashes[:RECONCILE_LIMIT]:
                try:
                    status = self.esplora.tx_status(tx_hash)
                except (EsploraUnavailable, EsploraError) as exc:
                    self.stats.esplora_errors += 1
                    logger.warning("bitcoin.mempool.esplora", extra={"tx_hash": tx_hash, "error": str(exc)})
                    continue
                if status is not None and status.confirmed and status.block_number is not None:
                    if mempool_confirmed(tx_hash=tx_hash, block_number=status.block_number,
                                         block_hash=status.block_hash, block_time=status.block_time or now):
                        self.stats.confirmed += 1
                    self._pending.discard(tx_hash)
                elif status is not None:
                    still_there.append(tx_hash)
        still_there.extend(self.watcher.reseen)  # repeated by the stream since the last block
        self.watcher.reseen.clear()
        if still_there:
            mempool_touch(tx_hashes=still_there, at=now)
        dropped = mempool_drop_stale(now=now, drop_after_s=self.drop_after_s)
        if dropped:
            self.stats.dropped += dropped
            self._pending.intersection_update(mempool_pending_tx_hashes())

    # --- statistics ---------------------------------------------------------------------------
    async def _publish_stats(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_publish < 1.0:
            return
        self._last_publish = now
        w = self.watcher.stats
        self.stats.transactions = w.transactions
        self.stats.malformed = w.malformed
        self.stats.duplicates_skipped = w.duplicates
        self.stats.whales = w.whales
        self.stats.lru_size = len(self.watcher.recent)
        self.stats.updated_at = datetime.now(tz=UTC).isoformat()
        try:
            await sync_to_async(cache.set)(STATS_CACHE_KEY, self.stats.public(), STATS_TTL_S)
        except (RedisError, OSError) as exc:  # statistics are best effort: the stream goes on
            logger.warning("bitcoin.mempool.stats_unpublished", extra={"error": str(exc)[:200]})
