"""Arbitrum One JSON-RPC answered from real recordings: two Hyperliquid bridge deposits.

Source: the VCR cassettes in ``CASSETTE_DIR`` (``rotki-test-caching-cassettes/hyperliquid``) under the
data directory, read in place. Their interactions with Etherscan v2's proxy module for chain 42161
(``module=proxy&chainid=42161``: ``eth_getTransactionByHash``, ``eth_getBlockByNumber(…, true)``,
``eth_getTransactionReceipt``) wrap the Arbitrum node's JSON-RPC reply ``{"jsonrpc", "id", "result"}``;
the ``result`` values are indexed by content with ``ledgers.replay.ethereum.EthereumIndex``. Recorded
(2025-03-07, see PROVENANCE.md): blocks 311,103,061 and 311,535,537 with full transactions, and the
transaction and receipt of one USDC deposit into the Hyperliquid bridge in each.

Methods: those of ``ledgers.replay.ethereum.EthereumRpc`` (values exactly as recorded; ``null`` for
what is not recorded; the same geth-style errors) with chain id ``0xa4b1`` (42161), plus
``eth_getLogs``, DERIVED: the logs of the recorded receipts that match the filter. Only the two
deposit transactions' receipts are recorded, not every receipt of their blocks, so a range without
those receipts answers ``[]`` and a range with them answers only their logs (a real node would also
return the other transactions' logs). ``eth_getBlockReceipts`` answers ``null`` for the same reason.
The head (``eth_blockNumber``, ``latest``) is the highest recorded block unless overridden.
"""

import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import yaml

from ledgers.replay.ethereum import (
    HEAD_TAGS,
    EthereumIndex,
    EthereumRpc,
    RpcError,
    _hex_to_int,
    _invalid,
    _is_address,
    _is_hash,
)
from ledgers.replay.hyperliquid import read_cassette

logger = logging.getLogger(__name__)

CASSETTE_DIR = "rotki-test-caching-cassettes/hyperliquid"
ETHERSCAN_HOSTS = frozenset({"api.etherscan.io"})
CHAIN_ID_DECIMAL = "42161"
CHAIN_ID = "0xa4b1"
PROXY_ACTIONS = frozenset({"eth_getTransactionByHash", "eth_getBlockByNumber", "eth_getTransactionReceipt"})
MAX_TOPICS = 4




def load_arbitrum_index(data_dir: Path) -> EthereumIndex:
    """Index the recorded Arbitrum One blocks, transactions and receipts (module docstring).

    Raises: nothing (bad files and interactions are logged and skipped; a missing folder indexes nothing).
    """
    index = EthereumIndex()
    for path in sorted((Path(data_dir) / CASSETTE_DIR).glob("*.yaml")):
        try:
            interactions = read_cassette(path)
        except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError) as exc:
            logger.warning("replay.arbitrum.bad_cassette", extra={"path": str(path), "error": str(exc)})
            continue
        index.counts.files += 1
        for item in interactions:
            try:
                url = urlsplit(item["request"]["uri"])
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.hostname not in ETHERSCAN_HOSTS or query.get("module") != "proxy":
                    continue
                if query.get("chainid") != CHAIN_ID_DECIMAL or query.get("action") not in PROXY_ACTIONS:
                    continue
                body = item["response"]["body"]["string"]
                doc = json.loads(body.decode() if isinstance(body, bytes) else body)
                result = doc["result"]
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                logger.warning("replay.arbitrum.bad_interaction", extra={"path": str(path), "error": str(exc)})
                continue
            if query["action"] == "eth_getTransactionByHash":
                if isinstance(result, dict) and _is_hash(result.get("hash")):
                    index.txs_by_hash.setdefault(result["hash"].lower(), result)
            elif not index.add(result, source=str(path)):
                index.counts.skipped += 1
    # Same package: the index's own post-processing (hash-only block forms, block tx lookup, counts).
    index._finish()
    return index


class ArbitrumRpc(EthereumRpc):
    """Answers Arbitrum One JSON-RPC calls from ``load_arbitrum_index`` (module docstring).

    ``call(method, params)`` returns the JSON result (None = ``null``). ``logs``: every log of the
    recorded receipts, ordered by (block number, log index). Raises: RpcError(-32601) for an unknown
    method, RpcError(-32602) for invalid params, RpcError(-32000) for an invalid block range, too
    many topics or an unknown ``blockHash``.
    """

    def __init__(self, index: EthereumIndex, *, head_block: int | None = None) -> None:
        super().__init__(index, head_block=head_block)
        self._methods["eth_getLogs"] = self._get_logs
        keyed = []
        for receipt in index.receipts_by_tx.values():
            for log in receipt.get("logs") or []:
                number, position = _hex_to_int(log.get("blockNumber")), _hex_to_int(log.get("logIndex"))
                if number is None or position is None or log.get("removed"):
                    continue
                keyed.append((number, position, log))
        keyed.sort(key=lambda k: (k[0], k[1]))
        self._logs: list[tuple[int, dict]] = [(number, log) for number, _, log in keyed]

    @property
    def logs(self) -> list[dict]:
        return [log for _, log in self._logs]

    def _chain_id(self, params: list) -> str:
        return CHAIN_ID

    def _net_version(self, params: list) -> str:
        return CHAIN_ID_DECIMAL

    def _client_version(self, params: list) -> str:
        return "WhaleTrack-replay/1.0 (recorded Arbitrum One data)"

    # --- eth_getLogs --------------------------------------------------------------------------
    def _get_logs(self, params: list) -> list[dict]:
        if len(params) != 1:
            raise _invalid(f"expected 1 argument, got {len(params)}")
        criteria = params[0]
        if not isinstance(criteria, dict):
            raise _invalid("invalid argument 0: json: cannot unmarshal into Go value of type filters.FilterCriteria")
        first, last = self._filter_range(criteria)
        addresses = self._filter_addresses(criteria.get("address"))
        topics = self._filter_topics(criteria.get("topics"))
        found = []
        for number, log in self._logs:
            if number < first or number > last:
                continue
            if addresses is not None and str(log.get("address", "")).lower() not in addresses:
                continue
            if _topics_match(log.get("topics") or [], topics):
                found.append(log)
        return found

    def _filter_range(self, criteria: dict) -> tuple[int, int]:
        block_hash = criteria.get("blockHash")
        if block_hash is not None:
            if criteria.get("fromBlock") is not None or criteria.get("toBlock") is not None:
                raise _invalid("invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, "
                               "choose one or the other")
            if not _is_hash(block_hash):
                raise _invalid("invalid argument 0: hex string has length "
                               f"{len(str(block_hash)) - 2}, want 64 for common.Hash")
            number = self.index.block_numbers_by_hash.get(block_hash.lower())
            if number is None:
                raise RpcError(-32000, "unknown block")
            return number, number
        first = self._filter_block(criteria.get("fromBlock"))
        last = self._filter_block(criteria.get("toBlock"))
        if first > last:
            raise RpcError(-32000, "invalid block range params")
        return first, last

    def _filter_block(self, value: Any) -> int:
        if value is None or (isinstance(value, str) and value in HEAD_TAGS):
            head = self.head
            if head is None:
                raise RpcError(-32000, "no block is recorded")
            return head
        if value == "earliest":
            return 0
        number = _hex_to_int(value)
        if number is None:
            raise _invalid("invalid argument 0: hex string without 0x prefix or not a block tag")
        return number

    @staticmethod
    def _filter_addresses(value: Any) -> set[str] | None:
        if value is None:
            return None
        values = value if isinstance(value, list) else [value]
        for item in values:
            if not _is_address(item):
                raise _invalid(f"invalid argument 0: hex string has length {len(str(item)) - 2}, "
                               "want 40 for common.Address")
        return {item.lower() for item in values} or None

    @staticmethod
    def _filter_topics(value: Any) -> list[set[str] | None]:
        if value is None:
            return []
        if not isinstance(value, list):
            raise _invalid("invalid argument 0: topics must be an array")
        if len(value) > MAX_TOPICS:
            raise RpcError(-32000, "exceed max topics")
        positions: list[set[str] | None] = []
        for entry in value:
            options = entry if isinstance(entry, list) else [entry]
            if entry is None or not options or any(option is None for option in options):
                positions.append(None)  # a null (or a null inside an OR-list) matches any topic
                continue
            for option in options:
                if not _is_hash(option):
                    raise _invalid("invalid argument 0: invalid topic(s)")
            positions.append({option.lower() for option in options})
        return positions


def _topics_match(log_topics: list, wanted: list[set[str] | None]) -> bool:
    """geth's rule: position i matches when the filter has null there or the log's topic i is in its set;
    a filter longer than the log's topics never matches."""
    if len(wanted) > len(log_topics):
        return False
    return all(options is None or str(topic).lower() in options
               for topic, options in zip(log_topics, wanted, strict=False))
