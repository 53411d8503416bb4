"""Frozen dataclasses the Ethereum client returns (decoded from JSON-RPC; never ORM objects).

Units: quantities are ``int`` (wei, gas); addresses lowercase ``0x`` + 40 hex; hashes lowercase
``0x`` + 64 hex; ``block_time`` aware UTC.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class RawLog:
    """One event log of a receipt: emitting contract, topics (hex strings), data (hex), index in block."""

    address: str
    topics: tuple[str, ...]
    data: str
    log_index: int


@dataclass(frozen=True, slots=True)
class RawReceipt:
    """A transaction receipt: ``status`` 1 = success, 0 = reverted; fee = gas_used x effective_gas_price."""

    tx_hash: str
    status: int
    gas_used: int
    effective_gas_price: int
    contract_address: str
    logs: tuple[RawLog, ...]


@dataclass(frozen=True, slots=True)
class RawTransaction:
    """A transaction of a full block: ``to_address`` is "" for a contract creation; ``value_wei`` in wei."""

    tx_hash: str
    tx_index: int
    from_address: str
    to_address: str
    value_wei: int


@dataclass(frozen=True, slots=True)
class InternalTransfer:
    """ETH moved by a call inside a transaction (a router paying a seller out), from the node's call traces:
    the ``index``-th value-carrying inner call of ``tx_hash`` that did not revert."""

    tx_hash: str
    index: int
    from_address: str
    to_address: str
    value_wei: int


@dataclass(frozen=True, slots=True)
class RawBlock:
    """A block with its full transactions and their receipts (in transaction order).

    ``internal_transfers``: the ETH its inner calls moved, from call traces (``debug_traceBlockByNumber``
    with ``callTracer``); None when the node gives no traces (then the WETH-unwrap heuristic stands in
    for a router's ETH payout, see ``activity``)."""

    number: int
    block_hash: str
    parent_hash: str
    block_time: datetime
    transactions: tuple[RawTransaction, ...]
    receipts: tuple[RawReceipt, ...]
    internal_transfers: tuple[InternalTransfer, ...] | None = None


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """Just enough of a block to walk back to a common ancestor after a reorg."""

    number: int
    block_hash: str
    parent_hash: str
    block_time: datetime


@dataclass(frozen=True, slots=True)
class BalanceQuery:
    """One balance to read: ``address``'s ETH (``token_address`` "") or its ERC-20 ``token_address`` balance."""

    address: str
    token_address: str = ""


@dataclass(frozen=True, slots=True)
class BalanceRead:
    """A balance as the node gave it at ``block_number``: ``value_raw`` in base units (wei, or the token's),
    a Decimal integer; None when it could not be read, and ``error`` says why ("no contract code",
    "reverted: ...", "malformed return ..."); ``error`` is "" for a read balance."""

    address: str
    token_address: str
    block_number: int
    value_raw: Decimal | None
    error: str = ""


@dataclass(frozen=True, slots=True)
class TokenMetadata:
    """An ERC-20 contract's ``symbol``, ``name`` and ``decimals`` as its own code answers them at
    ``block_number`` (``eth_call``). A string may be an ABI string or a bytes32 (older tokens); a field the
    contract does not answer usably is "" / None and ``problems`` lists why; ``has_code`` False means no
    contract at that address."""

    token_address: str
    block_number: int
    has_code: bool
    symbol: str
    name: str
    decimals: int | None
    problems: tuple[str, ...] = ()
