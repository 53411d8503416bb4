"""Frozen dataclasses the Hyperliquid clients return, and ``BadRecord``, the error for a record that cannot
become one (never ORM objects).

Sources: the Info API (``client.HyperliquidClient``: fills, ledger updates, the clearinghouse state) and the
bridge's USDC deposits on Arbitrum One (``arbitrum_client.ArbitrumClient``).
Units: ``_usd`` amounts are Decimal USDC, counted as USD 1:1; ``quantity`` and position ``size`` Decimal coins;
``block_time`` aware UTC (the API's epoch milliseconds stay inside the client); on Arbitrum ``value_raw`` is
a Decimal integer in the token's base units and ``amount`` = value_raw / 10**decimals.
Every number Hyperliquid sends is a string; the clients turn it into a Decimal (never a float).
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Generic, TypeVar

from ledgers.errors import SourceError
from whales.money import from_base_units

T = TypeVar("T")


class BadRecord(SourceError):
    """One record of an answer (a fill, a ledger update, a position, a log) that we cannot use: a field is
    missing, null or malformed. Terminal for that record only: list answers collect it in ``Records.bad``
    and the caller logs and skips it (DESIGN.md section 10); the clearinghouse state raises it whole.

    ``field``: the field at fault, as the source names it (``px``, ``delta.usdc``, ``topics``);
    ``record``: the raw record as received, for logs only. The message names both what and the field.
    """

    code = "bad_record"
    status_code = 502
    default_detail = "The source sent a record that could not be decoded."

    def __init__(self, detail: str | None = None, *, field: str = "", record: object = None) -> None:
        super().__init__(detail)
        self.field = field
        self.record = record


@dataclass(frozen=True, slots=True)
class Records(Generic[T]):
    """The records of one list answer: the usable ones (``items``, in the answer's order) and those that
    could not be decoded (``bad``).

    ``newest_time_ms``: the newest ``time`` (epoch ms, an integer) among all the answer's records, usable or
    not, for time cursors (None when there is none: an empty answer, or one without times).
    """

    items: tuple[T, ...]
    bad: tuple[BadRecord, ...] = ()
    newest_time_ms: int | None = None

    @property
    def count(self) -> int:
        """How many records the answer had, usable or not."""
        return len(self.items) + len(self.bad)


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill of a user (``userFills`` / ``userFillsByTime`` item).

    ``symbol``: the API's ``coin`` (a perp ``BTC``; spot ``PURR/USDC`` or ``@107``); ``side``: ``buy`` (the
    API's ``B``, bid) or ``sell`` (``A``, ask); ``dir``: the API's text (``Open Long``, ``Close Short``,
    ``Long > Short``, spot ``Buy``/``Sell``, or any other, e.g. a liquidation's) unchanged; ``price_usd`` (``px``) and
    ``quantity`` (``sz``) are positive; ``start_position`` (``startPosition``) is the signed position
    before the fill; ``realized_pnl_usd`` is the exchange's own ``closedPnl`` (average entry price) and
    ``fee_usd`` the ``fee`` (both 0 when absent, ``start_position`` too); ``oid`` / ``tid`` the order and
    trade ids (``tid`` is absent on older fills); ``crossed`` whether the fill took liquidity.
    ``key``: the fill's identity, ``tid:<tid>`` when it has a tid, otherwise its hash, oid, time, px, sz,
    side and startPosition as the API wrote them, joined by ``|``.
    """

    tx_hash: str
    symbol: str
    side: str
    dir: str
    price_usd: Decimal
    quantity: Decimal
    start_position: Decimal
    realized_pnl_usd: Decimal
    fee_usd: Decimal
    block_time: datetime
    oid: int | None
    tid: int | None
    crossed: bool | None
    key: str


@dataclass(frozen=True, slots=True)
class LedgerUpdate:
    """One non-funding ledger update of a user (``userNonFundingLedgerUpdates`` item).

    ``delta_type``: the API's ``delta.type`` (``deposit``, ``withdraw``, ``accountClassTransfer``,
    ``spotTransfer``, ``internalTransfer``, ...). For a deposit or withdraw (the kinds that move USDC in or
    out of the account): ``amount_usdc`` = ``delta.usdc``, ``fee_usd`` = ``delta.fee`` (0 when absent),
    ``nonce`` = ``delta.nonce`` (None when absent or null). The other kinds' deltas differ by kind and only
    their type is read: ``amount_usdc`` and ``nonce`` None, ``fee_usd`` 0.
    """

    tx_hash: str
    block_time: datetime
    delta_type: str
    amount_usdc: Decimal | None
    fee_usd: Decimal
    nonce: int | None


@dataclass(frozen=True, slots=True)
class Position:
    """One open perp position (``clearinghouseState.assetPositions[].position`` with ``szi`` not 0).

    ``size``: signed coins (``szi``; negative = short); ``entry_price_usd`` (``entryPx``),
    ``position_value_usd`` (``positionValue``, the notional at the mark price), ``unrealized_pnl_usd``,
    ``return_on_equity`` (a fraction: 0.01 = 1 %); ``leverage_type`` (``cross`` / ``isolated``, "" when
    absent) and ``leverage`` (0 when absent); ``liquidation_price_usd`` None when the API gives none (the
    account cannot be liquidated); ``margin_used_usd`` (0 when absent).
    """

    symbol: str
    size: Decimal
    entry_price_usd: Decimal
    position_value_usd: Decimal
    unrealized_pnl_usd: Decimal
    return_on_equity: Decimal
    leverage_type: str
    leverage: Decimal
    liquidation_price_usd: Decimal | None
    margin_used_usd: Decimal

    @property
    def mark_price_usd(self) -> Decimal:
        """The mark price: position value / |size|."""
        return self.position_value_usd / abs(self.size)


@dataclass(frozen=True, slots=True)
class AccountState:
    """A user's perp account (``clearinghouseState``): the margin summary and the open positions.

    ``account_value_usd``: ``marginSummary.accountValue``; ``total_notional_usd`` (``totalNtlPos``),
    ``total_margin_used_usd`` (``totalMarginUsed``) and ``withdrawable_usd`` (``withdrawable``) are None
    when the answer does not give them.
    """

    account_value_usd: Decimal
    positions: tuple[Position, ...]
    total_notional_usd: Decimal | None = None
    total_margin_used_usd: Decimal | None = None
    withdrawable_usd: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TokenTransfer:
    """One ERC-20 ``Transfer(from, to, value)`` log on Arbitrum One (``eth_getLogs``); a Hyperliquid bridge
    deposit is a USDC transfer whose ``to_address`` is the bridge and whose ``from_address`` is the depositor.

    Addresses lowercase ``0x`` + 40 hex; ``tx_hash`` lowercase; ``value_raw`` Decimal integer base units.
    """

    tx_hash: str
    block_number: int
    log_index: int
    token_address: str
    from_address: str
    to_address: str
    value_raw: Decimal
    decimals: int

    @property
    def amount(self) -> Decimal:
        """value_raw / 10**decimals (USDC for a bridge deposit)."""
        return from_base_units(self.value_raw, self.decimals)
