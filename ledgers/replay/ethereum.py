"""Ethereum recordings indexed by content, and the JSON-RPC methods answered from them.

Source: every ``*.json`` file under the data directory (``settings.REPLAY_DATA_DIR``, by default
``../shared/data``), read in place. A file is either a JSON-RPC envelope ``{"jsonrpc", "id", "result"}``
or a bare ``result`` value; what it holds is decided by its content, never by its name:

- a block: an object with ``number``, ``hash``, ``parentHash`` and ``transactions``; "full" when the
  transactions are objects, "hash-only" when they are hash strings (a hash-only form is derived from
  a full one, never the other way round);
- a receipts array: a non-empty list of objects that each have ``transactionHash`` and ``logs``
  (what ``eth_getBlockReceipts`` returns);
- a single receipt: one such object (what ``eth_getTransactionReceipt`` returns);
- anything else (traces, logs, ``eth_call`` results, unreadable files) is logged and skipped.

The receipts of a block are also assembled from single receipts when every transaction of the
block has one (ethereum-etl's 2015-2016 blocks), and a block without transactions has ``[]``.

Values are served exactly as recorded: hex quantities stay the recorded strings.

Synthetic copies (``eth_copies=N``, for benchmarks only): blocks ``19433904 ..`` are DERIVED from the
real consecutive pair 19,433,902-19,433,903 (``COPY_TEMPLATE``), copy k of block b being block
``19433903 + 2 * (k - 1) + (b - 19433901)``. Each copy rewrites ``number``, ``hash`` (see
``copy_block_hash``), ``parentHash`` (chained: the first copy's parent is the real 19,433,903),
``timestamp`` (+ 24 s per copy of the pair, so time keeps moving forward), every transaction's
``hash``/``blockHash``/``blockNumber``, and every receipt's and log's ``transactionHash``/
``blockHash``/``blockNumber``. Everything else (senders, values, logs, roots, blooms) is the real
recording, so roots and blooms no longer match the rewritten hashes. Copies are generated on request
and only the few most recent are cached, so memory stays flat for any N.
"""

import hashlib
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from threading import Lock
from typing import Any

logger = logging.getLogger(__name__)

COPY_TEMPLATE = (19_433_902, 19_433_903)
# The pair spans 2 slots of 12 s, so copy k is shifted by k * 24 s.
COPY_PERIOD_S = 24
CHAIN_ID = "0x1"
NET_VERSION = "1"
HEAD_TAGS = frozenset({"latest", "safe", "finalized", "pending"})
ENVELOPE_KEYS = frozenset({"jsonrpc", "id", "result"})


class RpcError(Exception):
    """A JSON-RPC error answered to the caller: ``code`` and ``message`` as a geth node words them."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> RpcError:
    return RpcError(-32602, message)


def _is_hex(value: Any, *, length: int) -> bool:
    """``value`` is ``0x`` (any case) and hex digits, ``length`` characters in all."""
    if not isinstance(value, str) or len(value) != length or value[:2] not in ("0x", "0X"):
        return False
    try:
        int(value[2:], 16)
    except ValueError:
        return False
    return True


def _is_hash(value: Any) -> bool:
    return _is_hex(value, length=66)


def _is_address(value: Any) -> bool:
    return _is_hex(value, length=42)


def _hex_to_int(value: Any) -> int | None:
    """``int`` of a JSON-RPC quantity (``"0x12889ae"``), None when it is not one."""
    if isinstance(value, str) and value[:2] in ("0x", "0X") and len(value) > 2:
        try:
            return int(value[2:], 16)
        except ValueError:
            return None
    return None


def _sha(*parts: object) -> str:
    return hashlib.sha256(":".join(str(p) for p in parts).encode()).hexdigest()


def copy_block_hash(number: int) -> str:
    """Hash of synthetic block ``number``: ``0x`` + 56 hex of sha256 + the number as 8 hex digits.

    Deterministic; the number suffix lets a lookup by hash find the copy without an index.
    """
    return f"0x{_sha('whaletrack-replay-block', number)[:56]}{number:08x}"


def copy_tx_hash(number: int, index: int, original: str) -> str:
    """Hash of transaction ``index`` of synthetic block ``number`` (copied from tx ``original``).

    ``0x`` + 48 hex of sha256 + block number (8 hex) + transaction index (8 hex).
    """
    return f"0x{_sha('whaletrack-replay-tx', number, original.lower())[:48]}{number:08x}{index:08x}"


def _is_receipt(value: Any) -> bool:
    return isinstance(value, dict) and "transactionHash" in value and "logs" in value


def _is_block(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and all(k in value for k in ("number", "hash", "parentHash", "transactions"))
        and _hex_to_int(value["number"]) is not None
        and _is_hash(value["hash"])
        and isinstance(value["transactions"], list)
    )


def _hash_only(block: dict) -> dict:
    return {**block, "transactions": [tx["hash"] if isinstance(tx, dict) else tx for tx in block["transactions"]]}


@dataclass
class _BlockEntry:
    full: dict | None = None
    hashes: dict | None = None
    receipts: list | None = None


@dataclass
class IndexCounts:
    """What was indexed: blocks (any form), full blocks, blocks with receipts, receipts, transactions."""

    files: int = 0
    skipped: int = 0
    blocks: int = 0
    full_blocks: int = 0
    blocks_with_receipts: int = 0
    receipts: int = 0
    transactions: int = 0


@dataclass
class EthereumIndex:
    """Recorded Ethereum blocks, receipts and transactions, looked up by number or hash.

    Build with ``EthereumIndex.load(data_dir)``. All lookups return the recorded JSON values
    (dicts/lists shared with the index: callers must not mutate them), or None when not recorded.
    """

    blocks: dict[int, _BlockEntry] = field(default_factory=dict)
    block_numbers_by_hash: dict[str, int] = field(default_factory=dict)
    receipts_by_tx: dict[str, dict] = field(default_factory=dict)
    txs_by_hash: dict[str, dict] = field(default_factory=dict)
    counts: IndexCounts = field(default_factory=IndexCounts)

    @classmethod
    def load(cls, data_dir: Path) -> "EthereumIndex":
        """Walk ``data_dir`` for ``*.json`` (sorted, so the first of two conflicting files wins).

        Raises: nothing for bad files (each is logged at WARNING and skipped).
        """
        index = cls()
        for path in sorted(Path(data_dir).rglob("*.json")):
            index.counts.files += 1
            try:
                raw = path.read_bytes()
                # Cheap pre-check: blocks and receipts always carry one of these keys.
                if b'"transactions"' not in raw and b'"transactionHash"' not in raw:
                    index.counts.skipped += 1
                    continue
                doc = json.loads(raw)
            except (OSError, ValueError) as exc:
                index.counts.skipped += 1
                logger.warning("replay.index.unreadable", extra={"path": str(path), "error": str(exc)})
                continue
            if not index.add(doc, source=str(path)):
                index.counts.skipped += 1
                logger.debug("replay.index.skipped", extra={"path": str(path)})
        index._finish()
        return index

    def add(self, doc: Any, *, source: str = "") -> bool:
        """Index one recorded document (envelope or bare result); False when it holds nothing served."""
        if isinstance(doc, dict) and "result" in doc and set(doc) <= ENVELOPE_KEYS:
            doc = doc["result"]  # some recordings drop "jsonrpc" (ethereum-etl's genesis block)
        if _is_block(doc):
            return self._add_block(doc, source)
        if isinstance(doc, list) and doc and all(_is_receipt(r) for r in doc):
            return self._add_receipts(doc, source)
        if _is_receipt(doc):
            self.receipts_by_tx.setdefault(doc["transactionHash"].lower(), doc)
            return True
        return False

    def _add_block(self, block: dict, source: str) -> bool:
        number = _hex_to_int(block["number"])
        assert number is not None  # _is_block checked it
        entry = self.blocks.setdefault(number, _BlockEntry())
        known = entry.full or entry.hashes
        if known is not None and known["hash"].lower() != block["hash"].lower():
            logger.warning("replay.index.conflicting_block", extra={"number": number, "path": source})
            return False
        if all(isinstance(tx, dict) for tx in block["transactions"]) and block["transactions"]:
            entry.full = entry.full or block
        elif all(isinstance(tx, str) for tx in block["transactions"]):
            if not block["transactions"]:  # no transactions: the full and hash-only forms are the same
                entry.full = entry.full or block
            entry.hashes = entry.hashes or block
        else:
            logger.warning("replay.index.mixed_transactions", extra={"number": number, "path": source})
            return False
        self.block_numbers_by_hash[block["hash"].lower()] = number
        return True

    def _add_receipts(self, receipts: list, source: str) -> bool:
        number = _hex_to_int(receipts[0].get("blockNumber"))
        if number is None or any(_hex_to_int(r.get("blockNumber")) != number for r in receipts):
            logger.warning("replay.index.receipts_without_one_block", extra={"path": source})
            return False
        entry = self.blocks.setdefault(number, _BlockEntry())
        entry.receipts = entry.receipts or receipts
        for receipt in receipts:
            self.receipts_by_tx.setdefault(receipt["transactionHash"].lower(), receipt)
        return True

    def _finish(self) -> None:
        for entry in self.blocks.values():
            if entry.full is None and entry.hashes is None:
                continue  # receipts of an unrecorded block: served by number and tx hash only
            if entry.full is not None:
                if entry.hashes is None:
                    entry.hashes = _hash_only(entry.full)
                for tx in entry.full["transactions"]:
                    if isinstance(tx, dict) and "hash" in tx:
                        self.txs_by_hash.setdefault(tx["hash"].lower(), tx)
            assert entry.hashes is not None
            if entry.receipts is None:
                tx_hashes = [h.lower() for h in entry.hashes["transactions"]]
                if all(h in self.receipts_by_tx for h in tx_hashes):
                    entry.receipts = [self.receipts_by_tx[h] for h in tx_hashes]
        c = self.counts
        c.blocks = sum(1 for e in self.blocks.values() if e.hashes is not None)
        c.full_blocks = sum(1 for e in self.blocks.values() if e.full is not None)
        c.blocks_with_receipts = sum(1 for e in self.blocks.values() if e.receipts is not None)
        c.receipts = len(self.receipts_by_tx)
        c.transactions = len(self.txs_by_hash)

    def default_head(self) -> int | None:
        """Highest block number with both its full block and its receipts recorded; when no block
        has both, the highest block recorded in any form; None when no block is recorded."""
        complete = [n for n, e in self.blocks.items() if e.full is not None and e.receipts is not None]
        recorded = [n for n, e in self.blocks.items() if e.hashes is not None]
        return max(complete or recorded, default=None)

    def block(self, number: int, *, full: bool) -> dict | None:
        entry = self.blocks.get(number)
        if entry is None:
            return None
        return entry.full if full else entry.hashes

    def receipts(self, number: int) -> list | None:
        entry = self.blocks.get(number)
        return entry.receipts if entry is not None else None


class ChainCopies:
    """Lazily generated synthetic copies of the ``COPY_TEMPLATE`` pair (module docstring).

    Shape: the same JSON shapes as the recordings. ``count`` copies of the pair = ``2 * count``
    blocks numbered from ``COPY_TEMPLATE[1] + 1``. A small LRU keeps the last few generated blocks.
    Raises: ValueError at construction when the template pair is not fully recorded.
    """

    CACHE_SIZE = 8

    def __init__(self, index: EthereumIndex, count: int) -> None:
        self.count = count
        self.first = COPY_TEMPLATE[1] + 1
        self.last = COPY_TEMPLATE[1] + 2 * count
        self._templates: list[tuple[dict, list]] = []
        for number in COPY_TEMPLATE:
            block, receipts = index.block(number, full=True), index.receipts(number)
            if block is None or receipts is None:
                raise ValueError(f"eth_copies needs the full block and receipts of {number} in the data dir")
            self._templates.append((block, receipts))
        if self._templates[1][0]["parentHash"].lower() != self._templates[0][0]["hash"].lower():
            raise ValueError(f"recorded blocks {COPY_TEMPLATE} are not consecutive")
        self._last_real_hash = self._templates[1][0]["hash"]
        self._cache: OrderedDict[int, tuple[dict, list]] = OrderedDict()
        self._lock = Lock()

    def covers(self, number: int) -> bool:
        return self.count > 0 and self.first <= number <= self.last

    def number_of_block_hash(self, block_hash: str) -> int | None:
        number = int(block_hash[-8:], 16)
        return number if self.covers(number) and copy_block_hash(number) == block_hash.lower() else None

    def number_of_tx_hash(self, tx_hash: str) -> tuple[int, int] | None:
        """``(block number, tx index)`` of a synthetic tx hash, None when it is not one of ours."""
        if not _is_hash(tx_hash):
            return None
        number, position = int(tx_hash[-16:-8], 16), int(tx_hash[-8:], 16)
        if not self.covers(number):
            return None
        block, _ = self.get(number)
        txs = block["transactions"]
        if position < len(txs) and txs[position]["hash"] == tx_hash.lower():
            return number, position
        return None

    def get(self, number: int) -> tuple[dict, list]:
        """``(full block, receipts)`` of synthetic block ``number`` (``covers(number)`` must hold)."""
        with self._lock:
            if number in self._cache:
                self._cache.move_to_end(number)
                return self._cache[number]
        made = self._make(number)
        with self._lock:
            self._cache[number] = made
            while len(self._cache) > self.CACHE_SIZE:
                self._cache.popitem(last=False)
        return made

    def _make(self, number: int) -> tuple[dict, list]:
        offset = number - self.first
        copy_k, which = offset // 2 + 1, offset % 2
        block, receipts = self._templates[which]
        block_hash, number_hex = copy_block_hash(number), hex(number)
        parent = self._last_real_hash if number == self.first else copy_block_hash(number - 1)
        tx_hashes = {
            tx["hash"].lower(): copy_tx_hash(number, i, tx["hash"]) for i, tx in enumerate(block["transactions"])
        }
        txs = [
            {**tx, "hash": tx_hashes[tx["hash"].lower()], "blockHash": block_hash, "blockNumber": number_hex}
            for tx in block["transactions"]
        ]
        timestamp = hex(int(block["timestamp"], 16) + COPY_PERIOD_S * copy_k)
        new_block = {
            **block, "number": number_hex, "hash": block_hash, "parentHash": parent,
            "timestamp": timestamp, "transactions": txs,
        }
        new_receipts = []
        for receipt in receipts:
            tx_hash = tx_hashes[receipt["transactionHash"].lower()]
            rewritten = {"transactionHash": tx_hash, "blockHash": block_hash, "blockNumber": number_hex}
            logs = [{**log, **rewritten} for log in receipt["logs"]]
            new_receipts.append({**receipt, **rewritten, "logs": logs})
        return new_block, new_receipts


class EthereumRpc:
    """Answers Ethereum JSON-RPC calls from an ``EthereumIndex`` (+ optional ``ChainCopies``).

    ``call(method, params)`` returns the JSON result value (None = JSON ``null``, as a node answers
    for an unknown block or transaction). Raises: RpcError(-32601) for an unknown method,
    RpcError(-32602) for invalid params.
    """

    def __init__(self, index: EthereumIndex, *, copies: int = 0, head_block: int | None = None) -> None:
        self.index = index
        self.copies = ChainCopies(index, copies) if copies else None
        self._head_override = head_block
        self._methods = {
            "eth_chainId": self._chain_id,
            "net_version": self._net_version,
            "eth_blockNumber": self._block_number,
            "eth_syncing": self._syncing,
            "web3_clientVersion": self._client_version,
            "eth_getBlockByNumber": self._block_by_number,
            "eth_getBlockByHash": self._block_by_hash,
            "eth_getBlockReceipts": self._block_receipts,
            "eth_getTransactionReceipt": self._transaction_receipt,
            "eth_getTransactionByHash": self._transaction_by_hash,
        }

    @property
    def head(self) -> int | None:
        """The head block number: the constructor's ``head_block``, else the last copy, else
        ``EthereumIndex.default_head()``. Settable (``None`` restores the default)."""
        if self._head_override is not None:
            return self._head_override
        if self.copies is not None:
            return self.copies.last
        return self.index.default_head()

    @head.setter
    def head(self, value: int | None) -> None:
        self._head_override = value

    def call(self, method: str, params: Any) -> Any:
        handler = self._methods.get(method)
        if handler is None:
            raise RpcError(-32601, f"the method {method} does not exist/is not available")
        if params is None:
            params = []
        if not isinstance(params, list):
            raise _invalid("non-array args")
        return handler(params)

    # --- methods ------------------------------------------------------------------------------
    def _chain_id(self, params: list) -> str:
        return CHAIN_ID

    def _net_version(self, params: list) -> str:
        return NET_VERSION

    def _syncing(self, params: list) -> bool:
        return False

    def _client_version(self, params: list) -> str:
        return "WhaleTrack-replay/1.0 (recorded mainnet data)"

    def _block_number(self, params: list) -> str:
        head = self.head
        if head is None:
            raise RpcError(-32000, "no block is recorded")
        return hex(head)

    def _block_by_number(self, params: list) -> dict | None:
        number = self._block_param(params, 0)
        full = self._full_param(params)
        return self.block(number, full=full) if number is not None else None

    def _block_by_hash(self, params: list) -> dict | None:
        block_hash = self._hash_param(params, 0)
        full = self._full_param(params)
        number = self._number_of_block_hash(block_hash)
        return self.block(number, full=full) if number is not None else None

    def _block_receipts(self, params: list) -> list | None:
        if len(params) != 1:
            raise _invalid(f"expected 1 argument, got {len(params)}")
        if _is_hash(params[0]):
            number = self._number_of_block_hash(params[0].lower())
        else:
            number = self._block_param(params, 0)
        return self.receipts(number) if number is not None else None

    def _transaction_receipt(self, params: list) -> dict | None:
        tx_hash = self._hash_param(params, 0, count=1)
        receipt = self.index.receipts_by_tx.get(tx_hash)
        if receipt is None and self.copies is not None:
            found = self.copies.number_of_tx_hash(tx_hash)
            if found is not None:
                receipt = self.copies.get(found[0])[1][found[1]]
        return receipt

    def _transaction_by_hash(self, params: list) -> dict | None:
        tx_hash = self._hash_param(params, 0, count=1)
        tx = self.index.txs_by_hash.get(tx_hash)
        if tx is None and self.copies is not None:
            found = self.copies.number_of_tx_hash(tx_hash)
            if found is not None:
                tx = self.copies.get(found[0])[0]["transactions"][found[1]]
        return tx

    # --- lookups ------------------------------------------------------------------------------
    def block(self, number: int, *, full: bool) -> dict | None:
        """Block ``number``: full tx objects or hashes only. None when not recorded in that form
        (a block recorded with hashes only is None with ``full=True``: its tx objects are unknown)."""
        found = self.index.block(number, full=full)
        if found is None and self.copies is not None and self.copies.covers(number):
            block = self.copies.get(number)[0]
            return block if full else _hash_only(block)
        return found

    def receipts(self, number: int) -> list | None:
        """All receipts of block ``number`` in transaction order, None when not recorded."""
        found = self.index.receipts(number)
        if found is None and self.copies is not None and self.copies.covers(number):
            return self.copies.get(number)[1]
        return found

    def _number_of_block_hash(self, block_hash: str) -> int | None:
        number = self.index.block_numbers_by_hash.get(block_hash)
        if number is None and self.copies is not None:
            number = self.copies.number_of_block_hash(block_hash)
        return number

    # --- params ---------------------------------------------------------------------------------
    def _block_param(self, params: list, position: int) -> int | None:
        if len(params) <= position:
            raise _invalid(f"missing value for required argument {position}")
        value = params[position]
        if isinstance(value, str) and value in HEAD_TAGS:
            return self.head
        if value == "earliest":
            return 0
        number = _hex_to_int(value)
        if number is None:
            raise _invalid(f"invalid argument {position}: hex string without 0x prefix or not a block tag")
        return number

    def _full_param(self, params: list) -> bool:
        if len(params) > 2:
            raise _invalid(f"too many arguments, want at most 2, got {len(params)}")
        full = params[1] if len(params) == 2 else False
        if not isinstance(full, bool):
            raise _invalid("invalid argument 1: json: cannot unmarshal into Go value of type bool")
        return full

    def _hash_param(self, params: list, position: int, *, count: int | None = None) -> str:
        if count is not None and len(params) != count:
            raise _invalid(f"expected {count} argument(s), got {len(params)}")
        if len(params) <= position:
            raise _invalid(f"missing value for required argument {position}")
        value = params[position]
        if not _is_hash(value):
            raise _invalid(f"invalid argument {position}: hex string has length {len(str(value)) - 2}, want 64")
        return value.lower()
