"""Arbitrum One JSON-RPC client for the Hyperliquid bridge's deposits, on the shared EVM transport
(``ledgers.evm``: web3's HTTPProvider called raw, urllib3 retries of 429/5xx, connection errors and
timeouts with backoff and jitter, a timeout on every request: ``settings.ARBITRUM_RPC_TIMEOUT_S``).
Logs are decoded here into ``types.TokenTransfer`` (``transfer_decode``)."""

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings

from ledgers.evm import JsonRpcTransport, RpcError, quantity
from ledgers.glass.hyperliquid.types import BadRecord, Records, TokenTransfer

DEFAULT_RETRIES = 5
# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def _topic_address(address: str) -> str:
    return "0x" + "0" * 24 + address[2:].lower()


def _address_from_topic(topic: str) -> str:
    value = topic.lower()
    if len(value) != 66 or not value.startswith("0x") or value[2:26] != "0" * 24:
        raise ValueError(f"topic {topic!r} is not an address")
    return "0x" + value[26:]


def transfer_decode(raw: object, *, token_address: str, to_address: str, decimals: int) -> TokenTransfer | None:
    """The ERC-20 Transfer a raw eth_getLogs log object records, or None when it is not a Transfer of
    ``token_address`` to ``to_address`` (both lowercase).

    Shape: ``from_address`` and ``to_address`` from topics 1 and 2, ``value_raw`` = the 32-byte ``data``,
        ``decimals`` as given (the token's). Raises: BadRecord naming the first field that is malformed.
    """
    def bad(field: str, problem: str) -> BadRecord:
        return BadRecord(f"log {str(log.get('transactionHash'))[:66]}: {field!r} {problem}", field=field, record=raw)

    if not isinstance(raw, dict):
        raise BadRecord("log: not a JSON object", field="log", record=raw)
    log: Mapping[str, Any] = raw
    topics = log.get("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise bad("topics", "is not a list of hex strings")
    topics = [t.lower() for t in topics]
    if not isinstance(log.get("address"), str):
        raise bad("address", "is missing or not a string")
    if log["address"].lower() != token_address or len(topics) != 3 or topics[0] != TRANSFER_TOPIC:
        return None
    try:
        to = _address_from_topic(topics[2])
    except ValueError as exc:
        raise bad("topics", "[2] is not an address") from exc
    if to != to_address:
        return None
    data = log.get("data")
    if not isinstance(data, str) or not data.startswith("0x") or len(data) != 66:
        raise bad("data", "is not one uint256")
    try:
        value_raw = Decimal(int(data, 16))
    except ValueError as exc:
        raise bad("data", "is not hex") from exc
    try:
        from_address = _address_from_topic(topics[1])
    except ValueError as exc:
        raise bad("topics", "[1] is not an address") from exc
    if not isinstance(log.get("transactionHash"), str):
        raise bad("transactionHash", "is missing or not a string")
    numbers = {}
    for name in ("logIndex", "blockNumber"):
        try:
            numbers[name] = quantity(log.get(name))
        except (TypeError, ValueError) as exc:
            raise bad(name, "is not a quantity") from exc
    return TokenTransfer(
        tx_hash=log["transactionHash"].lower(), block_number=numbers["blockNumber"], log_index=numbers["logIndex"],
        token_address=token_address, from_address=from_address, to_address=to, value_raw=value_raw,
        decimals=decimals,
    )


class ArbitrumClient:
    """JSON-RPC over HTTP to an Arbitrum One node (``ARBITRUM_RPC_URL``, or the replay node offline).

    Source: eth_chainId, eth_blockNumber, eth_getLogs, eth_getBlockByNumber(n, false).
    Raises: RpcUnavailable (retryable) or RpcError (terminal), nothing else (a log that cannot be decoded
        is returned in ``Records.bad`` as a BadRecord, not raised).
    """

    def __init__(self, url: str, *, timeout_s: float = 20.0, retries: int = DEFAULT_RETRIES,
                 backoff_s: float = 0.5) -> None:
        self.url = url
        self._rpc = JsonRpcTransport(url, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s)

    @classmethod
    def from_settings(cls, url: str | None = None) -> "ArbitrumClient":
        """A client on ``url`` or ``settings.ARBITRUM_RPC_URL`` with ``settings.ARBITRUM_RPC_TIMEOUT_S`` and
        ``settings.ARBITRUM_RPC_RETRIES``."""
        return cls(url or settings.ARBITRUM_RPC_URL, timeout_s=settings.ARBITRUM_RPC_TIMEOUT_S,
                   retries=settings.ARBITRUM_RPC_RETRIES)

    # --- API ----------------------------------------------------------------------------------
    def chain_id(self) -> int:
        """The node's chain id (42161 = Arbitrum One)."""
        return self._rpc.quantity("eth_chainId", [])

    def block_number(self) -> int:
        """The node's head block number."""
        return self._rpc.quantity("eth_blockNumber", [])

    def get_transfers(self, *, token_address: str, to_address: str, decimals: int, from_block: int,
                      to_block: int) -> Records[TokenTransfer]:
        """ERC-20 Transfers of ``token_address`` to ``to_address`` in blocks [from_block, to_block].

        Source: one eth_getLogs (address ``token_address``, topics [Transfer, any, ``to_address``]).
        Shape: addresses lowercase; ``decimals`` the token's (6 for USDC); transfers in the node's order;
            logs the node marks ``removed`` are left out, and so is any other log than such a Transfer.
        Raises: RpcError when the answer is not a list of objects (or the node refuses the range).
        """
        criteria = {"address": token_address, "topics": [TRANSFER_TOPIC, None, _topic_address(to_address)],
                    "fromBlock": hex(from_block), "toBlock": hex(to_block)}
        logs = self._rpc.request("eth_getLogs", [criteria])
        if not isinstance(logs, list) or not all(isinstance(log, dict) for log in logs):
            raise RpcError(f"eth_getLogs({from_block}-{to_block}): malformed answer")
        transfers: list[TokenTransfer] = []
        bad: list[BadRecord] = []
        for log in logs:
            if log.get("removed"):
                continue
            try:
                transfer = transfer_decode(log, token_address=token_address, to_address=to_address,
                                           decimals=decimals)
            except BadRecord as exc:
                bad.append(exc)
                continue
            if transfer is not None:
                transfers.append(transfer)
        return Records(items=tuple(transfers), bad=tuple(bad))

    def get_block_time(self, number: int) -> datetime:
        """Aware UTC time of block ``number`` (its ``timestamp``).

        Raises: RpcError when the node does not have the block (null) or it has no timestamp.
        """
        block = self._rpc.request("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(block, dict) or "timestamp" not in block:
            raise RpcError(f"block {number} is not available from {self.url}")
        try:
            timestamp = quantity(block["timestamp"])
        except (TypeError, ValueError) as exc:
            raise RpcError(f"block {number}: timestamp is not a quantity") from exc
        return datetime.fromtimestamp(timestamp, tz=UTC)
