"""Paper trading: accounts, strategies, orders, fills, positions, FIFO lots, live-trading audit, credentials.

Money is Decimal end to end: USD NUMERIC(38, 8) (``usd_field``), quantities NUMERIC(78, 30)
(``amount_field``), prices NUMERIC(38, 18) like ``ledgers.exchange.market.PriceHistory``. Times are aware UTC.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from whales.models import amount_field, percent_field, usd_field


def price_field(**kwargs) -> models.DecimalField:
    """A USD unit price, 18 decimal places (as PriceHistory.price_usd)."""
    return models.DecimalField(max_digits=38, decimal_places=18, **kwargs)


def symbol_canonical(symbol: str) -> str:
    """The one spelling of a symbol that orders, fills, lots, positions and limits use: stripped and
    upper-cased (prices match symbols ignoring case, so ``btc`` and ``BTC`` are one asset and must be
    one position under one cap)."""
    return symbol.strip().upper()


class AccountMode(models.TextChoices):
    PAPER = "paper", "Paper"
    LIVE = "live", "Live"


class Venue(models.TextChoices):
    """Where a paper account takes its prices (``trading.venues``)."""

    MARKET = "market", "Stored market prices (ledgers.market)"
    HYPERLIQUID = "hyperliquid", "Hyperliquid mid price"


class LiveVenue(models.TextChoices):
    """Where a live account's orders go (``trading.adapters``); a paper account has none."""

    HYPERLIQUID = "hyperliquid", "Hyperliquid"
    COINSPOT = "coinspot", "Coinspot"


LIVE_LIMIT_FIELDS = ("max_position_percent", "max_daily_loss_percent", "max_strategy_exposure_percent",
                     "max_orders_per_day", "min_order_usd", "max_order_notional_usd", "max_daily_notional_usd",
                     "price_band_percent", "flatten_on_daily_loss")
"""The limits an owner confirms before an account may trade live; changing any of them voids the confirmation."""


class Account(models.Model):
    """A trading account with its cash, halt flag and per-account safety limits (DESIGN.md §10).

    ``start_of_day_value_usd`` is the portfolio value (cash + positions at market) taken at the first
    check of each UTC day (``start_of_day_date``); the daily loss limit is measured against it.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_accounts")
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=10, choices=AccountMode.choices, default=AccountMode.PAPER)
    base_currency = models.CharField(max_length=10, default="USD")
    venue = models.CharField(max_length=20, choices=Venue.choices, default=Venue.MARKET,
                             help_text="Price source of fills and checks: stored market prices or the Hyperliquid mid.")
    starting_cash_usd = usd_field(default=Decimal("10000"))
    cash_usd = usd_field(default=Decimal("10000"))
    halted = models.BooleanField(default=False)
    halted_reason = models.TextField(blank=True)
    halted_at = models.DateTimeField(null=True, blank=True)
    start_of_day_value_usd = usd_field(null=True, blank=True)
    start_of_day_date = models.DateField(null=True, blank=True)
    # Limits (each a per-account setting with the defaults of DESIGN.md §10).
    max_position_percent = percent_field(default=Decimal("20"))
    max_daily_loss_percent = percent_field(default=Decimal("5"))
    max_strategy_exposure_percent = percent_field(default=Decimal("30"))
    max_orders_per_day = models.PositiveIntegerField(default=100)
    min_order_usd = usd_field(default=Decimal("10"))
    flatten_on_daily_loss = models.BooleanField(default=True)
    # Live-only limits (trading.live): notional caps per order and per UTC day, and the market-order price band.
    max_order_notional_usd = usd_field(default=Decimal("1000"))
    max_daily_notional_usd = usd_field(default=Decimal("5000"))
    price_band_percent = percent_field(default=Decimal("2"))
    # Live trading (issue 18): the venue, staff's live mode (``mode``) and the owner's confirmation of the limits.
    live_venue = models.CharField(max_length=20, choices=LiveVenue.choices, blank=True,
                                  help_text="Venue of live orders; blank for a paper account.")
    live_confirmed_limits = models.JSONField(null=True, blank=True,
                                             help_text="The limits the owner confirmed (LIVE_LIMIT_FIELDS).")
    live_confirmed_at = models.DateTimeField(null=True, blank=True)
    live_confirmed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                          related_name="+")
    fills_synced_at = models.DateTimeField(null=True, blank=True,
                                           help_text="Venue fills are imported up to this time (reconciliation).")
    slippage_bps = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("5"))
    fee_bps = models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("10"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="trading_account_owner_name_uniq")]

    def __str__(self) -> str:
        return f"{self.name} ({self.mode})"


class StrategyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class StrategyKind(models.TextChoices):
    FOLLOW_SMART_MONEY = "follow_smart_money", "Follow smart money"
    FOLLOW_WHALE = "follow_whale", "Follow a whale"


class Strategy(models.Model):
    """A strategy running on an account; orders carry it so its exposure can be limited.

    ``kind`` picks the implementation in ``trading.strategies`` and ``params`` its settings (validated
    by that implementation). ``periodic_task`` is the strategy's own beat row (interval or crontab,
    editable in the admin) running ``trading.run_strategy``; pausing disables it. ``started_at``: the
    strategy acts only on data after this time (a whale's trades before it are not mirrored).
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="strategies")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=50, choices=StrategyKind.choices)
    status = models.CharField(max_length=10, choices=StrategyStatus.choices, default=StrategyStatus.ACTIVE)
    params = models.JSONField(default=dict, blank=True)
    periodic_task = models.OneToOneField("django_celery_beat.PeriodicTask", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="trading_strategy")
    started_at = models.DateTimeField(default=timezone.now)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_run_summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "strategies"
        constraints = [models.UniqueConstraint(fields=["account", "name"], name="trading_strategy_account_name_uniq")]

    def __str__(self) -> str:
        return f"{self.name} [{self.kind}]"


class OrderSide(models.TextChoices):
    BUY = "buy", "Buy"
    SELL = "sell", "Sell"


class OrderType(models.TextChoices):
    MARKET = "market", "Market"
    LIMIT = "limit", "Limit"


class OrderStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUBMITTED = "submitted", "Submitted"
    PARTIALLY_FILLED = "partially_filled", "Partially filled"
    FILLED = "filled", "Filled"
    CANCELLED = "cancelled", "Cancelled"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"
    UNKNOWN = "unknown", "Unknown (submit timed out; being resolved)"


OPEN_STATUSES = (OrderStatus.PENDING, OrderStatus.SUBMITTED, OrderStatus.PARTIALLY_FILLED)


class OrderVenue(models.TextChoices):
    """Where an order or fill executed: the paper book or a live venue."""

    PAPER = "paper", "Paper"
    HYPERLIQUID = "hyperliquid", "Hyperliquid"
    COINSPOT = "coinspot", "Coinspot"


class Order(models.Model):
    """One order; ``client_order_id`` is unique per account so a retried placement is stored once.

    A rejected order is kept (status ``rejected``, ``reject_reason`` names the rule and the numbers)
    as the audit trail of what the safety checks refused.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="orders")
    strategy = models.ForeignKey(Strategy, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    client_order_id = models.CharField(max_length=100)
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    type = models.CharField(max_length=10, choices=OrderType.choices, default=OrderType.MARKET)
    quantity = amount_field()
    limit_price_usd = price_field(null=True, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PENDING)
    reject_reason = models.TextField(blank=True)
    filled_quantity = amount_field(default=Decimal(0))
    average_fill_price_usd = price_field(null=True, blank=True)
    # Live orders: the venue, our cloid there, the venue's id, the reference price of the band and checks.
    venue = models.CharField(max_length=20, choices=OrderVenue.choices, default=OrderVenue.PAPER)
    cloid = models.CharField(max_length=66, blank=True)
    venue_order_id = models.CharField(max_length=100, blank=True)
    reduce_only = models.BooleanField(default=False)
    reference_price_usd = price_field(null=True, blank=True)
    expected_notional_usd = usd_field(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    filled_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "client_order_id"], name="trading_order_client_id_uniq"),
        ]
        indexes = [
            models.Index(fields=["account", "created_at"], name="trading_order_acct_created"),
            models.Index(fields=["status", "type"], name="trading_order_status_type"),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} [{self.status}]"


class SignalOutcome(models.TextChoices):
    ORDERED = "ordered", "Ordered"
    REJECTED = "rejected", "Rejected by a limit"
    SKIPPED = "skipped", "Skipped"


class StrategySignal(models.Model):
    """Every signal a strategy generated and what was done with it, stored once per (strategy, key).

    ``key`` is the strategy's natural key of the signal (e.g. the flow collection and token, or the
    mirrored trade), so a re-run or a retry records and acts on it once. ``outcome``: ``ordered``
    (``order`` placed: filled or resting), ``rejected`` (the order was refused by a safety rule;
    ``outcome_reason`` is its reject reason) or ``skipped`` (no order; ``outcome_reason`` says why).
    ``quantity`` in asset units (None when the strategy could not size it); ``source`` is a JSON
    reference to the data behind it (flow or trade ids and figures).
    """

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="signals")
    key = models.CharField(max_length=80)
    generated_at = models.DateTimeField()
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    quantity = amount_field(null=True, blank=True)
    reason = models.TextField()
    source = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=10, choices=SignalOutcome.choices)
    outcome_reason = models.TextField(blank=True)
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="signal")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["strategy", "key"], name="trading_signal_strategy_key_uniq")]
        indexes = [models.Index(fields=["strategy", "-generated_at"], name="trading_signal_strat_time")]

    def __str__(self) -> str:
        return f"{self.side} {self.symbol} [{self.outcome}] {self.key}"


class Fill(models.Model):
    """One execution of an order. ``realized_pnl_usd`` is the FIFO realized P&L of a sell fill
    (proceeds net of this fill's fee minus the cost of the lots it consumed); None for buys."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="fills")
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=OrderSide.choices)
    price_usd = price_field()
    quantity = amount_field()
    notional_usd = usd_field()
    fee_usd = usd_field()
    realized_pnl_usd = usd_field(null=True, blank=True)
    filled_at = models.DateTimeField()
    venue = models.CharField(max_length=20, choices=OrderVenue.choices, default=OrderVenue.PAPER)
    venue_fill_id = models.CharField(max_length=100, blank=True,
                                     help_text="The venue's id of this execution (live fills); the import key.")

    class Meta:
        indexes = [models.Index(fields=["account", "filled_at"], name="trading_fill_acct_time")]
        constraints = [models.UniqueConstraint(fields=["account", "venue", "venue_fill_id"],
                                               condition=~models.Q(venue_fill_id=""), name="trading_fill_venue_uniq")]

    def __str__(self) -> str:
        return f"{self.side} {self.quantity} {self.symbol} @ {self.price_usd}"


class Position(models.Model):
    """The open quantity of one symbol in an account. ``total_cost_usd`` is the cost of the
    remaining FIFO lots (buy fees included); ``average_price_usd`` = total_cost_usd / quantity. Deleted when closed."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=30)
    quantity = amount_field()
    average_price_usd = price_field()
    total_cost_usd = usd_field()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "symbol"], name="trading_position_uniq")]

    def __str__(self) -> str:
        return f"{self.quantity} {self.symbol}"


class PositionLot(models.Model):
    """One FIFO lot: a buy fill's quantity and cost (notional + fee). A partly consumed lot keeps
    the cost of what remains (``cost_remaining_usd``); a consumed lot stays with zero remaining."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lots")
    symbol = models.CharField(max_length=30)
    fill = models.OneToOneField(Fill, on_delete=models.CASCADE, related_name="lot")
    opened_at = models.DateTimeField()
    quantity = amount_field()
    quantity_remaining = amount_field()
    cost_remaining_usd = usd_field()

    class Meta:
        indexes = [models.Index(fields=["account", "symbol", "opened_at"], name="trading_lot_fifo")]

    def __str__(self) -> str:
        return f"{self.quantity_remaining}/{self.quantity} {self.symbol} @ {self.opened_at:%Y-%m-%d %H:%M}"


class LiveTradingToggle(models.Model):
    """Append-only audit of the admin switch for live trading: the newest row is the current state.
    Live trading needs this switch on AND ``settings.TRADING_LIVE_ENABLED``."""

    enabled = models.BooleanField()
    previous = models.BooleanField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"live trading {self.previous} -> {self.enabled} at {self.changed_at:%Y-%m-%d %H:%M}"


class AccountAudit(models.Model):
    """Who halted or resumed an account, when, and why (also the daily-loss auto halt)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit")
    action = models.CharField(max_length=30)
    reason = models.TextField(blank=True)
    by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} {self.account_id} at {self.at:%Y-%m-%d %H:%M}"


class ExchangeCredential(models.Model):
    """API credentials for a live exchange, Fernet-encrypted at rest (``trading.crypto``); never
    logged, never shown in the admin or returned by the API.

    Hyperliquid: ``api_key`` is the main wallet's address (public) and ``secret`` an agent (API) wallet's private
    key; the main wallet's key is never asked for. Coinspot: the API key and its secret. ``hint`` is what may be
    shown (an address, the key's last characters); ``tested_*`` the last "Test connection" (a read-only call)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="credentials")
    exchange = models.CharField(max_length=50)
    api_key_encrypted = models.BinaryField()
    secret_encrypted = models.BinaryField()
    hint = models.CharField(max_length=120, blank=True)
    tested_at = models.DateTimeField(null=True, blank=True)
    tested_ok = models.BooleanField(null=True, blank=True)
    tested_detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "exchange"], name="trading_credential_uniq")]

    def __str__(self) -> str:
        return f"{self.exchange} credentials for account {self.account_id}"


class VenueCall(models.Model):
    """One call to a live venue that changes or verifies state (place, cancel, flatten, test, resolve), with the
    venue's answer, for the account's audit: the emergency stop records each of its steps here.
    ``response`` is the venue's answer as parsed (or the error), never a secret."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="venue_calls")
    venue = models.CharField(max_length=20, choices=OrderVenue.choices)
    action = models.CharField(max_length=30)
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="venue_calls")
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True)
    ok = models.BooleanField()
    by_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "-at"], name="trading_venuecall_acct_time")]

    def __str__(self) -> str:
        return f"{self.venue} {self.action} {'ok' if self.ok else 'failed'} at {self.at:%Y-%m-%d %H:%M:%S}"


class ReconcileStatus(models.TextChoices):
    OK = "ok", "In agreement"
    DRIFT = "drift", "Drift beyond tolerance"
    ERROR = "error", "Venue unreachable"


class Reconciliation(models.Model):
    """One comparison of our book with the venue's (``trading.live.account_reconcile``): fills imported, open
    orders and positions compared. ``drift``: a list of ``{"kind", "symbol"|"order", "ours", "venue"}`` (decimal
    strings) of the differences beyond the tolerance; a drift halts the account."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="reconciliations")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=ReconcileStatus.choices)
    fills_imported = models.PositiveIntegerField(default=0)
    orders_updated = models.PositiveIntegerField(default=0)
    drift = models.JSONField(default=list, blank=True)
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["account", "-started_at"], name="trading_recon_acct_time")]

    def __str__(self) -> str:
        return f"reconcile {self.account_id} {self.status} at {self.started_at:%Y-%m-%d %H:%M:%S}"
