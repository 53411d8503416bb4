"""The mempool whale monitor's hot path: parse mempool.space WebSocket frames, deduplicate tx hashes,
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

Our names for the stream's fields (STYLE.md §2): ``txid`` -> ``tx_hash``, ``fee`` -> ``fee_sat``, ``vsize`` ->
``vsize_vb``, ``value`` -> ``value_sat``, ``rate`` -> ``fee_rate_sat_vb`` (computed as fee / vsize), a block's
``height`` -> ``block_number``.

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

SAT_PER_BTC = 100_000_000
URGENCY_SATURATION_RATE_SAT_VB = 500.0  # where urgency reaches 1.0


def urgency_score(fee_rate_sat_vb: float) -> float:
    """Urgency in [0, 1] from ``fee_rate_sat_vb`` in sat/vB (module docstring). Negative rates count as 0."""
    rate = fee_rate_sat_vb
    if rate <= 0:
        return 0.0
    if rate < 10:
        return 0.3 * rate / 10
    if rate <= 50:
        return 0.3 + 0.4 * (rate - 10) / 40
    saturation = URGENCY_SATURATION_RATE_SAT_VB
    return 0.7 + 0.3 * min(rate - 50, saturation - 50) / (saturation - 50)


def urgency_band(fee_rate_sat_vb: float) -> str:
    """``low`` (< 10 sat/vB), ``medium`` (10-50) or ``high`` (> 50): the three ranges of the score."""
    if fee_rate_sat_vb < 10:
        return "low"
    return "medium" if fee_rate_sat_vb <= 50 else "high"


class RecentTxHashes:
    """A bounded LRU set of tx hashes: O(1) ``seen`` (an OrderedDict: hash lookup + linked-list move).

    ``seen(tx_hash)`` answers whether tx_hash was seen among the last ``maxsize`` distinct tx hashes
    and records it as the most recent; past ``maxsize`` the least recently seen one is evicted.
    """

    __slots__ = ("_items", "evictions", "hits", "maxsize")

    def __init__(self, maxsize: int = 10_000) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be >= 1")
        self.maxsize = maxsize
        self._items: OrderedDict[str, None] = OrderedDict()
        self.hits = 0
        self.evictions = 0

    def seen(self, tx_hash: str) -> bool:
        """Whether ``tx_hash`` was seen among the last ``maxsize``; it is recorded as the newest either way
        (the oldest is evicted when full). Counts hits and evictions."""
        items = self._items
        if tx_hash in items:
            items.move_to_end(tx_hash)
            self.hits += 1
            return True
        items[tx_hash] = None
        if len(items) > self.maxsize:
            items.popitem(last=False)
            self.evictions += 1
        return False

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._items

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True, slots=True)
class WhaleSeen:
    """An unconfirmed transaction moving at least the whale minimum. ``first_seen`` is the stream's
    ``time`` when given (aware UTC), else None (the caller uses its own clock).

    Units: ``fee_sat``/``value_sat`` in sat (``value_sat`` = total of the outputs), ``vsize_vb`` in vB
    (fractional for segwit: weight / 4), ``fee_rate_sat_vb`` = fee_sat / vsize_vb, ``urgency`` in [0, 1].
    """

    tx_hash: str
    fee_sat: int
    vsize_vb: float
    value_sat: int
    fee_rate_sat_vb: float
    urgency: float
    band: str
    first_seen: datetime | None


@dataclass(frozen=True, slots=True)
class Replaced:
    """``old_tx_hash`` was replaced (RBF) by ``new_tx_hash``; ``new_fee_sat`` when the stream says it."""

    old_tx_hash: str
    new_tx_hash: str
    new_fee_sat: int | None = None
    old_fee_sat: int | None = None


@dataclass(frozen=True, slots=True)
class Confirmed:
    """``tx_hash`` confirmed in block ``block_number`` (hash, block time aware UTC)."""

    tx_hash: str
    block_number: int
    block_hash: str
    block_time: datetime


@dataclass(frozen=True, slots=True)
class NewBlock:
    """A block the stream announced (the newest of a ``blocks`` list, or a ``block``)."""

    block_number: int
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

    ``min_value_sat``: the whale minimum (BITCOIN_MEMPOOL_WHALE_MIN_BTC x 10^8). ``recent``: the
    dedupe LRU (a tx_hash already seen is never reported again, whatever frame repeats it).
    ``tracked_tx_hash``: what the connection asked the server to track, for ``txReplaced``.
    """

    HANDLED = frozenset({"transactions", "rbfLatest", "txReplaced", "block", "blocks", "txConfirmed"})

    def __init__(self, *, min_value_sat: int, recent: RecentTxHashes) -> None:
        self.min_value_sat = min_value_sat
        self.recent = recent
        self.tracked_tx_hash: str | None = None
        self.watch: set[str] = set()  # pending whale tx hashes: a repeat of one is noted in ``reseen``
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
        if isinstance(replaced, dict) and isinstance(replaced.get("txid"), str) and self.tracked_tx_hash:
            signals.append(Replaced(old_tx_hash=self.tracked_tx_hash, new_tx_hash=replaced["txid"].lower()))
            self.stats.replacements += 1
        block = message.get("block")
        if isinstance(block, dict):
            new_block = self._block(block)
            if new_block is not None:
                signals.append(new_block)
                confirmed = message.get("txConfirmed")
                if isinstance(confirmed, str) and confirmed:
                    signals.append(Confirmed(confirmed.lower(), new_block.block_number, new_block.block_hash,
                                             new_block.block_time))
                    self.stats.confirmations += 1
        blocks = message.get("blocks")
        if isinstance(blocks, list) and blocks:
            parsed = [b for b in (self._block(raw) for raw in blocks if isinstance(raw, dict)) if b is not None]
            if parsed:
                signals.append(max(parsed, key=lambda b: b.block_number))
        return signals

    def _transactions(self, items: list, signals: list[Signal]) -> None:
        stats = self.stats
        seen = self.recent.seen
        minimum = self.min_value_sat
        for item in items:
            try:
                tx_hash = item["txid"]
                value = item["value"]
            except (TypeError, KeyError):
                stats.malformed += 1
                continue
            stats.transactions += 1
            if seen(tx_hash):
                stats.duplicates += 1
                if tx_hash in self.watch:
                    self.reseen.add(tx_hash)
                continue
            if not isinstance(value, int) or value < minimum:
                continue
            whale = self._whale(item, tx_hash, value)
            if whale is not None:
                signals.append(whale)

    def _whale(self, item: dict, tx_hash: str, value: int) -> WhaleSeen | None:
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
        return WhaleSeen(tx_hash=tx_hash.lower(), fee_sat=fee, vsize_vb=vsize, value_sat=value, fee_rate_sat_vb=rate,
                         urgency=urgency_score(rate), band=urgency_band(rate), first_seen=_time(item.get("time")))

    def _rbf_tree(self, tree: object, signals: list[Signal]) -> None:
        if not isinstance(tree, dict) or not isinstance(tree.get("tx"), dict):
            return
        tx = tree["tx"]
        self._transactions([tx], signals)
        new_tx_hash = tx.get("txid")
        for child in tree.get("replaces") or []:
            if isinstance(child, dict) and isinstance(child.get("tx"), dict) and isinstance(new_tx_hash, str):
                self._rbf_tree(child, signals)  # the replaced tx first: it may be a whale seen only here
                old = child["tx"]
                if isinstance(old.get("txid"), str):
                    signals.append(Replaced(old_tx_hash=old["txid"].lower(), new_tx_hash=new_tx_hash.lower(),
                                            new_fee_sat=_int(tx.get("fee")), old_fee_sat=_int(old.get("fee"))))
                    self.stats.replacements += 1

    def _block(self, raw: dict) -> NewBlock | None:
        try:
            block_number = int(raw["height"])
            block_hash = str(raw["id"])
            block_time = _time(raw["timestamp"])
        except (KeyError, TypeError, ValueError):
            self.stats.malformed += 1
            return None
        if block_time is None:
            self.stats.malformed += 1
            return None
        self.stats.blocks += 1
        return NewBlock(block_number, block_hash, block_time)


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def whale_min_sat(min_btc: Decimal | str) -> int:
    """The whale minimum in sat from a BTC amount (Decimal or str)."""
    return int(Decimal(str(min_btc)) * SAT_PER_BTC)
