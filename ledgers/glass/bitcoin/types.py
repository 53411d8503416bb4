"""Frozen dataclasses the Esplora client returns (decoded from Esplora JSON; never ORM objects).

Units: amounts are ``int`` satoshis (1 BTC = 100,000,000 sat); sizes in bytes / weight units;
``vsize`` in virtual bytes (weight / 4, rounded up as Bitcoin Core does); times aware UTC.
Addresses are as Esplora prints them (base58 case-sensitive, bech32 lowercase); an output without
a standard address (OP_RETURN, bare multisig) has ``address`` "".
"""

from dataclasses import dataclass
from datetime import datetime

SATS_PER_BTC = 100_000_000


@dataclass(frozen=True, slots=True)
class TxInput:
    """One input: the output it spends (``prev_txid``:``prev_vout``) with that output's address and value."""

    prev_txid: str
    prev_vout: int
    address: str
    value: int
    is_coinbase: bool = False


@dataclass(frozen=True, slots=True)
class TxOutput:
    """One output: index ``n``, paid ``address``, ``value`` in sat, Esplora's ``script_type`` (p2pkh, ...)."""

    n: int
    address: str
    value: int
    script_type: str = ""


@dataclass(frozen=True, slots=True)
class TxStatus:
    """Where a transaction stands: unconfirmed, or confirmed in block ``block_height`` at ``block_time``."""

    confirmed: bool
    block_height: int | None = None
    block_hash: str = ""
    block_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class BitcoinTx:
    """An Esplora transaction (``GET /tx/:txid`` and the items of ``/address/:addr/txs``)."""

    txid: str
    inputs: tuple[TxInput, ...]
    outputs: tuple[TxOutput, ...]
    fee: int
    weight: int
    size: int
    status: TxStatus

    @property
    def vsize(self) -> int:
        """Virtual size in vB: ceil(weight / 4)."""
        return -(-self.weight // 4)

    @property
    def fee_rate(self) -> float:
        """Fee rate in sat/vB (0.0 for a coinbase or a zero-weight record)."""
        return self.fee / self.vsize if self.vsize else 0.0

    @property
    def is_coinbase(self) -> bool:
        return any(i.is_coinbase for i in self.inputs)

    @property
    def output_value(self) -> int:
        """Total paid to outputs, in sat (what mempool.space calls a transaction's ``value``)."""
        return sum(o.value for o in self.outputs)


@dataclass(frozen=True, slots=True)
class AddressStats:
    """``GET /address/:addr``: funded/spent totals in sat, confirmed (chain) and unconfirmed (mempool)."""

    address: str
    chain_funded: int
    chain_spent: int
    chain_tx_count: int
    mempool_funded: int
    mempool_spent: int
    mempool_tx_count: int

    @property
    def confirmed_balance(self) -> int:
        return self.chain_funded - self.chain_spent

    @property
    def balance(self) -> int:
        """Balance in sat including unconfirmed transactions."""
        return self.confirmed_balance + self.mempool_funded - self.mempool_spent
