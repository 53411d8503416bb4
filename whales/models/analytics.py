"""The analytics' tables: wallet metrics (current and daily), the FIFO books they resume from, whales
pending a recompute, smart-money scores with their runs, and token flows."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from whales.models.fields import amount_field, percent_field, usd_field
from whales.models.registry import Whale


class MetricsFields(models.Model):
    """Fields shared by the current and the daily wallet metrics (definitions in DESIGN.md section 9).

    Computed by whales.analytics.metrics, whose docstring gives every formula and which method (FIFO lots or
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
        # The whale list's sorts (whales.selectors.whales_order: desc NULLS LAST, then the whale), so "top 10 by
        # ROI" reads 10 index entries instead of sorting every whale. PostgreSQL only: SQLite cannot index NULLS
        # LAST and keeps the plain descending indexes under these names (migration 0020).
        indexes = [
            models.Index(F("roi_percent").desc(nulls_last=True), F("whale_id").asc(), name="metrics_roi"),
            models.Index(F("portfolio_value_usd").desc(nulls_last=True), F("whale_id").asc(),
                         name="metrics_portfolio"),
            models.Index(F("volume_30d_usd").desc(nulls_last=True), F("whale_id").asc(), name="metrics_volume"),
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


class OpeningStatus(models.TextChoices):
    OK = "ok", "Read and valued"
    UNPRICED = "unpriced", "Read, but a held asset has no price at that block"
    UNAVAILABLE = "unavailable", "The node keeps no state at that block"


class WalletOpening(models.Model):
    """What a whale held when tracking it started: the opening position of its ROI on a chain whose collector
    sees only the blocks since it started (Ethereum; ``whales.analytics.metrics`` module docstring, "ROI").

    ``block_number`` is the opening block: the block before the whale's first stored trade or, for a whale
    without trades yet, the last block the collector had covered when the opening was read. ``balances`` is
    ``{asset label: {"token_address", "amount", "price_usd", "value_usd"}}`` (decimal strings; a null price:
    unpriced or valued at nothing) of the non-zero balances read at that block; ``value_usd`` their sum at that
    block's price (None unless ``status`` is ok); ``reason`` says why the ROI cannot use it otherwise.
    Written by ``ledgers.glass.ethereum.opening.openings_read``, re-read when a trade at or before the opening
    block is stored later (a re-walk).
    """

    whale = models.OneToOneField(Whale, primary_key=True, on_delete=models.CASCADE, related_name="opening")
    block_number = models.BigIntegerField()
    block_time = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=OpeningStatus.choices)
    value_usd = usd_field(null=True, blank=True)
    balances = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    read_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"opening of whale {self.whale_id} at block {self.block_number}: {self.status}"


class WalletFifoState(models.Model):
    """The FIFO books of one whale as the last metrics compute left them (``whales.analytics.metrics``), so the next
    compute carries on with the trades stored since instead of replaying them all.

    ``books`` is ``{asset: whales.fifo.FifoBook.state()}``: each book's figures and its lot queue's header
    (head seq, count, running totals); the open lots themselves are ``WalletFifoLot`` rows, so a compute reads
    and writes only the lots its trades reach. ``max_trade_id`` is the highest Trade id applied,
    ``trades_applied`` how many FIFO trades were, and ``through_*`` the last one in FIFO order (block_time,
    id). ``max_trade_id`` 0 means no books (never computed, or forgotten): the next compute applies every
    trade.

    Trust: a compute carries on from the state only if every trade stored since ``max_trade_id`` comes after
    ``through_*`` (else a late trade: rebuild from every trade) and the trades it applied are all still
    there and none was missed: the whale has exactly ``trades_applied - checked_trades`` FIFO trades with ids
    in (``checked_trade_id``, ``max_trade_id``] (else a trade committed out of id order: rebuild). That
    window is what the previous compute applied, so the check reads only recent trades; once it passes, the
    next state checks from ``max_trade_id`` on. This assumes what the services guarantee: a trade is never
    deleted or changed in place without forgetting the books (``whales.analytics.metrics.metrics_books_forget``:
    reorg retractions, withdrawn unconfirmed trades, confirmations, amount backfills), and no transaction
    inserting trades stays open across two computes of the whale (the collector commits block by block).

    ``version`` grows with every write of the books (a compute's or a forget's): a compute stores its books
    only if the version it read is still the stored one (checked under a row lock), so two computes of the
    same whale running at once, or a forget landing during one, never interleave their lot writes.
    """

    whale = models.OneToOneField(Whale, primary_key=True, on_delete=models.CASCADE, related_name="fifo_state")
    books = models.JSONField(default=dict)
    max_trade_id = models.BigIntegerField(default=0)
    trades_applied = models.IntegerField(default=0)
    through_block_time = models.DateTimeField(null=True, blank=True)
    through_trade_id = models.BigIntegerField(null=True, blank=True)
    checked_trade_id = models.BigIntegerField(default=0)
    checked_trades = models.IntegerField(default=0)
    version = models.BigIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "wallet FIFO states"

    def __str__(self) -> str:
        return f"FIFO books of whale {self.whale_id} through trade {self.through_trade_id}"


class WalletFifoLot(models.Model):
    """One open FIFO lot of a whale's book (``WalletFifoState``): ``amount`` of ``asset`` (human units) still
    held, at ``cost_usd`` (None: unknown cost), numbered ``seq`` within the book, oldest open lot first.

    The open lots of a book are exactly the seqs from its header's ``head_seq`` to ``head_seq + count - 1``;
    lots a compute consumes are deleted, a lot consumed in part is overwritten, new lots are inserted
    (``whales.fifo.LotQueue.changes``).
    """

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="+", db_index=False)
    asset = models.CharField(max_length=100)
    seq = models.BigIntegerField()
    amount = amount_field()
    cost_usd = usd_field(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["whale", "asset", "seq"], name="whales_fifolot_book_seq")]

    def __str__(self) -> str:
        return f"lot {self.seq} of {self.asset} for whale {self.whale_id}"


class MetricsPending(models.Model):
    """A whale whose metrics wait for a recompute after its trades changed: one row per whale at most.

    Set in the same transaction as the trades (``whales.analytics.metrics.metrics_mark_pending``):
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
