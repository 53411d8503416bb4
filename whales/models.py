"""The whale registry and its analytics tables (DESIGN.md section 2).

Money and token amounts are Decimal end to end: token amounts in human units are
NUMERIC(78, 30), raw base units NUMERIC(78, 0), USD NUMERIC(38, 8) and prices NUMERIC(38, 18).
On PostgreSQL they are exact; SQLite stores decimals as REAL-like values past ~15 significant
digits (README, "Precision").
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from whales.chains import Chain, address_url, tx_url


def amount_field(**kwargs) -> models.DecimalField:
    """A token amount in human units (value_raw / 10**decimals)."""
    return models.DecimalField(max_digits=78, decimal_places=30, **kwargs)


def raw_amount_field(**kwargs) -> models.DecimalField:
    """A token amount in integer base units (wei, satoshi): NUMERIC(78, 0) holds any uint256."""
    return models.DecimalField(max_digits=78, decimal_places=0, **kwargs)


def usd_field(**kwargs) -> models.DecimalField:
    """A USD amount, 8 decimal places."""
    return models.DecimalField(max_digits=38, decimal_places=8, **kwargs)


def percent_field(**kwargs) -> models.DecimalField:
    """A percentage, 4 decimal places."""
    return models.DecimalField(max_digits=24, decimal_places=4, **kwargs)


class EntityKind(models.TextChoices):
    EXCHANGE = "exchange", "Exchange"
    FUND = "fund", "Fund"
    MARKET_MAKER = "market_maker", "Market maker"
    INDIVIDUAL = "individual", "Individual"
    PROTOCOL = "protocol", "Protocol"
    BRIDGE = "bridge", "Bridge"
    MINER = "miner", "Miner"
    UNKNOWN = "unknown", "Unknown"


class Entity(models.Model):
    """Who owns addresses (an exchange, a fund, a person); one entity may own wallets on several chains.

    ``slug`` is the stable key the label sets use (GraphSense actor ids such as ``binance``).
    """

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=EntityKind.choices, default=EntityKind.UNKNOWN)
    website = models.URLField(blank=True)
    source = models.CharField(max_length=100, blank=True, help_text="Label set the entity came from.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "entities"
        ordering = ["name"]
        indexes = [models.Index(Lower("name"), name="entity_name_lower")]

    def __str__(self) -> str:
        return self.name


class Label(models.Model):
    """A tag analysts put on whales (``binance``, ``fund``, ``smart-money``); provenance is per whale."""

    slug = models.SlugField(max_length=100, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug


class WhaleType(models.TextChoices):
    HOLDER = "holder", "Holder"
    TRADER = "trader", "Trader"
    HOLDER_TRADER = "holder_trader", "Holder and trader"
    UNCLASSIFIED = "unclassified", "Unclassified"


class Whale(models.Model):
    """One tracked wallet: ``(chain, address)`` is unique; the address is stored normalized.

    ``last_active_at`` is the block time of the newest stored activity; ``type`` may be set by an
    analyst (``type_is_manual``) and is then never overwritten by classification.
    """

    chain = models.CharField(max_length=20, choices=Chain.choices)
    address = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True, help_text="Display name, e.g. 'Binance 14'.")
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="whales")
    type = models.CharField(max_length=20, choices=WhaleType.choices, default=WhaleType.UNCLASSIFIED)
    type_is_manual = models.BooleanField(default=False, help_text="Set by an analyst; classification keeps it.")
    type_reason = models.CharField(max_length=300, blank=True, help_text="Why classification chose the type.")
    type_classified_at = models.DateTimeField(null=True, blank=True)
    labels = models.ManyToManyField(Label, through="WhaleLabel", related_name="whales", blank=True)
    is_tracked = models.BooleanField(default=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_active_at = models.DateTimeField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "address"], name="whale_chain_address_uniq")]
        indexes = [
            models.Index(fields=["chain", "is_tracked"], name="whale_chain_tracked"),
            models.Index(fields=["-last_active_at"], name="whale_last_active"),
            models.Index(fields=["entity"], name="whale_entity"),
            models.Index(Lower("name"), name="whale_name_lower"),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.chain}:{self.address}"

    @property
    def explorer_url(self) -> str:
        return address_url(self.chain, self.address)


class LabelConfidence(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class WhaleLabel(models.Model):
    """A label on a whale with its provenance, so a wrong label can be traced and removed.

    One row per (whale, label, source): the same label from two sources is two pieces of evidence.
    """

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="whale_labels")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="whale_labels")
    source = models.CharField(max_length=100, help_text="Label set or 'analyst'.")
    evidence_url = models.URLField(max_length=500, blank=True)
    confidence = models.CharField(max_length=10, choices=LabelConfidence.choices, default=LabelConfidence.MEDIUM)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["whale", "label", "source"], name="whalelabel_uniq"),
        ]
        indexes = [models.Index(fields=["label", "whale"], name="whalelabel_label_whale")]

    def __str__(self) -> str:
        return f"{self.label.slug} ({self.source})"


class AddressCategory(models.TextChoices):
    EXCHANGE = "exchange", "Exchange"
    DEX = "dex", "DEX router or pool"
    BRIDGE = "bridge", "Bridge"
    FUND = "fund", "Fund"
    MARKET_MAKER = "market_maker", "Market maker"
    MEV = "mev", "MEV bot or builder"
    MINER = "miner", "Miner"
    SANCTIONED = "sanctioned", "Sanctioned"
    HACK = "hack", "Hack or exploit"
    TOKEN = "token", "Token contract"
    OTHER = "other", "Other"


class KnownAddress(models.Model):
    """The label directory for counterparties, imported from public label sets.

    Used to classify flows: a whale sending to a ``category=exchange`` address is a deposit.
    ``tags`` keeps every source's raw tags for the address (e.g. Etherscan label-cloud slugs).
    """

    chain = models.CharField(max_length=20, choices=Chain.choices)
    address = models.CharField(max_length=100)
    name = models.CharField(max_length=200, blank=True)
    category = models.CharField(max_length=20, choices=AddressCategory.choices, default=AddressCategory.OTHER)
    entity = models.ForeignKey(Entity, null=True, blank=True, on_delete=models.SET_NULL, related_name="addresses")
    source = models.CharField(max_length=100)
    source_url = models.URLField(max_length=500, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "known addresses"
        constraints = [models.UniqueConstraint(fields=["chain", "address"], name="knownaddress_uniq")]
        indexes = [models.Index(fields=["category"], name="knownaddress_category")]

    def __str__(self) -> str:
        return self.name or self.address


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
    transfer between two addresses of the same entity (recorded, never alerted).
    """

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="trades")
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
            models.Index(fields=["chain", "-block_time"], name="trade_chain_time"),
            models.Index(fields=["-block_time"], name="trade_time"),
            models.Index(fields=["chain", "block_number"], name="trade_chain_block"),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.amount_base} {self.base_asset} ({self.tx_hash[:10]})"

    @property
    def external_url(self) -> str:
        return tx_url(self.chain, self.tx_hash)


class EventType(models.TextChoices):
    LARGE_TRANSFER = "large_transfer", "Large transfer"
    LARGE_SWAP = "large_swap", "Large swap"
    EXCHANGE_FLOW = "exchange_flow", "Exchange flow"
    PERP_TRADE = "perp_trade", "Perp trade"
    MEMPOOL_WHALE = "mempool_whale", "Mempool whale"
    REORG_RETRACTION = "reorg_retraction", "Reorg retraction"


class WhaleEvent(models.Model):
    """The live feed: notable whale activity above a threshold, and reorg retractions.

    Natural key (chain, type, tx_hash, log_index, whale); a retraction has no whale, its
    ``tx_hash`` is the orphaned block's hash and ``details`` lists the trades it withdrew.
    """

    chain = models.CharField(max_length=20, choices=Chain.choices)
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

    A perp position (``is_perp``) has a signed ``amount`` (negative = short), ``value_usd`` = its
    position value (notional at the mark price), the entry price, unrealized P&L, return on equity
    (a ratio: 0.0104 = +1.04 %), leverage, liquidation price and the distance to it in percent;
    its ``portfolio_percent`` is its notional as a share of the account value.
    """

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="holdings")
    asset = models.CharField(max_length=100)
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


class MetricsFields(models.Model):
    """Fields shared by the current and the daily wallet metrics (definitions in DESIGN.md section 9).

    Computed by whales.metrics, whose docstring gives every formula and which method (FIFO lots or
    the exchange's closedPnl) produced each figure; ``details`` holds the per-method split.
    """

    roi_percent = percent_field(null=True, blank=True)
    portfolio_value_usd = usd_field(null=True, blank=True)
    realized_pnl_usd = usd_field(null=True, blank=True)
    unrealized_pnl_usd = usd_field(null=True, blank=True)
    volume_30d_usd = usd_field(default=0)
    volume_1d_usd = usd_field(default=0)
    trades_30d = models.IntegerField(default=0)
    trades_1d = models.IntegerField(default=0)
    win_rate_percent = percent_field(null=True, blank=True)
    realized_pnl_method = models.CharField(
        max_length=40, blank=True,
        help_text="Which method produced realized P&L: 'fifo', 'exchange_closed_pnl' or both joined by '+'.")
    closed_round_trips = models.IntegerField(default=0)
    unknown_cost_sells = models.IntegerField(default=0, help_text="Sells (partly) without a recorded cost.")
    details = models.JSONField(default=dict, blank=True, help_text="Per-method split and inputs (whales.metrics).")
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True


class WalletMetrics(MetricsFields):
    """Current metrics of one whale."""

    whale = models.OneToOneField(Whale, on_delete=models.CASCADE, related_name="metrics")

    class Meta:
        verbose_name_plural = "wallet metrics"
        indexes = [
            models.Index(fields=["-roi_percent"], name="metrics_roi"),
            models.Index(fields=["-portfolio_value_usd"], name="metrics_portfolio"),
            models.Index(fields=["-volume_30d_usd"], name="metrics_volume"),
        ]

    def __str__(self) -> str:
        return f"metrics of whale {self.whale_id}"


class WalletMetricsDaily(MetricsFields):
    """One row per whale per UTC day, for history charts."""

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="metrics_daily")
    date = models.DateField()

    class Meta:
        verbose_name_plural = "wallet metrics (daily)"
        constraints = [models.UniqueConstraint(fields=["whale", "date"], name="metricsdaily_uniq")]

    def __str__(self) -> str:
        return f"metrics of whale {self.whale_id} on {self.date}"


class WalletFifoState(models.Model):
    """The FIFO books of one whale as the last metrics compute left them (``whales.metrics``), so the next
    compute carries on with the trades stored since instead of replaying them all.

    ``books`` is ``{asset: whales.fifo.FifoBook.state()}``; ``max_trade_id`` is the highest Trade id
    applied, ``trades_applied`` how many FIFO trades were, and ``through_*`` the last one in FIFO order
    (block_time, id). A compute trusts the state only while the whale still has exactly
    ``trades_applied`` FIFO trades with ids up to ``max_trade_id`` and every newer one comes after
    ``through_*``; otherwise (a deletion, a late trade, one committed out of id order) it rebuilds the
    books from every trade. A service that changes stored trades in place forgets the state
    (``whales.metrics.metrics_books_forget``).
    """

    whale = models.OneToOneField(Whale, primary_key=True, on_delete=models.CASCADE, related_name="fifo_state")
    books = models.JSONField(default=dict)
    max_trade_id = models.BigIntegerField(default=0)
    trades_applied = models.IntegerField(default=0)
    through_block_time = models.DateTimeField(null=True, blank=True)
    through_trade_id = models.BigIntegerField(null=True, blank=True)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "wallet FIFO states"

    def __str__(self) -> str:
        return f"FIFO books of whale {self.whale_id} through trade {self.through_trade_id}"


class MetricsPending(models.Model):
    """A whale whose metrics wait for a recompute after its trades changed: one row per whale at most.

    Set in the same transaction as the trades (``whales.metrics.metrics_mark_pending``):
    ``first_marked_at`` stays while the row exists (the debounce counts from it), ``last_marked_at``
    moves with every later change. The recompute deletes a row only if ``last_marked_at`` is still the
    value it read, so a change that lands during a recompute is recomputed again.
    """

    whale = models.OneToOneField(Whale, primary_key=True, on_delete=models.CASCADE, related_name="+")
    first_marked_at = models.DateTimeField()
    last_marked_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "metrics pending"
        indexes = [models.Index(fields=["first_marked_at"], name="metricspending_first")]

    def __str__(self) -> str:
        return f"metrics of whale {self.whale_id} pending since {self.first_marked_at:%Y-%m-%d %H:%M:%S}"


class RunStatus(models.TextChoices):
    RUNNING = "running", "Running"
    OK = "ok", "OK"
    PARTIAL = "partial", "Partial"
    FAILED = "failed", "Failed"


class ScoreConfidence(models.TextChoices):
    LOW = "low", "Low (too few closed trades)"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class ScoringRun(models.Model):
    """One smart-money scoring run: how many whales it saw, scored, updated and failed on, and how long
    it took (shown in the admin). At most one runs at a time."""

    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.RUNNING)
    formula_version = models.CharField(max_length=20)
    total = models.IntegerField(default=0)
    processed = models.IntegerField(default=0)
    updated = models.IntegerField(default=0)
    failed = models.IntegerField(default=0)
    duration_ms = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["-started_at"], name="scoringrun_time")]

    def __str__(self) -> str:
        return f"scoring {self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class WalletScore(models.Model):
    """A smart-money score (0-100) of one whale from one scoring run, with every input and weight in
    ``components`` and the formula version. Scores are kept as history; ``is_current`` marks each
    whale's latest (whales that stopped trading keep theirs: no survivorship bias)."""

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="scores")
    run = models.ForeignKey(ScoringRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="scores")
    score = models.DecimalField(max_digits=6, decimal_places=2)
    confidence = models.CharField(max_length=10, choices=ScoreConfidence.choices)
    components = models.JSONField(default=dict)
    formula_version = models.CharField(max_length=20)
    scored_at = models.DateTimeField(default=timezone.now)
    is_current = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["whale"], condition=Q(is_current=True), name="walletscore_one_current"),
        ]
        indexes = [
            models.Index(fields=["-score"], condition=Q(is_current=True), name="walletscore_current_score"),
            models.Index(fields=["whale", "-scored_at"], name="walletscore_whale_time"),
        ]

    def __str__(self) -> str:
        return f"{self.whale_id}: {self.score} ({self.confidence})"


class FlowWindow(models.TextChoices):
    H1 = "1h", "1 hour"
    H24 = "24h", "24 hours"
    D7 = "7d", "7 days"
    D30 = "30d", "30 days"


class SmartMoneyFlow(models.Model):
    """Net flow of one token among smart-money whales over a window, as collected at ``collected_at``.

    ``net_flow_usd`` = bought - sold (USD) by whales scoring at least ``min_score``; ``top_buyers`` /
    ``top_sellers``: [{whale_id, chain, address, name, net_usd}] largest first.
    """

    token = models.CharField(max_length=100)
    window = models.CharField(max_length=4, choices=FlowWindow.choices)
    net_flow_usd = usd_field()
    bought_usd = usd_field(default=0)
    sold_usd = usd_field(default=0)
    buying_wallets = models.IntegerField(default=0)
    selling_wallets = models.IntegerField(default=0)
    top_buyers = models.JSONField(default=list)
    top_sellers = models.JSONField(default=list)
    min_score = models.DecimalField(max_digits=6, decimal_places=2)
    collected_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["token", "-collected_at"], name="flow_token_time")]

    def __str__(self) -> str:
        return f"{self.token} {self.window} {self.net_flow_usd} USD @ {self.collected_at:%Y-%m-%d %H:%M}"
