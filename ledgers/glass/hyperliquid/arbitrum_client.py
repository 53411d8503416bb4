"""Arbitrum One JSON-RPC client for the Hyperliquid bridge's deposits, on the shared EVM transport
(``ledgers.evm``: web3's HTTPProvider called raw, urllib3 retries of 429/5xx, connection errors and
timeouts with backoff and jitter, a timeout on every request: ``settings.ARBITRUM_RPC_TIMEOUT_S``)."""

from collections.abc import Sequence
from datetime import UTC, datetime

from django.conf import settings

from ledgers.evm import JsonRpcTransport, RpcError, quantity

DEFAULT_RETRIES = 5

TopicFilter = str | Sequence[str] | None


class ArbitrumClient:
    """JSON-RPC over HTTP to an Arbitrum One node (``ARBITRUM_RPC_URL``, or the replay node offline).

    Source: eth_chainId, eth_blockNumber, eth_getLogs, eth_getBlockByNumber(n, false).
    Raises: RpcUnavailable (retryable) or RpcError (terminal), nothing else.
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

    def get_logs(self, address: str | Sequence[str], topics: Sequence[TopicFilter], from_block: int,
                 to_block: int) -> list[dict]:
        """Logs of ``address`` (one or a list) matching ``topics`` in blocks [from_block, to_block].

        Shape: ``topics`` as in eth_getLogs: per position a topic hash, a list of alternatives, or None
            (any). Returns the node's log objects as they came (hex quantities, ``topics`` list).
        Raises: RpcError when the answer is not a list of objects (or the node refuses the range).
        """
        address_param: str | list[str] = address if isinstance(address, str) else list(address)
        topics_param = [t if t is None or isinstance(t, str) else list(t) for t in topics]
        criteria = {"address": address_param, "topics": topics_param,
                    "fromBlock": hex(from_block), "toBlock": hex(to_block)}
        logs = self._rpc.request("eth_getLogs", [criteria])
        if not isinstance(logs, list) or not all(isinstance(log, dict) for log in logs):
            raise RpcError(f"eth_getLogs({from_block}-{to_block}): malformed answer")
        return logs

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
