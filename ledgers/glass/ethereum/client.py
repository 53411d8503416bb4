"""Ethereum JSON-RPC client: raw responses of the shared EVM transport (``ledgers.evm``: web3's
HTTPProvider called raw, urllib3 retries, a timeout on every request) decoded into ``types.py``
dataclasses."""

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from eth_utils import function_signature_to_4byte_selector

from ledgers.evm import METHOD_NOT_FOUND, JsonRpcTransport, RpcError, quantity
from ledgers.glass.ethereum.types import (
    BalanceQuery,
    BalanceRead,
    BlockHeader,
    InternalTransfer,
    RawBlock,
    RawLog,
    RawReceipt,
    RawTransaction,
    TokenMetadata,
)


class BlockDataError(RpcError):
    """A block or receipt the node returned is malformed or inconsistent (e.g. receipts do not match txs)."""


class NoAccountState(RpcError):
    """The node serves no account state: it does not know ``eth_getBalance`` (JSON-RPC error -32601), as the
    replay node, whose recordings hold blocks and receipts but no balances. Terminal for that node."""


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


# Call frames whose value is ETH moving to another account (DELEGATECALL's value is the caller's context).
VALUE_CALLS = {"CALL", "CREATE", "CREATE2", "SELFDESTRUCT"}


def decode_traces(tx_hashes: Sequence[str], raw_traces: Any) -> tuple[InternalTransfer, ...]:
    """The ETH moved by inner calls, from ``debug_traceBlockByNumber`` with ``callTracer`` (one item per
    transaction, in block order, each ``{"txHash"?, "result": frame}``). A frame that failed (``error``)
    moved nothing, nor did anything below it; each transaction's top frame is the transaction itself.
    Raises: BlockDataError when the traces are not one per transaction or a frame is malformed."""
    if not isinstance(raw_traces, list) or len(raw_traces) != len(tx_hashes):
        raise BlockDataError(f"{len(tx_hashes)} transactions but traces {str(raw_traces)[:120]}")
    found: list[InternalTransfer] = []
    for tx_hash, item in zip(tx_hashes, raw_traces, strict=True):
        top = item.get("result") if isinstance(item, dict) else None
        if not isinstance(top, dict):
            raise BlockDataError(f"trace of {tx_hash}: no call frame")
        if top.get("error"):
            continue
        pending = list(reversed(top.get("calls") or []))
        index = 0
        while pending:
            frame = pending.pop()
            if not isinstance(frame, dict) or frame.get("error"):
                continue
            value = quantity(frame.get("value") or "0x0")
            if value and str(frame.get("type", "")).upper() in VALUE_CALLS:
                found.append(InternalTransfer(tx_hash, index, _address(frame.get("from")), _address(frame.get("to")),
                                              value))
                index += 1
            pending.extend(reversed(frame.get("calls") or []))
    return tuple(found)


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


READ_BATCH = 500  # balance reads per JSON-RPC batch
# ERC-20 selectors: keccak256 of the signature, first 4 bytes.
BALANCE_OF = "0x70a08231"  # balanceOf(address)
SYMBOL = "0x95d89b41"  # symbol()
NAME = "0x06fdde03"  # name()
DECIMALS = "0x313ce567"  # decimals()
MAX_TOKEN_TEXT = 64  # characters of a symbol or name kept


def _word(address: str) -> str:
    """An address as one ABI word (32 bytes, left-padded), without 0x."""
    return address.lower().removeprefix("0x").rjust(64, "0")


def _call_bytes(response: Any) -> tuple[bytes | None, str]:
    """The bytes an eth_call returned, or None and why (a revert or another JSON-RPC error)."""
    if not isinstance(response, dict):
        return None, "malformed JSON-RPC response"
    error = response.get("error")
    if error:
        message = error.get("message") if isinstance(error, dict) else str(error)
        return None, f"reverted: {str(message)[:160]}"
    result = response.get("result")
    if not isinstance(result, str) or not result.startswith("0x"):
        return None, "malformed return"
    try:
        return bytes.fromhex(result[2:]), ""
    except ValueError:
        return None, "malformed return (not hex)"


def _balance_read(query: BalanceQuery, response: Any, block_number: int) -> BalanceRead:
    if not query.token_address:
        if isinstance(response, dict) and isinstance(response.get("error"), dict) \
                and response["error"].get("code") == METHOD_NOT_FOUND:
            raise NoAccountState(f"eth_getBalance({query.address}): JSON-RPC error {METHOD_NOT_FOUND}: "
                                 f"{response['error'].get('message')}")
        value = JsonRpcTransport.result(response, f"eth_getBalance({query.address})")
        try:
            return BalanceRead(query.address, "", block_number, Decimal(quantity(value)))
        except (TypeError, ValueError) as exc:
            raise RpcError(f"eth_getBalance({query.address}): not a quantity: {str(value)[:80]}") from exc
    data, error = _call_bytes(response)
    if data is None:
        return BalanceRead(query.address, query.token_address, block_number, None, error)
    return _token_balance(query, data, block_number)


def _token_balance(query: BalanceQuery, data: bytes, block_number: int) -> BalanceRead:
    """The balance a ``balanceOf`` call returned (``data``, the call's return bytes), as both read paths see it."""
    if len(data) == 0:  # what a call answers for an address without code
        return BalanceRead(query.address, query.token_address, block_number, None, "no contract code (empty return)")
    if len(data) != 32:
        return BalanceRead(query.address, query.token_address, block_number, None,
                           f"malformed return ({len(data)} bytes, not one uint256)")
    return BalanceRead(query.address, query.token_address, block_number, Decimal(int.from_bytes(data, "big")))


# Multicall3 (https://github.com/mds1/multicall), deployed at the same address on mainnet and most EVM chains.
MULTICALL3_ADDRESS = "0xca11bde05977b3631167028862be2a173976ca11"
AGGREGATE3 = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])")
GET_ETH_BALANCE = function_signature_to_4byte_selector("getEthBalance(address)")
BALANCE_OF_SELECTOR = function_signature_to_4byte_selector("balanceOf(address)")
MULTICALL_CHUNK = 500  # balance reads per aggregate3 call (~3M gas of cold balanceOf calls, far below eth_call caps)
MULTICALL_PER_BATCH = 4  # aggregate3 calls per JSON-RPC batch round trip

# The read paths of ``balances_at``, as the run log names them.
READ_PATH_MULTICALL3 = "multicall3_aggregate3"
READ_PATH_BATCH = "json_rpc_batch"


def _aggregate3_data(queries: Sequence[BalanceQuery]) -> str:
    """``aggregate3`` calldata reading each query with allowFailure=true: ``getEthBalance`` on Multicall3 itself
    for ETH, the token's ``balanceOf`` for a token (eth-abi encoding)."""
    from eth_abi import encode as abi_encode  # here: eth-abi costs every process ~25 MB; only holdings reads use it

    words: dict[str, bytes] = {}  # each whale is read once per token: encode its address once
    calls = []
    for q in queries:
        word = words.get(q.address)
        if word is None:
            word = words[q.address] = abi_encode(["address"], [q.address])
        calls.append((q.token_address, True, BALANCE_OF_SELECTOR + word) if q.token_address
                     else (MULTICALL3_ADDRESS, True, GET_ETH_BALANCE + word))
    return "0x" + (AGGREGATE3 + abi_encode(["(address,bool,bytes)[]"], [calls])).hex()


def _aggregate3_results(response: Any, count: int) -> list[tuple[bool, bytes]] | None:
    """The ``(success, returnData)`` pairs of an aggregate3 eth_call; None when the call as a whole failed or its
    return does not decode as ``count`` results."""
    from eth_abi import decode as abi_decode  # imported here: see _aggregate3_data
    from eth_abi.exceptions import DecodingError

    data, _ = _call_bytes(response)
    if not data:
        return None
    try:
        (results,) = abi_decode(["(bool,bytes)[]"], data)
    except (DecodingError, ValueError, TypeError, OverflowError):
        return None
    if len(results) != count:
        return None
    return [(bool(success), bytes(returned)) for success, returned in results]


def _text(data: bytes) -> str | None:
    """An ABI string (offset, length, bytes) or a bytes32 (right-padded with zeros); None when neither."""
    if len(data) == 32:
        raw = data.rstrip(b"\0")
    elif len(data) >= 64 and int.from_bytes(data[:32], "big") == 32:
        length = int.from_bytes(data[32:64], "big")
        if length > len(data) - 64:
            return None
        raw = data[64:64 + length]
    else:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return text if text.isprintable() else None


def _token_metadata(token: str, block_number: int, code: Any, symbol: Any, name: Any,
                    decimals: Any) -> TokenMetadata:
    code_bytes, _ = _call_bytes(code)
    if not code_bytes:
        return TokenMetadata(token, block_number, has_code=False, symbol="", name="", decimals=None,
                             problems=("no contract code",))
    problems: list[str] = []
    texts = []
    for field, response in (("symbol", symbol), ("name", name)):
        data, error = _call_bytes(response)
        text = _text(data) if data else None
        if text is None:
            problems.append(f"{field}: {error or 'not a string or bytes32'}")
        texts.append((text or "")[:MAX_TOKEN_TEXT])
    data, error = _call_bytes(decimals)
    places: int | None = None
    if data is not None and len(data) == 32 and int.from_bytes(data, "big") <= 255:
        places = int.from_bytes(data, "big")
    else:
        problems.append(f"decimals: {error or 'not a uint8'}")
    return TokenMetadata(token, block_number, has_code=True, symbol=texts[0], name=texts[1], decimals=places,
                         problems=tuple(problems))


class EthereumRpcClient:
    """JSON-RPC over HTTP to an Ethereum node (``ETH_RPC_URL``, or the replay node offline).

    Source: eth_blockNumber, eth_getBlockByNumber(n, true), eth_getBlockReceipts (falling back to
    eth_getTransactionReceipt per transaction on nodes without it), batched per call.
    Raises: RpcUnavailable (retryable) or RpcError / BlockDataError (terminal), nothing else.
    """

    def __init__(self, url: str, *, timeout_s: float = 20.0, retries: int = 5, backoff_s: float = 0.5,
                 multicall3: bool = True) -> None:
        self.url = url
        self._rpc = JsonRpcTransport(url, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s)
        self._supports_block_receipts = True
        self.traces = True  # call traces until the node shows it has none (then the blocks carry None)
        # Multicall3 for balance reads where the node has its code (checked once, at the first read's block);
        # False: always batched JSON-RPC.
        self.multicall3 = multicall3
        self._multicall3_code: bool | None = None
        self.reads_by_path: dict[str, int] = {}  # balance reads this client made, by read path

    @classmethod
    def from_settings(cls, url: str | None = None) -> "EthereumRpcClient":
        """A client on ``url`` or ``settings.ETH_RPC_URL`` with the configured timeout, retries and Multicall3 use."""
        return cls(url or settings.ETH_RPC_URL, timeout_s=settings.ETH_RPC_TIMEOUT_S, retries=settings.ETH_RPC_RETRIES,
                   multicall3=settings.ETH_MULTICALL3)

    @property
    def read_path(self) -> str:
        """How this client's balance reads went: ``multicall3_aggregate3``, ``json_rpc_batch``, both joined by "+"
        (a chunk Multicall3 could not read, or a failed call re-read on its own), or "" before any read."""
        return "+".join(path for path in (READ_PATH_MULTICALL3, READ_PATH_BATCH) if self.reads_by_path.get(path))

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
        if self.traces:
            calls += [("debug_traceBlockByNumber", [hex(n), {"tracer": "callTracer"}]) for n in numbers]
        responses = self._rpc.batch(calls)
        raw_traces: list[Any] | None = None
        if self.traces:
            trace_responses = responses[len(calls) - len(numbers):]
            responses = responses[:len(calls) - len(numbers)]
            if any(r.get("error") for r in trace_responses if isinstance(r, dict)):
                # No traces here (the method is missing, or the node keeps no state for them): the WETH
                # heuristic stands in from now on; the run says which was used.
                self.traces = False
            else:
                raw_traces = [self._rpc.result(r, f"debug_traceBlockByNumber({n})")
                              for r, n in zip(trace_responses, numbers, strict=True)]
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
        for index, (raw, receipts, n) in enumerate(zip(raw_blocks, raw_receipts, numbers, strict=True)):
            if not isinstance(raw, dict) or not isinstance(receipts, list):
                raise BlockDataError(f"block {n}: malformed block or receipts")
            block = decode_block(raw, receipts)
            if raw_traces is not None:
                internal = decode_traces([tx.tx_hash for tx in block.transactions], raw_traces[index])
                block = dataclasses.replace(block, internal_transfers=internal)
            blocks.append(block)
        return blocks

    def balances_at(self, queries: Sequence[BalanceQuery], *, block_number: int,
                    batch_size: int = READ_BATCH) -> list[BalanceRead]:
        """Each query's balance at block ``block_number`` (never "latest": every read of one refresh is at
        the same block), in query order.

        Source: where Multicall3 has code at its canonical address (``eth_getCode`` once per client, at the
        first read's block) and the client may use it, ``aggregate3`` eth_calls at the block with
        allowFailure=true, MULTICALL_CHUNK reads each (ETH through Multicall3's ``getEthBalance``, a token
        through its ``balanceOf``), MULTICALL_PER_BATCH of them per JSON-RPC batch; a chunk whose aggregate3
        fails as a whole, and each call that fails inside it, is read again the other way. Otherwise
        ``eth_getBalance(address, block)`` for ETH and ``eth_call`` of ``balanceOf(address)`` for a token,
        ``batch_size`` calls per JSON-RPC batch. ``reads_by_path`` / ``read_path`` say which way was used.
        Units: ``value_raw`` in base units. A token read that fails on its own (no code at the address,
        a revert, a return that is not one uint256) is a BalanceRead with ``error`` set, not an exception;
        both paths give the same values and errors.
        Raises: NoAccountState when the node does not serve balances at all (the replay node);
        RpcUnavailable / RpcError when the node cannot answer a batch (or does not keep state at that
        block: a JSON-RPC error on an ETH balance).
        """
        if queries and self._multicall3_at(block_number):
            return self._balances_multicall3(queries, block_number, batch_size)
        return self._balances_batched(queries, block_number, batch_size)

    def _multicall3_at(self, block_number: int) -> bool:
        if not self.multicall3:
            return False
        if self._multicall3_code is None:
            try:
                code = self._rpc.request("eth_getCode", [MULTICALL3_ADDRESS, hex(block_number)])
            except RpcError:  # a node that cannot say (no state, no such method): no Multicall3 here
                code = None
            self._multicall3_code = isinstance(code, str) and code not in ("0x", "")
        return self._multicall3_code

    def _balances_batched(self, queries: Sequence[BalanceQuery], block_number: int,
                          batch_size: int) -> list[BalanceRead]:
        block = hex(block_number)
        reads: list[BalanceRead] = []
        for start in range(0, len(queries), batch_size):
            chunk = queries[start:start + batch_size]
            calls: list[tuple[str, list]] = [
                ("eth_call", [{"to": q.token_address, "data": BALANCE_OF + _word(q.address)}, block])
                if q.token_address else ("eth_getBalance", [q.address, block]) for q in chunk]
            for query, response in zip(chunk, self._rpc.batch(calls), strict=True):
                reads.append(_balance_read(query, response, block_number))
        self._count(READ_PATH_BATCH, len(queries))
        return reads

    def _balances_multicall3(self, queries: Sequence[BalanceQuery], block_number: int,
                             batch_size: int) -> list[BalanceRead]:
        block = hex(block_number)
        chunks = [queries[start:start + MULTICALL_CHUNK] for start in range(0, len(queries), MULTICALL_CHUNK)]
        reads: list[BalanceRead | None] = []
        again: list[int] = []  # reads to make the batched way: their chunk failed, or their call did
        for first in range(0, len(chunks), MULTICALL_PER_BATCH):
            group = chunks[first:first + MULTICALL_PER_BATCH]
            calls: list[tuple[str, list]] = [
                ("eth_call", [{"to": MULTICALL3_ADDRESS, "data": _aggregate3_data(chunk)}, block]) for chunk in group]
            for chunk, response in zip(group, self._rpc.batch(calls), strict=True):
                results = _aggregate3_results(response, len(chunk))
                for index, query in enumerate(chunk):
                    success, returned = results[index] if results is not None else (False, b"")
                    if success and (query.token_address or len(returned) == 32):
                        reads.append(_token_balance(query, returned, block_number) if query.token_address else
                                     BalanceRead(query.address, "", block_number,
                                                 Decimal(int.from_bytes(returned, "big"))))
                    else:
                        # The node's own answer to the single call says why (a revert's message, or a call
                        # that ran out of the aggregate's gas and would succeed alone).
                        again.append(len(reads))
                        reads.append(None)
        self._count(READ_PATH_MULTICALL3, len(queries) - len(again))
        if again:
            for index, read in zip(again, self._balances_batched([queries[i] for i in again], block_number,
                                                                 batch_size), strict=True):
                reads[index] = read
        return [read for read in reads if read is not None]

    def _count(self, path: str, reads: int) -> None:
        if reads:
            self.reads_by_path[path] = self.reads_by_path.get(path, 0) + reads

    def token_metadata(self, token_addresses: Sequence[str], *, block_number: int) -> list[TokenMetadata]:
        """``symbol()``, ``name()`` and ``decimals()`` of each ERC-20 contract, as its code answers at block
        ``block_number``, with ``eth_getCode`` to tell "no contract" from "no such function"; in order.

        Source: batched ``eth_getCode`` + three ``eth_call`` per token. Strings decode as an ABI string or,
        for older tokens, a bytes32; ``decimals`` must be a uint8. What a token does not answer usably is
        recorded in ``problems``, never raised.
        Raises: RpcUnavailable / RpcError when the node cannot answer the batch.
        """
        block = hex(block_number)
        calls: list[tuple[str, list]] = []
        for token in token_addresses:
            calls.append(("eth_getCode", [token, block]))
            calls += [("eth_call", [{"to": token, "data": selector}, block]) for selector in (SYMBOL, NAME, DECIMALS)]
        responses = self._rpc.batch(calls) if calls else []
        found = []
        for index, token in enumerate(token_addresses):
            code, symbol, name, decimals = responses[4 * index:4 * index + 4]
            found.append(_token_metadata(token, block_number, code, symbol, name, decimals))
        return found

    def _receipts_by_tx(self, raw_block: dict) -> list[dict]:
        hashes = [tx["hash"] if isinstance(tx, dict) else tx for tx in raw_block.get("transactions", [])]
        if not hashes:
            return []
        responses = self._rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes])
        return [self._rpc.result(r, f"eth_getTransactionReceipt({h})") for r, h in zip(responses, hashes, strict=True)]
