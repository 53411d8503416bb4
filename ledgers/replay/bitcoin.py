"""Esplora (mempool.space) REST answers for Bitcoin mainnet from real recordings.

Source (under the data directory, read in place):

- ``bitcoin-mempool-space-am-i-exposed/*.json``: Esplora responses recorded from mempool.space
  (``GET /api/tx/:txid`` objects; ``satoshi-genesis-address.json``, ``satoshi-genesis-txs.json`` and
  ``satoshi-genesis-utxos.json`` = ``GET /api/address/1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa[/txs|/utxo]``);
- ``bitcoin-mempool-space-fixtures/**/*.json``: mempool.space's own test data. Backend objects are
  mempool's extended transactions (an Esplora tx plus ``order``, ``adjustedVsize``, ``firstSeen``...),
  frontend ones are recorded ``GET /api/tx/:txid`` answers (some also extended).

Every Esplora-shaped transaction (an object with ``txid``, ``vin``, ``vout`` and a ``status`` object,
alone or in a top-level list) is indexed, in recording order (directories as above, files sorted by
path, then list order). Extended objects are cut down to Esplora's keys (``ESPLORA_TX_KEYS``, in
Esplora's order; ``sigops`` only when recorded); ``vin``/``vout`` items stay exactly as recorded.
When one txid is recorded more than once, a confirmed copy wins over an unconfirmed one, else the
first. Values are never changed (the whale-sized variants of ``ledgers.replay.mempool_ws`` exist on
the WebSocket only).

DERIVED, not recorded (and documented on each answer): address statistics, pages and UTXOs of every
address other than the genesis address are computed from the indexed transactions only, so they
cover the recorded window, not the address's real history. The status of a transaction confirmed by
a ``block`` frame the WebSocket stream has played (``confirm``) follows the stream.
"""

import json
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

logger = logging.getLogger(__name__)

AM_I_EXPOSED_DIR = "bitcoin-mempool-space-am-i-exposed"
FIXTURES_DIR = "bitcoin-mempool-space-fixtures"
GENESIS_ADDRESS = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
GENESIS_FILES = {
    "address": "satoshi-genesis-address.json",
    "txs": "satoshi-genesis-txs.json",
    "utxo": "satoshi-genesis-utxos.json",
}
# Esplora's transaction keys, in the order Esplora writes them; everything else is mempool-internal.
ESPLORA_TX_KEYS = ("txid", "version", "locktime", "vin", "vout", "size", "weight", "sigops", "fee", "status")
CHAIN_PAGE_SIZE = 25  # Esplora's confirmed-transactions page (/txs and /txs/chain/:last_seen_txid)

TEXT = "text/plain"
JSON = "application/json"
TX_NOT_FOUND = "Transaction not found"
ADDRESS_NOT_RECORDED = "Address not in the recordings"
INVALID_HEX = "Invalid hex string"
INVALID_ADDRESS = "Invalid Bitcoin address"

_TXID = re.compile(r"[0-9a-fA-F]{64}")
# Format only (no checksum): base58 P2PKH/P2SH ("1"/"3", 26-35 chars) or bech32/bech32m "bc1" (one case).
_BASE58_ADDRESS = re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}")
_BECH32_ADDRESS = re.compile(r"bc1[02-9ac-hj-np-z]{11,71}")


class TxoStats(TypedDict):
    """Esplora ``chain_stats``/``mempool_stats``; sums in satoshis."""

    funded_txo_count: int
    funded_txo_sum: int
    spent_txo_count: int
    spent_txo_sum: int
    tx_count: int


@dataclass(frozen=True)
class EsploraAnswer:
    """One HTTP answer: status, Content-Type and body bytes."""

    status: int
    content_type: str
    body: bytes


def is_txid(value: str) -> bool:
    """True for 64 hex digits (either case), the only txid form Esplora accepts."""
    return bool(_TXID.fullmatch(value))


def is_address(value: str) -> bool:
    """True for a well-formed mainnet address: base58 ``1...``/``3...`` of 26-35 characters, or bech32
    ``bc1...`` all in one case. Format only: checksums are not verified."""
    if value[:3].lower() == "bc1":
        return value in (value.lower(), value.upper()) and bool(_BECH32_ADDRESS.fullmatch(value.lower()))
    return bool(_BASE58_ADDRESS.fullmatch(value))


def is_esplora_tx(value: Any) -> bool:
    """True for an object with ``txid`` (str), ``vin``/``vout`` (lists) and a ``status`` object."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("txid"), str)
        and isinstance(value.get("vin"), list)
        and isinstance(value.get("vout"), list)
        and isinstance(value.get("status"), dict)
    )


def esplora_tx(value: dict) -> dict:
    """``value`` cut down to Esplora's keys, in Esplora's order (a new dict; nested objects shared)."""
    return {key: value[key] for key in ESPLORA_TX_KEYS if key in value}


def _text(status: int, text: str) -> EsploraAnswer:
    return EsploraAnswer(status, TEXT, text.encode())


def _json(value: Any) -> EsploraAnswer:
    return EsploraAnswer(200, JSON, json.dumps(value, separators=(",", ":")).encode())


def _empty_stats() -> TxoStats:
    return {"funded_txo_count": 0, "funded_txo_sum": 0, "spent_txo_count": 0, "spent_txo_sum": 0, "tx_count": 0}


@dataclass
class EsploraIndex:
    """Recorded Bitcoin transactions by txid and address. Build with ``EsploraIndex.load(data_dir)``.

    ``txs`` holds the Esplora objects in recording order; ``by_address`` the txids touching each
    address (as an output's ``scriptpubkey_address`` or an input's ``prevout.scriptpubkey_address``),
    in recording order; ``tip_height`` the highest block height recorded (transactions plus any
    ``block_heights`` given to ``load``). Thread-safe: only the stream confirmations change after load.
    """

    txs: dict[str, dict] = field(default_factory=dict)
    by_address: dict[str, list[str]] = field(default_factory=dict)
    genesis: dict[str, Any] = field(default_factory=dict)
    tip_height: int = 0
    files: int = 0
    _order: dict[str, int] = field(default_factory=dict)
    _spent: set[tuple[str, int]] = field(default_factory=set)
    _confirmed: dict[str, dict] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, data_dir: Path, block_heights: tuple[int, ...] = ()) -> "EsploraIndex":
        """Index the two Bitcoin directories under ``data_dir`` (missing ones are empty).

        ``block_heights``: heights of blocks recorded elsewhere (the WebSocket frames), for ``tip_height``.
        Raises: nothing (unreadable files are logged and skipped).
        """
        index = cls()
        root = Path(data_dir)
        for name in (AM_I_EXPOSED_DIR, FIXTURES_DIR):
            for path in sorted((root / name).rglob("*.json")):
                index._add_file(path)
        genesis_dir = root / AM_I_EXPOSED_DIR
        for key, name in GENESIS_FILES.items():
            try:
                index.genesis[key] = json.loads((genesis_dir / name).read_text())
            except (OSError, ValueError):
                continue  # absent: the genesis address is answered like any other
        for txid in index.txs:
            index._link(txid)
        heights = [t["status"]["block_height"] for t in index.txs.values() if t["status"].get("confirmed")]
        index.tip_height = max([*heights, *block_heights], default=0)
        return index

    def _add_file(self, path: Path) -> None:
        try:
            doc = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            logger.warning("replay.bitcoin.bad_file", extra={"path": str(path), "error": str(exc)})
            return
        items = doc if isinstance(doc, list) else [doc]
        found = False
        for item in items:
            if not is_esplora_tx(item):
                continue
            found = True
            tx = esplora_tx(item)
            txid = tx["txid"].lower()
            known = self.txs.get(txid)
            if known is None:
                self._order[txid] = len(self._order)
                self.txs[txid] = tx
            elif tx["status"].get("confirmed") and not known["status"].get("confirmed"):
                self.txs[txid] = tx
        self.files += found

    def _link(self, txid: str) -> None:
        tx = self.txs[txid]
        addresses: list[str] = []
        for vin in tx["vin"]:
            prevout = vin.get("prevout") or {}
            if isinstance(vin.get("txid"), str) and isinstance(vin.get("vout"), int):
                self._spent.add((vin["txid"].lower(), vin["vout"]))
            if prevout.get("scriptpubkey_address"):
                addresses.append(prevout["scriptpubkey_address"])
        addresses.extend(v["scriptpubkey_address"] for v in tx["vout"] if v.get("scriptpubkey_address"))
        for address in dict.fromkeys(addresses):
            self.by_address.setdefault(address, []).append(txid)

    # --- stream confirmations -----------------------------------------------------------------
    def confirm(self, txid: str, status: dict) -> bool:
        """Report ``txid`` as confirmed with ``status`` from now on (DERIVED: the WebSocket stream
        played a block confirming it); returns False when it was already so reported."""
        with self._lock:
            known = self._confirmed.get(txid)
            self._confirmed[txid] = status
            return known != status

    def unconfirm(self, txid: str) -> None:
        """Forget a stream confirmation of ``txid`` (the block frame could not be delivered)."""
        with self._lock:
            self._confirmed.pop(txid, None)

    def clear_confirmations(self) -> None:
        """Forget every stream confirmation: back to the recorded statuses."""
        with self._lock:
            self._confirmed.clear()

    # --- reads --------------------------------------------------------------------------------
    def status(self, txid: str) -> dict | None:
        """Esplora ``status`` of a recorded tx, None if unknown: ``{"confirmed": false}`` or
        ``{"confirmed": true, "block_height", "block_hash", "block_time"}`` (Unix seconds). A stream
        confirmation (``confirm``) overrides the recorded status."""
        tx = self.txs.get(txid)
        if tx is None:
            return None
        with self._lock:
            confirmed = self._confirmed.get(txid)
        return dict(confirmed) if confirmed is not None else tx["status"]

    def tx(self, txid: str) -> dict | None:
        """The Esplora tx (with ``status`` as ``status()`` says), None if not recorded."""
        tx = self.txs.get(txid)
        if tx is None:
            return None
        return {**tx, "status": self.status(txid)}

    def _confirmed_sorted(self, txids: list[str]) -> list[dict]:
        txs = [t for t in (self.tx(txid) for txid in txids) if t is not None and t["status"].get("confirmed")]
        return sorted(txs, key=lambda t: (-t["status"]["block_height"], self._order[t["txid"]]))

    def _mempool(self, txids: list[str]) -> list[dict]:
        return [t for t in (self.tx(txid) for txid in txids) if t is not None and not t["status"].get("confirmed")]

    def address_stats(self, address: str) -> dict | None:
        """``GET /address/:address``, DERIVED from the indexed txs (recorded window only).

        Shape: ``{"address", "chain_stats", "mempool_stats"}`` (TxoStats; confirmed txs in
        ``chain_stats``, unconfirmed ones in ``mempool_stats``). None when no indexed tx touches it.
        """
        txids = self.by_address.get(address)
        if not txids:
            return None
        chain, mempool = _empty_stats(), _empty_stats()
        for txid in txids:
            tx = self.tx(txid)
            assert tx is not None  # by_address only holds indexed txids
            stats = chain if tx["status"].get("confirmed") else mempool
            stats["tx_count"] += 1
            for vout in tx["vout"]:
                if vout.get("scriptpubkey_address") == address:
                    stats["funded_txo_count"] += 1
                    stats["funded_txo_sum"] += vout["value"]
            for vin in tx["vin"]:
                prevout = vin.get("prevout") or {}
                if prevout.get("scriptpubkey_address") == address:
                    stats["spent_txo_count"] += 1
                    stats["spent_txo_sum"] += prevout["value"]
        return {"address": address, "chain_stats": chain, "mempool_stats": mempool}

    def address_chain(self, address: str) -> list[dict]:
        """Every confirmed tx of ``address``, newest first: the genesis address's recorded page in
        its recorded order, otherwise DERIVED (block_height descending, then recording order)."""
        if address == GENESIS_ADDRESS and "txs" in self.genesis:
            return [t for t in self.genesis["txs"] if t["status"].get("confirmed")]
        return self._confirmed_sorted(self.by_address.get(address, []))

    def address_utxo(self, address: str) -> list[dict]:
        """``GET /address/:address/utxo``, DERIVED: outputs to ``address`` no indexed tx spends.

        Shape: ``[{"txid", "vout", "status", "value"}]`` in recording order; value in satoshis.
        """
        utxos = []
        for txid in self.by_address.get(address, []):
            tx = self.tx(txid)
            assert tx is not None
            for n, vout in enumerate(tx["vout"]):
                if vout.get("scriptpubkey_address") == address and (txid, n) not in self._spent:
                    utxos.append({"txid": txid, "vout": n, "status": tx["status"], "value": vout["value"]})
        return utxos

    # --- HTTP ---------------------------------------------------------------------------------
    def answer(self, path: str) -> EsploraAnswer:
        """Answer ``GET <BITCOIN_API_URL><path>`` like Esplora / mempool.space.

        Paths: ``/tx/:txid``, ``/tx/:txid/status``, ``/address/:address``, ``/address/:address/txs``,
        ``/address/:address/txs/chain[/:last_seen_txid]``, ``/address/:address/txs/mempool``,
        ``/address/:address/utxo``, ``/blocks/tip/height``.
        Shape: JSON bodies, except ``/blocks/tip/height`` (text/plain integer) and errors (text/plain):
        400 ``Invalid hex string`` / ``Invalid Bitcoin address``, 404 ``Transaction not found``,
        ``Address not in the recordings`` (a well-formed address no recording mentions), ``Not Found``.
        """
        parts = path.strip("/").split("/")
        if parts[0] == "tx" and len(parts) in (2, 3):
            return self._answer_tx(parts[1], parts[2:])
        if parts[0] == "address" and 2 <= len(parts) <= 5:
            return self._answer_address(parts[1], parts[2:])
        if parts == ["blocks", "tip", "height"]:
            return EsploraAnswer(200, TEXT, str(self.tip_height).encode())
        return _text(404, "Not Found")

    def _answer_tx(self, txid: str, rest: list[str]) -> EsploraAnswer:
        if not is_txid(txid):
            return _text(400, INVALID_HEX)
        if rest not in ([], ["status"]):
            return _text(404, "Not Found")
        tx = self.tx(txid.lower())
        if tx is None:
            return _text(404, TX_NOT_FOUND)
        return _json(tx["status"] if rest else tx)

    def _answer_address(self, address: str, rest: list[str]) -> EsploraAnswer:
        if not is_address(address):
            return _text(400, INVALID_ADDRESS)
        if address[:3].lower() == "bc1":
            address = address.lower()  # bech32 is case-insensitive; the recordings write lowercase
        genesis = address == GENESIS_ADDRESS
        if not (genesis and self.genesis) and address not in self.by_address:
            return _text(404, ADDRESS_NOT_RECORDED)
        if not rest:
            if genesis and "address" in self.genesis:
                return _json(self.genesis["address"])
            return _json(self.address_stats(address))
        if rest == ["txs"]:
            if genesis and "txs" in self.genesis:
                return _json(self.genesis["txs"])
            mempool = self._mempool(self.by_address.get(address, []))
            return _json(mempool + self.address_chain(address)[:CHAIN_PAGE_SIZE])
        if rest == ["txs", "mempool"]:
            return _json(self._mempool(self.by_address.get(address, [])))
        if rest == ["utxo"]:
            if genesis and "utxo" in self.genesis:
                return _json(self.genesis["utxo"])
            return _json(self.address_utxo(address))
        if rest[:2] == ["txs", "chain"]:
            return self._answer_chain(address, rest[2:])
        return _text(404, "Not Found")

    def _answer_chain(self, address: str, rest: list[str]) -> EsploraAnswer:
        """``/txs/chain[/:last_seen_txid]``: the next CHAIN_PAGE_SIZE confirmed txs after
        ``last_seen_txid`` in ``address_chain`` order. After the last recorded tx the answer is ``[]``:
        the recording ends there (the real address may have older txs)."""
        chain = self.address_chain(address)
        if not rest:
            return _json(chain[:CHAIN_PAGE_SIZE])
        last = rest[0]
        if not is_txid(last):
            return _text(400, INVALID_HEX)
        positions = [i for i, t in enumerate(chain) if t["txid"] == last.lower()]
        if not positions:
            return _text(404, TX_NOT_FOUND)
        start = positions[0] + 1
        return _json(chain[start:start + CHAIN_PAGE_SIZE])
