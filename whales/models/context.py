"""What surrounds a whale move (issue 16): the catalysts the ledgers collect (SEC filings, exchange
announcements), kept in one indexed table so a wallet page, an event payload or the catalyst API can ask "what
happened to these coins around then" in one query. The ledgers write them through ``whales.context``."""

from django.db import models


class CatalystType(models.TextChoices):
    """A filing, one of the source system's announcement types, or a large move of a stablecoin's supply."""

    SEC_FILING = "sec_filing", "SEC filing"
    LISTING = "listing", "Listing"
    MAINTENANCE = "maintenance", "Maintenance"
    TRADING_UPDATE = "trading_update", "Trading update"
    FEATURE = "feature", "Feature"
    STABLECOIN_SUPPLY = "stablecoin_supply", "Stablecoin supply move"


class CatalystEvent(models.Model):
    """One catalyst, unique per (``source``, ``source_ref``): the collector that found it and its own key.

    ``occurred_at`` aware UTC (a filing's acceptance time, an announcement's publication); ``impact_score``
    0-100, set by the source (``details`` says why); ``coins`` the canonical symbols it concerns,
    comma-separated, each also a ``CatalystCoin`` row for the indexed lookups."""

    source = models.CharField(max_length=30)
    source_ref = models.CharField(max_length=200)
    type = models.CharField(max_length=30, choices=CatalystType.choices)
    title = models.CharField(max_length=500)
    url = models.URLField(max_length=1000, blank=True)
    occurred_at = models.DateTimeField()
    impact_score = models.PositiveSmallIntegerField()
    coins = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    observed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["source", "source_ref"], name="catalyst_source_ref_uniq")]
        indexes = [
            models.Index(fields=["-occurred_at", "-id"], name="catalyst_time"),
            models.Index(fields=["type", "-occurred_at"], name="catalyst_type_time"),
        ]

    def __str__(self) -> str:
        return self.title[:80]

    @property
    def coin_list(self) -> list[str]:
        """``coins`` as a list of symbols."""
        return [symbol for symbol in self.coins.split(",") if symbol]


class CatalystCoin(models.Model):
    """A coin a catalyst concerns, with the catalyst's time copied so "catalysts of BTC between two times" is one
    index range."""

    event = models.ForeignKey(CatalystEvent, on_delete=models.CASCADE, related_name="coin_rows")
    symbol = models.CharField(max_length=30)
    occurred_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "symbol"], name="catalyst_coin_uniq")]
        indexes = [models.Index(fields=["symbol", "-occurred_at"], name="catalyst_coin_time")]

    def __str__(self) -> str:
        return f"{self.symbol} @ {self.occurred_at:%Y-%m-%d %H:%M}"


class MoodReading(models.Model):
    """The crowd's mood about one coin in one post (the human ledger): unique per (``source``, ``source_ref``,
    ``coin``). ``compound`` is the post's VADER compound score in [-1, 1]; ``weight`` its engagement weight
    (``1 + ln(1 + max(score, 0) + comments)``, 4 places; updated as engagement changes); ``occurred_at`` aware UTC,
    when it was posted."""

    source = models.CharField(max_length=30)
    source_ref = models.CharField(max_length=200)
    coin = models.CharField(max_length=30)
    occurred_at = models.DateTimeField()
    compound = models.DecimalField(max_digits=5, decimal_places=4)
    weight = models.DecimalField(max_digits=10, decimal_places=4)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_ref", "coin"], name="mood_source_ref_coin_uniq"),
        ]
        indexes = [models.Index(fields=["coin", "-occurred_at"], name="mood_coin_time")]

    def __str__(self) -> str:
        return f"{self.coin} {self.compound} @ {self.occurred_at:%Y-%m-%d %H:%M}"
