"""What the ledgers write: trades (whale activity valued in USD), whale events (the live feed) with their
thresholds, and holdings (balances and perp positions)."""

from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from whales.chains import Chain, tx_url
from whales.models.fields import amount_field, percent_field, raw_amount_field, usd_field
from whales.models.registry import Whale


class TradeSource(models.TextChoices):
    ONCHAIN = "onchain", "On-chain"
    HYPERLIQUID = "hyperliquid", "Hyperliquid"
    EXCHANGE_FLOW = "exchange_flow", "Exchange flow"
    MEMPOOL = "mempool", "Mempool"


class Direction(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"
    SEND = "send", "Send"
    RECEIVE = "receive", "Receive"
    DEPOSIT = "deposit", "Deposit to exchange"
    WITHDRAW = "withdraw", "Withdraw from exchange"
    LONG = "long", "Open long"
    SHORT = "short", "Open short"
    CLOSE_LONG = "close_long", "Close long"
    CLOSE_SHORT = "close_short", "Close short"


class Trade(models.Model):
    """One row of whale activity: a transfer, swap, exchange flow or perp fill, valued in USD.

    Natural key (chain, tx_hash, log_index, whale, direction): ingesting the same data twice stores
    it once. ``log_index`` is -1 for a native-coin movement. ``amount_base`` is in human units
    (``amount_raw / 10**decimals``); it is None for a token whose decimals are unknown, and then
    ``base_asset`` is the token contract and ``value_usd`` is None. ``is_internal`` marks a
    transfer between two addresses of the same entity (recorded, never alerted). ``fee_amount`` is the
    network fee paid on top of the amounts, in the native coin: with it, a transaction's trades give the
    wallet's exact balance changes (``whales.analytics.history``).
    """

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="trades", db_index=False)  # trade_whale_id
    chain = models.CharField(max_length=20, choices=Chain.choices)
    block_time = models.DateTimeField()
    block_number = models.BigIntegerField(null=True, blank=True)
    block_hash = models.CharField(max_length=80, blank=True)
    tx_hash = models.CharField(max_length=80)
    log_index = models.IntegerField(default=-1)
    source = models.CharField(max_length=20, choices=TradeSource.choices)
    platform = models.CharField(max_length=50, blank=True)
    direction = models.CharField(max_length=20, choices=Direction.choices)
    base_asset = models.CharField(max_length=100)
    base_token_address = models.CharField(max_length=100, blank=True)
    quote_asset = models.CharField(max_length=100, blank=True)
    quote_token_address = models.CharField(max_length=100, blank=True)
    amount_raw = raw_amount_field(null=True, blank=True)
    amount_base = amount_field(null=True, blank=True)
    amount_quote = amount_field(null=True, blank=True)
    price_usd = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    value_usd = usd_field(null=True, blank=True)
    fee_usd = usd_field(null=True, blank=True)
    fee_amount = amount_field(
        null=True, blank=True,
        help_text="Network fee the whale paid on top of the amounts, in the chain's native coin (BTC, ETH), human "
                  "units; None: no fee on top (a receive, or a fee already inside the amount).")
    pnl_usd = usd_field(null=True, blank=True)
    pnl_percent = percent_field(null=True, blank=True)
    counterparty = models.CharField(max_length=100, blank=True)
    counterparty_name = models.CharField(max_length=200, blank=True)
    is_internal = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain", "tx_hash", "log_index", "whale", "direction"], name="trade_natural_key"
            )
        ]
        indexes = [
            models.Index(fields=["whale", "-block_time", "-id"], name="trade_whale_time"),
            # a whale's trades by id: the FK's index, and the metrics' "stored since id N" (whales.analytics.metrics)
            models.Index(fields=["whale", "id"], name="trade_whale_id"),
            models.Index(fields=["chain", "-block_time"], name="trade_chain_time"),
            # Covering (PostgreSQL): the dashboard's 24 h figures (active whales, volume) read the index alone.
            models.Index(fields=["-block_time"], include=["whale", "value_usd", "is_internal"], name="trade_time"),
            models.Index(fields=["chain", "block_number"], name="trade_chain_block"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.amount_base} {self.base_asset} ({self.tx_hash[:10]})"

    @property
    def external_url(self) -> str:
        """The transaction's page on its chain's public explorer."""
        return tx_url(self.chain, self.tx_hash)


class EventType(models.TextChoices):
    LARGE_TRANSFER = "large_transfer", "Large transfer"
    LARGE_SWAP = "large_swap", "Large swap"
    EXCHANGE_FLOW = "exchange_flow", "Exchange flow"
    PERP_TRADE = "perp_trade", "Perp trade"
    MEMPOOL_WHALE = "mempool_whale", "Mempool whale"
    REORG_RETRACTION = "reorg_retraction", "Reorg retraction"
    CATALYST = "catalyst", "Catalyst (high-impact filing or announcement)"
    DATA_QUALITY = "data_quality", "Data-quality issue"


# Events of no chain and no whale (``WhaleEvent.chain`` ""): they reach only alert rules that name their type.
SYSTEM_EVENT_TYPES = frozenset({EventType.CATALYST, EventType.DATA_QUALITY})


class WhaleEvent(models.Model):
    """The live feed: notable whale activity above a threshold, and reorg retractions.

    Natural key (chain, type, tx_hash, log_index, whale); a retraction has no whale, its
    ``tx_hash`` is the orphaned block's hash and ``details`` lists the trades it withdrew. A system event
    (``SYSTEM_EVENT_TYPES``: a high-impact catalyst, a data-quality issue) has no chain ("") and no whale;
    its ``tx_hash`` is its own key ("catalyst:<id>", "quality:<issue id>"), never a transaction.
    """

    chain = models.CharField(max_length=20, choices=Chain.choices, blank=True)
    type = models.CharField(max_length=30, choices=EventType.choices)
    whale = models.ForeignKey(Whale, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    block_time = models.DateTimeField()
    block_number = models.BigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=80)
    log_index = models.IntegerField(default=-1)
    summary = models.CharField(max_length=500)
    value_usd = usd_field(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    observed_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was sent to the live feed (claimed once, after commit).")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["chain", "type", "tx_hash", "log_index", "whale"], name="event_natural_key"
            ),
            # NULL whales are distinct in a plain unique index; this one covers them.
            models.UniqueConstraint(
                fields=["chain", "type", "tx_hash", "log_index"],
                condition=Q(whale__isnull=True),
                name="event_natural_key_no_whale",
            ),
        ]
        indexes = [
            models.Index(fields=["-block_time"], name="event_time"),
            models.Index(fields=["chain", "-block_time"], name="event_chain_time"),
            models.Index(fields=["whale", "-block_time"], name="event_whale_time"),
            models.Index(fields=["observed_at"], condition=Q(published_at__isnull=True), name="event_unpublished"),
        ]

    def __str__(self) -> str:
        return self.summary

    @property
    def detection_latency_ms(self) -> int | None:
        """How long after its block (or the mempool's first sighting) WhaleTrack stored this event:
        observed_at - block_time in whole milliseconds; None when the block time is later (clock skew)."""
        latency_ms = (self.observed_at - self.block_time).total_seconds() * 1000
        return round(latency_ms) if latency_ms >= 0 else None


class EventThreshold(models.Model):
    """Minimum USD value for a whale event of one type; analysts tune these in the admin.

    Seeded from ``settings.WHALE_EVENT_MIN_USD`` by a data migration; a missing row falls back to
    that setting.
    """

    event_type = models.CharField(max_length=30, choices=EventType.choices, unique=True)
    min_value_usd = usd_field()
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.event_type} >= {self.min_value_usd} USD"


class Holding(models.Model):
    """What a whale holds of one asset, valued at the latest price, or one open perp position.

    A spot holding read from a chain names its contract (``token_address``, "" = native), ``decimals`` and
    the ``block_number`` it was read at. A perp position (``is_perp``) has a signed ``amount``
    (negative = short), ``value_usd`` = its position value (notional at the mark price), the entry price,
    unrealized P&L, return on equity (a ratio: 0.0104 = +1.04 %), leverage, liquidation price and the
    distance to it in percent; its ``portfolio_percent`` is its notional as a share of the account value.
    """

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="holdings")
    asset = models.CharField(max_length=100)
    token_address = models.CharField(max_length=100, blank=True, help_text='Contract; "" = the native coin.')
    decimals = models.PositiveSmallIntegerField(null=True, blank=True)
    block_number = models.BigIntegerField(null=True, blank=True, help_text="Block the balance was read at.")
    is_verified = models.BooleanField(
        default=True,
        help_text="False: a token using a known asset's symbol from another contract (valued at nothing).")
    amount = amount_field()
    value_usd = usd_field(null=True, blank=True)
    portfolio_percent = percent_field(null=True, blank=True)
    is_perp = models.BooleanField(default=False)
    entry_price_usd = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    unrealized_pnl_usd = usd_field(null=True, blank=True)
    return_on_equity = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    leverage_type = models.CharField(max_length=20, blank=True)
    leverage = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    liquidation_price_usd = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True)
    liquidation_distance_percent = percent_field(null=True, blank=True)
    margin_used_usd = usd_field(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["whale", "asset"], name="holding_uniq")]

    def __str__(self) -> str:
        return f"{self.amount} {self.asset}"

    @property
    def side(self) -> str | None:
        """A perp position's side: ``long`` (amount > 0) or ``short`` (amount < 0); None for spot holdings."""
        if not self.is_perp:
            return None
        return "short" if self.amount < 0 else "long"

    @property
    def return_on_equity_percent(self) -> Decimal | None:
        """``return_on_equity`` (a ratio: 0.0104) in percent (1.04); None when unknown."""
        return None if self.return_on_equity is None else self.return_on_equity * 100
