"""The mempool whale monitor's hot path: parse mempool.space WebSocket frames, deduplicate txids,
filter whales, score urgency. Pure and synchronous (no I/O, no ORM), so the benchmark measures
exactly this and the tests feed it recorded frames.

Frames handled (mempool.space WebSocket API; shapes in ../shared/data/bitcoin-mempool-space-fixtures):

- ``transactions``: [{txid, fee, vsize, value, rate, time?}] (the "stats" subscription's recent
  transactions; also inside the ``init`` payload). ``value`` = total output value in sat.
- ``rbfLatest``: replacement trees [{tx: summary, time, replaces: [tree...]}]: the root replaced each
  tx in ``replaces`` (recursively). Replacement txs are transactions too and are checked for size.
- ``txReplaced``: {txid}: the transaction this connection tracks (``track-tx``) was replaced by txid.
- ``block`` (+ ``txConfirmed``: the tracked txid confirmed in it) and ``blocks`` (recent blocks).
- Anything else (``mempool-blocks``, ``txPosition``, ``stratumJobs``, fees, conversions...) is read
  and ignored. A frame that is not valid JSON, or not an object, is counted as malformed and skipped;
  a transaction item without a usable txid/value/vsize is skipped on its own.

Urgency (``urgency_score``), from the fee rate r in sat/vB, continuous and monotonic:
    r < 10:        0.3 * r / 10                         (0.0 - 0.3)
    10 <= r <= 50: 0.3 + 0.4 * (r - 10) / 40            (0.3 - 0.7)
    r > 50:        0.7 + 0.3 * min(r - 50, 450) / 450   (0.7 - 1.0, reached at 500 sat/vB)
"""

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

SATS_PER_BTC = 100_000_000
URGENCY_SATURATION_RATE = 500.0  # sat/vB where urgency reaches 1.0


def urgency_score(fee_rate: float) -> float:
    """Urgency in [0, 1] from ``fee_rate`` in sat/vB (module docstring). Negative rates count as 0."""
    if fee_rate <= 0:
        return 0.0
    if fee_rate < 10:
        return 0.3 * fee_rate / 10
    if fee_rate <= 50:
        return 0.3 + 0.4 * (fee_rate - 10) / 40
    return 0.7 + 0.3 * min(fee_rate - 50, URGENCY_SATURATION_RATE - 50) / (URGENCY_SATURATION_RATE - 50)


def urgency_band(fee_rate: float) -> str:
    """``low`` (< 10 sat/vB), ``medium`` (10-50) or ``high`` (> 50): the three ranges of the score."""
    if fee_rate < 10:
        return "low"
    return "medium" if fee_rate <= 50 else "high"


class RecentTxids:
    """A bounded LRU set of txids: O(1) ``seen`` (an OrderedDict: hash lookup + linked-list move).

    ``seen(txid)`` answers whether txid was seen among the last ``maxsize`` distinct txids and
    records it as the most recent; past ``maxsize`` the least recently seen one is evicted.
    """

    __slots__ = ("_items", "evictions", "hits", "maxsize")

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self._items: OrderedDict[str, None] = OrderedDict()
        self.hits = 0
        self.evictions = 0

    def seen(self, txid: str) -> bool:
        items = self._items
        if txid in items:
            items.move_to_end(txid)
            self.hits += 1
            return True
        items[txid] = None
        if len(items) > self.maxsize:
            items.popitem(last=False)
            self.evictions += 1
        return False

    def __contains__(self, txid: object) -> bool:
        return txid in self._items

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True, slots=True)
class WhaleSeen:
    """An unconfirmed transaction moving at least the whale minimum. ``first_seen`` is the stream's
    ``time`` when given (aware UTC), else None (the caller uses its own clock)."""

    txid: str
    fee_sats: int
    vsize: float
    value_sats: int
    fee_rate: float
    urgency: float
    band: str
    first_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Replaced:
    """``old_txid`` was replaced (RBF) by ``new_txid``; ``new_fee_sats`` when the stream says it."""

    old_txid: str
    new_txid: str
    new_fee_sats: int | None = None
    old_fee_sats: int | None = None


@dataclass(frozen=True, slots=True)
class Confirmed:
    """``txid`` confirmed in block ``block_height`` (hash, block time aware UTC)."""

    txid: str
    block_height: int
    block_hash: str
    block_time: datetime


@dataclass(frozen=True, slots=True)
class NewBlock:
    """A block the stream announced (the newest of a ``blocks`` list, or a ``block``)."""

    block_height: int
    block_hash: str
    block_time: datetime


Signal = WhaleSeen | Replaced | Confirmed | NewBlock


@dataclass
class WatcherStats:
    """Counters of one watcher (served live in /health by the monitor)."""

    frames: int = 0
    malformed: int = 0
    transactions: int = 0
    duplicates: int = 0
    whales: int = 0
    replacements: int = 0
    confirmations: int = 0
    blocks: int = 0
    ignored_keys: dict[str, int] = field(default_factory=dict)


def _time(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


class MempoolWatcher:
    """Turns frames into signals. ``feed(frame)`` -> list of WhaleSeen / Replaced / Confirmed / NewBlock.

    ``min_value_sats``: the whale minimum (BITCOIN_MEMPOOL_WHALE_MIN_BTC x 10^8). ``recent``: the
    dedupe LRU (a txid already seen is never reported again, whatever frame repeats it).
    ``tracked_txid``: what the connection asked the server to track, for ``txReplaced``.
    """

    HANDLED = frozenset({"transactions", "rbfLatest", "txReplaced", "block", "blocks", "txConfirmed"})

    def __init__(self, *, min_value_sats: int, recent: RecentTxids) -> None:
        self.min_value_sats = min_value_sats
        self.recent = recent
        self.tracked_txid: str | None = None
        self.watch: set[str] = set()  # pending whale txids: a repeat of one is noted in ``reseen``
        self.reseen: set[str] = set()
        self.stats = WatcherStats()

    def feed(self, frame: str | bytes) -> list[Signal]:
        """Parse one frame and return its signals (empty for a malformed or uninteresting frame)."""
        self.stats.frames += 1
        try:
            message = json.loads(frame)
        except ValueError:  # JSONDecodeError and UnicodeDecodeError
            self.stats.malformed += 1
            return []
        if not isinstance(message, dict):
            self.stats.malformed += 1
            return []
        return self.handle(message)

    def handle(self, message: dict) -> list[Signal]:
        """Signals of one parsed frame (see ``feed``)."""
        signals: list[Signal] = []
        transactions = message.get("transactions")
        if transactions is not None:
            if isinstance(transactions, list):
                self._transactions(transactions, signals)
            else:
                self.stats.malformed += 1
        rbf = message.get("rbfLatest")
        if isinstance(rbf, list):
            for tree in rbf:
                self._rbf_tree(tree, signals)
        replaced = message.get("txReplaced")
        if isinstance(replaced, dict) and isinstance(replaced.get("txid"), str) and self.tracked_txid:
            signals.append(Replaced(old_txid=self.tracked_txid, new_txid=replaced["txid"].lower()))
            self.stats.replacements += 1
        block = message.get("block")
        if isinstance(block, dict):
            new_block = self._block(block)
            if new_block is not None:
                signals.append(new_block)
                confirmed = message.get("txConfirmed")
                if isinstance(confirmed, str) and confirmed:
                    signals.append(Confirmed(confirmed.lower(), new_block.block_height, new_block.block_hash,
                                             new_block.block_time))
                    self.stats.confirmations += 1
        blocks = message.get("blocks")
        if isinstance(blocks, list) and blocks:
            parsed = [b for b in (self._block(raw) for raw in blocks if isinstance(raw, dict)) if b is not None]
            if parsed:
                signals.append(max(parsed, key=lambda b: b.block_height))
        return signals

    def _transactions(self, items: list, signals: list[Signal]) -> None:
        stats = self.stats
        seen = self.recent.seen
        minimum = self.min_value_sats
        for item in items:
            try:
                txid = item["txid"]
                value = item["value"]
            except (TypeError, KeyError):
                stats.malformed += 1
                continue
            stats.transactions += 1
            if seen(txid):
                stats.duplicates += 1
                if txid in self.watch:
                    self.reseen.add(txid)
                continue
            if not isinstance(value, int) or value < minimum:
                continue
            whale = self._whale(item, txid, value)
            if whale is not None:
                signals.append(whale)

    def _whale(self, item: dict, txid: str, value: int) -> WhaleSeen | None:
        try:
            fee = int(item["fee"])
            vsize = float(item["vsize"])
        except (KeyError, TypeError, ValueError):
            self.stats.malformed += 1
            return None
        if vsize <= 0 or fee < 0:
            self.stats.malformed += 1
            return None
        rate = fee / vsize
        self.stats.whales += 1
        return WhaleSeen(txid=txid.lower(), fee_sats=fee, vsize=vsize, value_sats=value, fee_rate=rate,
                         urgency=urgency_score(rate), band=urgency_band(rate), first_seen=_time(item.get("time")))

    def _rbf_tree(self, tree: object, signals: list[Signal]) -> None:
        if not isinstance(tree, dict) or not isinstance(tree.get("tx"), dict):
            return
        tx = tree["tx"]
        self._transactions([tx], signals)
        new_txid = tx.get("txid")
        for child in tree.get("replaces") or []:
            if isinstance(child, dict) and isinstance(child.get("tx"), dict) and isinstance(new_txid, str):
                self._rbf_tree(child, signals)  # the replaced tx first: it may be a whale seen only here
                old = child["tx"]
                if isinstance(old.get("txid"), str):
                    signals.append(Replaced(old_txid=old["txid"].lower(), new_txid=new_txid.lower(),
                                            new_fee_sats=_int(tx.get("fee")), old_fee_sats=_int(old.get("fee"))))
                    self.stats.replacements += 1

    def _block(self, raw: dict) -> NewBlock | None:
        try:
            height = int(raw["height"])
            block_hash = str(raw["id"])
            block_time = _time(raw["timestamp"])
        except (KeyError, TypeError, ValueError):
            self.stats.malformed += 1
            return None
        if block_time is None:
            self.stats.malformed += 1
            return None
        self.stats.blocks += 1
        return NewBlock(height, block_hash, block_time)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def whale_min_sats(min_btc: Decimal | str) -> int:
    """The whale minimum in sat from a BTC amount (Decimal or str)."""
    return int(Decimal(str(min_btc)) * SATS_PER_BTC)
