"""Frozen dataclasses the Esplora client returns (decoded from Esplora JSON; never ORM objects).

Units: amounts are ``int`` satoshis, named ``*_sat`` (1 BTC = 100,000,000 sat); ``size_bytes`` in bytes,
``weight_wu`` in weight units, ``vsize_vb`` in virtual bytes (weight / 4, rounded up as Bitcoin Core does),
``fee_rate_sat_vb`` in sat/vB; times aware UTC. ``tx_hash`` is the txid: 64 lowercase hex, no ``0x``.
Addresses are as Esplora prints them (base58 case-sensitive, bech32 lowercase); an output without
a standard address (OP_RETURN, bare multisig) has ``address`` "".
"""

from dataclasses import dataclass
from datetime import datetime

SAT_PER_BTC = 100_000_000


@dataclass(frozen=True, slots=True)
class TxInput:
    """One input: the output it spends (``prev_tx_hash``:``prev_vout``) with that output's address and
    ``value_sat``."""

    prev_tx_hash: str
    prev_vout: int
    address: str
    value_sat: int
    is_coinbase: bool = False


@dataclass(frozen=True, slots=True)
class TxOutput:
    """One output: index ``n``, paid ``address``, ``value_sat``, Esplora's ``script_type`` (p2pkh, ...)."""

    n: int
    address: str
    value_sat: int
    script_type: str = ""


@dataclass(frozen=True, slots=True)
class TxStatus:
    """Where a transaction stands: unconfirmed, or confirmed in block ``block_number`` (Esplora's
    ``block_height``) at ``block_time``."""

    confirmed: bool
    block_number: int | None = None
    block_hash: str = ""
    block_time: datetime | None = None

    @property
    def confirmed_block_number(self) -> int:
        """``block_number`` of a confirmed transaction. Raises: ValueError for an unconfirmed one (the
        client sets a number on every confirmed status)."""
        if self.block_number is None:
            raise ValueError("an unconfirmed transaction has no block number")
        return self.block_number


@dataclass(frozen=True, slots=True)
class BitcoinTx:
    """An Esplora transaction (``GET /tx/:txid`` and the items of ``/address/:addr/txs``).

    ``tx_hash`` is Esplora's ``txid``; ``fee_sat`` its ``fee``; ``weight_wu`` its ``weight``; ``size_bytes``
    its ``size``.
    """

    tx_hash: str
    inputs: tuple[TxInput, ...]
    outputs: tuple[TxOutput, ...]
    fee_sat: int
    weight_wu: int
    size_bytes: int
    status: TxStatus

    @property
    def vsize_vb(self) -> int:
        """Virtual size in vB: ceil(weight_wu / 4)."""
        return -(-self.weight_wu // 4)

    @property
    def fee_rate_sat_vb(self) -> float:
        """Fee rate in sat/vB (0.0 for a coinbase or a zero-weight record)."""
        return self.fee_sat / self.vsize_vb if self.vsize_vb else 0.0

    @property
    def is_coinbase(self) -> bool:
        """Whether the transaction mints the block reward (a coinbase input)."""
        return any(i.is_coinbase for i in self.inputs)

    @property
    def output_value_sat(self) -> int:
        """Total paid to outputs, in sat (what mempool.space calls a transaction's ``value``)."""
        return sum(o.value_sat for o in self.outputs)


@dataclass(frozen=True, slots=True)
class AddressStats:
    """``GET /address/:addr``: funded/spent totals in sat, confirmed (chain) and unconfirmed (mempool)."""

    address: str
    chain_funded_sat: int
    chain_spent_sat: int
    chain_tx_count: int
    mempool_funded_sat: int
    mempool_spent_sat: int
    mempool_tx_count: int

    @property
    def confirmed_balance_sat(self) -> int:
        """Balance in sat of the confirmed transactions only."""
        return self.chain_funded_sat - self.chain_spent_sat

    @property
    def balance_sat(self) -> int:
        """Balance in sat including unconfirmed transactions."""
        return self.confirmed_balance_sat + self.mempool_funded_sat - self.mempool_spent_sat
