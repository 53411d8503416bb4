"""DeFiLlama (glass ledger): stablecoin supply snapshots and protocol TVL snapshots."""

from django.db import models

from whales.models import usd_field


class StablecoinSnapshot(models.Model):
    """One day's circulating supply of a stablecoin (USD), with DeFiLlama's week-ago and month-ago figures; unique
    per (symbol, day): a second run on a day updates it."""

    symbol = models.CharField(max_length=30)
    day = models.DateField()
    circulating_usd = usd_field()
    prev_week_usd = usd_field(null=True, blank=True)
    prev_month_usd = usd_field(null=True, blank=True)
    observed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "symbol"]
        constraints = [models.UniqueConstraint(fields=["symbol", "day"], name="stablecoin_symbol_day_uniq")]

    def __str__(self) -> str:
        return f"{self.symbol} {self.day}: {self.circulating_usd} USD"


class ProtocolSnapshot(models.Model):
    """One day's TVL of a protocol (USD); unique per (slug, day)."""

    slug = models.CharField(max_length=100)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=100, blank=True)
    chains = models.CharField(max_length=500, blank=True)
    day = models.DateField()
    tvl_usd = usd_field()
    observed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day", "-tvl_usd"]
        constraints = [models.UniqueConstraint(fields=["slug", "day"], name="protocol_slug_day_uniq")]

    def __str__(self) -> str:
        return f"{self.name} {self.day}: {self.tvl_usd} USD"
