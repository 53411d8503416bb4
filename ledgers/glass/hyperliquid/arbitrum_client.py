"""Arbitrum One JSON-RPC client on web3.py's HTTPProvider, for the Hyperliquid bridge's deposits.

Like ``ledgers.glass.ethereum.client``: raw ``make_request`` (web3's result formatters skipped; we need a few
fields of logs and blocks), a requests Session whose urllib3 ``Retry`` repeats 429 and 5xx answers
(honouring Retry-After), connection errors and timeouts with exponential backoff and jitter, and a
timeout on every request (``settings.ARBITRUM_RPC_TIMEOUT_S``).
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings
from web3 import HTTPProvider

from whales.http import RETRY_STATUSES, retrying_session

DEFAULT_RETRIES = 5

TopicFilter = str | Sequence[str] | None


class ArbitrumUnavailable(Exception):
    """The node could not answer now (timeout, connection refused, 429/5xx after retries): retryable."""


class ArbitrumError(Exception):
    """The node answered with an error or a body we cannot use (JSON-RPC error, 4xx, malformed): terminal."""


def _int(value: Any) -> int:
    """A JSON-RPC quantity: hex string, or int."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return int(value, 16)


class ArbitrumClient:
    """JSON-RPC over HTTP to an Arbitrum One node (``ARBITRUM_RPC_URL``, or the replay node offline).

    Source: eth_chainId, eth_blockNumber, eth_getLogs, eth_getBlockByNumber(n, false).
    Raises: ArbitrumUnavailable (retryable) or ArbitrumError (terminal), nothing else.
    """

    def __init__(self, url: str, *, timeout_s: float = 20.0, retries: int = DEFAULT_RETRIES,
                 backoff_s: float = 0.5) -> None:
        self.url = url
        session = retrying_session(retries=retries, backoff_s=backoff_s)  # JSON-RPC POSTs are reads: any method
        self._provider = HTTPProvider(
            url, session=session, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
        )

    @classmethod
    def from_settings(cls, url: str | None = None) -> "ArbitrumClient":
        """A client on ``url`` or ``settings.ARBITRUM_RPC_URL`` with ``settings.ARBITRUM_RPC_TIMEOUT_S`` and
        ``settings.ARBITRUM_RPC_RETRIES``."""
        return cls(url or settings.ARBITRUM_RPC_URL, timeout_s=settings.ARBITRUM_RPC_TIMEOUT_S,
                   retries=settings.ARBITRUM_RPC_RETRIES)

    # --- transport ----------------------------------------------------------------------------
    def _request(self, method: str, params: list) -> Any:
        try:
            response = self._provider.make_request(method, params)  # type: ignore[arg-type]
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in RETRY_STATUSES:
                raise ArbitrumUnavailable(f"{self.url}: HTTP {status} after retries") from exc
            raise ArbitrumError(f"{self.url}: HTTP {status}") from exc
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise ArbitrumUnavailable(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
            raise ArbitrumError(f"{self.url}: malformed JSON-RPC response ({str(exc)[:160]}...)") from exc
        if not isinstance(response, dict):
            raise ArbitrumError(f"{method}: malformed JSON-RPC response")
        if response.get("error"):
            error = response["error"]
            if isinstance(error, dict):
                raise ArbitrumError(f"{method}: JSON-RPC error {error.get('code')}: {error.get('message')}")
            raise ArbitrumError(f"{method}: JSON-RPC error {error}")
        if "result" not in response:
            raise ArbitrumError(f"{method}: JSON-RPC response without result")
        return response["result"]

    def _quantity(self, method: str, value: Any) -> int:
        try:
            return _int(value)
        except (TypeError, ValueError) as exc:
            raise ArbitrumError(f"{method}: not a quantity: {str(value)[:80]}") from exc

    # --- API ----------------------------------------------------------------------------------
    def chain_id(self) -> int:
        """The node's chain id (42161 = Arbitrum One)."""
        return self._quantity("eth_chainId", self._request("eth_chainId", []))

    def block_number(self) -> int:
        """The node's head block number."""
        return self._quantity("eth_blockNumber", self._request("eth_blockNumber", []))

    def get_logs(self, address: str | Sequence[str], topics: Sequence[TopicFilter], from_block: int,
                 to_block: int) -> list[dict]:
        """Logs of ``address`` (one or a list) matching ``topics`` in blocks [from_block, to_block].

        Shape: ``topics`` as in eth_getLogs: per position a topic hash, a list of alternatives, or None
            (any). Returns the node's log objects as they came (hex quantities, ``topics`` list).
        Raises: ArbitrumError when the answer is not a list of objects (or the node refuses the range).
        """
        address_param: str | list[str] = address if isinstance(address, str) else list(address)
        topics_param = [t if t is None or isinstance(t, str) else list(t) for t in topics]
        criteria = {"address": address_param, "topics": topics_param,
                    "fromBlock": hex(from_block), "toBlock": hex(to_block)}
        logs = self._request("eth_getLogs", [criteria])
        if not isinstance(logs, list) or not all(isinstance(log, dict) for log in logs):
            raise ArbitrumError(f"eth_getLogs({from_block}-{to_block}): malformed answer")
        return logs

    def get_block_time(self, number: int) -> datetime:
        """Aware UTC time of block ``number`` (its ``timestamp``).

        Raises: ArbitrumError when the node does not have the block (null) or it has no timestamp.
        """
        block = self._request("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(block, dict) or "timestamp" not in block:
            raise ArbitrumError(f"block {number} is not available from {self.url}")
        return datetime.fromtimestamp(self._quantity("eth_getBlockByNumber", block["timestamp"]), tz=UTC)
