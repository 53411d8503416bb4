"""The EVM JSON-RPC transport shared by the Ethereum and Arbitrum clients.

JSON-RPC 2.0 over HTTP on web3.py's ``HTTPProvider``, called raw (``make_request`` /
``make_batch_request``): web3's result formatters are skipped on purpose, since the collectors need a
few fields of each block and decoding them directly is several times faster than building
AttributeDicts of HexBytes. Retries are urllib3 ``Retry`` on the provider's requests Session
(``ledgers.http.retrying_session``): 429 and 5xx (honouring Retry-After), connection errors and timeouts,
with exponential backoff and jitter. Every request has a timeout.
"""

import json
from collections.abc import Sequence
from typing import Any

import requests

from ledgers.errors import SourceError, SourceUnavailable
from ledgers.http import RETRY_STATUSES, retrying_session

METHOD_NOT_FOUND = -32601


class RpcUnavailable(SourceUnavailable):
    """The node could not answer now (timeout, connection refused, 429/5xx after retries): retryable."""


class RpcError(SourceError):
    """The node answered with an error or a body we cannot use (JSON-RPC error, 4xx, malformed): terminal."""


def quantity(value: Any) -> int:
    """A JSON-RPC quantity as an int: a hex string (nodes) or an int (eth-tester through web3's encoder).

    Raises: ValueError / TypeError when it is neither (a bool is not a quantity)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise TypeError(f"not a JSON-RPC quantity: {value!r}")
    return int(value, 16)


class JsonRpcTransport:
    """JSON-RPC requests and batches to one node ``url``.

    Raises (every method): RpcUnavailable (retryable) or RpcError (terminal), nothing else.
    """

    def __init__(self, url: str, *, timeout_s: float, retries: int, backoff_s: float = 0.5) -> None:
        self.url = url
        # Imported here, not at the top: web3 costs a process about 27 MB, and every web and worker process imports
        # this module at start (the collector registry) while only the collecting ones ever open a transport.
        from web3 import HTTPProvider

        session = retrying_session(retries=retries, backoff_s=backoff_s)  # JSON-RPC POSTs are reads: any method
        self._provider = HTTPProvider(
            url, session=session, request_kwargs={"timeout": timeout_s}, exception_retry_configuration=None
        )

    def _call(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else None
            if status in RETRY_STATUSES:
                raise RpcUnavailable(f"{self.url}: HTTP {status} after retries") from exc
            raise RpcError(f"{self.url}: HTTP {status}") from exc
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise RpcUnavailable(f"{self.url}: {type(exc).__name__}: {exc}") from exc
        except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
            # web3 quotes the whole body in its message: keep the reason short enough for a run log.
            raise RpcError(f"{self.url}: malformed JSON-RPC response ({str(exc)[:160]}...)") from exc

    @staticmethod
    def result(response: Any, what: str) -> Any:
        """The ``result`` of one JSON-RPC response object (it may be null).

        Raises: RpcError for an error object, a missing result or a response that is not an object."""
        if not isinstance(response, dict):
            raise RpcError(f"{what}: malformed JSON-RPC response")
        error = response.get("error")
        if error:
            if isinstance(error, dict):
                raise RpcError(f"{what}: JSON-RPC error {error.get('code')}: {error.get('message')}")
            raise RpcError(f"{what}: JSON-RPC error {error}")
        if "result" not in response:
            raise RpcError(f"{what}: JSON-RPC response without result")
        return response["result"]

    def request(self, method: str, params: list) -> Any:
        """One call; its ``result``."""
        response = self._call(self._provider.make_request, method, params)
        return self.result(response, method)

    def quantity(self, method: str, params: list) -> int:
        """One call whose result is a quantity (eth_blockNumber, eth_chainId), as an int."""
        value = self.request(method, params)
        try:
            return quantity(value)
        except (TypeError, ValueError) as exc:
            raise RpcError(f"{method}: not a quantity: {str(value)[:80]}") from exc

    def batch(self, calls: Sequence[tuple[str, list]]) -> list[dict]:
        """``calls`` in one batched round trip; the raw response objects, in call order (read each with
        ``result``, so one failed call does not hide the others)."""
        responses = self._call(self._provider.make_batch_request, list(calls))
        if not isinstance(responses, list) or len(responses) != len(calls):
            raise RpcError(f"batch of {len(calls)}: malformed batch response ({str(responses)[:200]})")
        return responses
