"""Plain dataclasses ledgers hand to whales services (no ORM objects cross app boundaries)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class WhaleActivity:
    """One normalized piece of whale activity, ready to be stored as a ``whales.Trade``.

    Units: amounts in human units (None when the token's decimals are unknown), ``amount_raw`` in
    base units, ``value_usd``/``fee_usd`` in USD (None = not priced). ``block_time`` aware UTC.
    Shape: the fields of ``whales.Trade``; ``whale_id`` is the stored whale's primary key and
    ``event_type`` names the WhaleEvent type this activity raises when ``value_usd`` reaches its
    threshold ("" = never raises one).
    """

    whale_id: int
    chain: str
    block_time: datetime
    block_number: int | None
    block_hash: str
    tx_hash: str
    log_index: int
    source: str
    platform: str
    direction: str
    base_asset: str
    base_token_address: str = ""
    quote_asset: str = ""
    quote_token_address: str = ""
    amount_raw: Decimal | None = None
    amount_base: Decimal | None = None
    amount_quote: Decimal | None = None
    price_usd: Decimal | None = None
    value_usd: Decimal | None = None
    fee_usd: Decimal | None = None
    fee_amount: Decimal | None = None  # native coin, on top of the amounts (Trade.fee_amount)
    pnl_usd: Decimal | None = None
    counterparty: str = ""
    counterparty_name: str = ""
    is_internal: bool = False
    event_type: str = ""
    summary: str = ""
    details: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class HoldingValue:
    """One spot balance a ledger read, for ``whales.services.holdings_set``.

    Units: ``amount`` in human units (base units / 10**decimals), ``value_usd`` at the asset's latest price
    (None = unpriced, or an unverified token: valued at nothing). ``token_address`` "" for the native
    coin; ``decimals`` as the asset has them; ``block_number`` the block the balance was read at (None
    where the source gives none). ``is_verified`` False for a token that calls itself by a known asset's
    symbol without being that asset's contract.
    """

    asset: str
    amount: Decimal
    value_usd: Decimal | None
    token_address: str = ""
    decimals: int | None = None
    block_number: int | None = None
    is_verified: bool = True
