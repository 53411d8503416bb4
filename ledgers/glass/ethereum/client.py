"""Ethereum JSON-RPC client: raw responses of the shared EVM transport (``ledgers.evm``: web3's
HTTPProvider called raw, urllib3 retries, a timeout on every request) decoded into ``types.py``
dataclasses."""

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings

from ledgers.evm import METHOD_NOT_FOUND, JsonRpcTransport, RpcError, quantity
from ledgers.glass.ethereum.types import BlockHeader, RawBlock, RawLog, RawReceipt, RawTransaction


class BlockDataError(RpcError):
    """A block or receipt the node returned is malformed or inconsistent (e.g. receipts do not match txs)."""





def _hex(value: Any) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


def _address(value: Any) -> str:
    return value.lower() if value else ""


def decode_log(raw: dict) -> RawLog:
    """Decode one JSON-RPC log object. Raises: KeyError/ValueError/TypeError on malformed input."""
    return RawLog(
        address=raw["address"].lower(),
        topics=tuple(t.lower() for t in raw["topics"]),
        data=raw["data"],
        log_index=quantity(raw["logIndex"]),
    )


def decode_receipt(raw: dict) -> RawReceipt:
    """Decode one JSON-RPC receipt object (``status`` absent on pre-Byzantium receipts = success)."""
    return RawReceipt(
        tx_hash=raw["transactionHash"].lower(),
        status=quantity(raw["status"]) if raw.get("status") is not None else 1,
        gas_used=quantity(raw["gasUsed"]),
        effective_gas_price=quantity(raw.get("effectiveGasPrice") or raw.get("gasPrice") or 0),
        contract_address=_address(raw.get("contractAddress")),
        logs=tuple(decode_log(log) for log in raw["logs"]),
    )


def decode_header(raw: dict) -> BlockHeader:
    """Decode the header fields of a JSON-RPC block object."""
    return BlockHeader(
        number=quantity(raw["number"]),
        block_hash=raw["hash"].lower(),
        parent_hash=raw["parentHash"].lower(),
        block_time=datetime.fromtimestamp(quantity(raw["timestamp"]), tz=UTC),
    )


def decode_block(raw_block: dict, raw_receipts: list[dict]) -> RawBlock:
    """Decode a full block (``eth_getBlockByNumber(n, true)``) and its receipts into a RawBlock.

    Raises: BlockDataError when a field is missing or malformed, or when the receipts are not
    exactly the block's transactions in order.
    """
    try:
        header = decode_header(raw_block)
        transactions = tuple(
            RawTransaction(
                tx_hash=tx["hash"].lower(),
                tx_index=quantity(tx.get("transactionIndex", index)),  # eth-tester omits it
                from_address=tx["from"].lower(),
                to_address=_address(tx.get("to")),
                value_wei=quantity(tx["value"]),
            )
            for index, tx in enumerate(raw_block["transactions"])
        )
        receipts = tuple(decode_receipt(r) for r in raw_receipts)
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        number = raw_block.get("number") if isinstance(raw_block, dict) else None
        raise BlockDataError(f"block {number}: malformed block or receipt ({type(exc).__name__}: {exc})") from exc
    if [t.tx_hash for t in transactions] != [r.tx_hash for r in receipts]:
        raise BlockDataError(
            f"block {header.number}: {len(receipts)} receipts do not match its {len(transactions)} transactions"
        )
    return RawBlock(
        number=header.number,
        block_hash=header.block_hash,
        parent_hash=header.parent_hash,
        block_time=header.block_time,
        transactions=transactions,
        receipts=receipts,
    )


class EthereumRpcClient:
    """JSON-RPC over HTTP to an Ethereum node (``ETH_RPC_URL``, or the replay node offline).

    Source: eth_blockNumber, eth_getBlockByNumber(n, true), eth_getBlockReceipts (falling back to
    eth_getTransactionReceipt per transaction on nodes without it), batched per call.
    Raises: RpcUnavailable (retryable) or RpcError / BlockDataError (terminal), nothing else.
    """

    def __init__(self, url: str, *, timeout_s: float = 20.0, retries: int = 5, backoff_s: float = 0.5) -> None:
        self.url = url
        self._rpc = JsonRpcTransport(url, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s)
        self._supports_block_receipts = True

    @classmethod
    def from_settings(cls, url: str | None = None) -> "EthereumRpcClient":
        """A client on ``url`` or ``settings.ETH_RPC_URL`` with the configured timeout and retries."""
        return cls(url or settings.ETH_RPC_URL, timeout_s=settings.ETH_RPC_TIMEOUT_S, retries=settings.ETH_RPC_RETRIES)

    # --- API ----------------------------------------------------------------------------------
    def chain_id(self) -> int:
        """The node's chain id (1 = mainnet)."""
        return self._rpc.quantity("eth_chainId", [])

    def block_number(self) -> int:
        """The node's head block number."""
        return self._rpc.quantity("eth_blockNumber", [])

    def get_header(self, number: int) -> BlockHeader | None:
        """Header of block ``number``; None when the node does not have it."""
        raw = self._rpc.request("eth_getBlockByNumber", [hex(number), False])
        if raw is None:
            return None
        try:
            return decode_header(raw)
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise BlockDataError(f"block {number}: malformed header ({exc})") from exc

    def get_blocks(self, numbers: Sequence[int]) -> list[RawBlock]:
        """Blocks ``numbers`` with full transactions and receipts, in one batched round trip.

        Raises: RpcError when a block is not available (null), BlockDataError when one is malformed.
        """
        if not numbers:
            return []
        calls: list[tuple[str, list]] = [("eth_getBlockByNumber", [hex(n), True]) for n in numbers]
        if self._supports_block_receipts:
            calls += [("eth_getBlockReceipts", [hex(n)]) for n in numbers]
        responses = self._rpc.batch(calls)
        raw_blocks = [self._rpc.result(r, f"eth_getBlockByNumber({n})")
                      for r, n in zip(responses, numbers, strict=False)]
        for raw, n in zip(raw_blocks, numbers, strict=True):
            if raw is None:
                raise RpcError(f"block {n} is not available from {self.url}")
        if self._supports_block_receipts:
            receipt_responses = responses[len(numbers):]
            if any((r.get("error") or {}).get("code") == METHOD_NOT_FOUND for r in receipt_responses):
                self._supports_block_receipts = False
                return self.get_blocks(numbers)
            raw_receipts = [self._rpc.result(r, f"eth_getBlockReceipts({n})") for r, n in
                            zip(receipt_responses, numbers, strict=True)]
        else:
            raw_receipts = [self._receipts_by_tx(raw) for raw in raw_blocks]
        blocks = []
        for raw, receipts, n in zip(raw_blocks, raw_receipts, numbers, strict=True):
            if not isinstance(raw, dict) or not isinstance(receipts, list):
                raise BlockDataError(f"block {n}: malformed block or receipts")
            blocks.append(decode_block(raw, receipts))
        return blocks

    def _receipts_by_tx(self, raw_block: dict) -> list[dict]:
        hashes = [tx["hash"] if isinstance(tx, dict) else tx for tx in raw_block.get("transactions", [])]
        if not hashes:
            return []
        responses = self._rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        return [self._rpc.result(r, f"eth_getTransactionReceipt({h})") for r, h in zip(responses, hashes, strict=True)]
