"""Assets and their USD prices (source: CoinGecko, live or the recorded daily CSVs)."""

from django.db import models

from whales.chains import Chain


class Asset(models.Model):
    """A coin or token WhaleTrack can price.

    ``contract_address`` is "" for a chain's native coin. ``price_reference`` names the asset
    whose price this one takes (WETH -> ETH, WBTC -> BTC: a documented 1:1 assumption);
    ``is_stablecoin`` assets are priced at exactly 1 USD (assumption, see ``price_at``).
    """

    symbol = models.CharField(max_length=30)
    name = models.CharField(max_length=100)
    chain = models.CharField(max_length=20, choices=Chain.choices)
    contract_address = models.CharField(max_length=100, blank=True)
    decimals = models.PositiveSmallIntegerField()
    coingecko_id = models.CharField(max_length=100, blank=True)
    is_stablecoin = models.BooleanField(default=False)
    metadata_source = models.CharField(
        max_length=100, blank=True,
        help_text='Where symbol, name and decimals come from: "" = curated (seed, admin); '
                  '"eth_call@<block>" = the contract itself.')
    price_reference = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="priced_assets",
        help_text="Take this asset's price instead (wrapped tokens).",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["chain", "contract_address"], name="asset_chain_contract_uniq"),
        ]
        indexes = [models.Index(fields=["symbol"], name="asset_symbol")]

    def __str__(self) -> str:
        return f"{self.symbol} ({self.chain})"


class PriceHistory(models.Model):
    """The USD price of an asset at one instant (daily 00:00 UTC snapshots for the recorded CSVs)."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="prices")
    timestamp = models.DateTimeField()
    price_usd = models.DecimalField(max_digits=38, decimal_places=18)
    source = models.CharField(max_length=100, default="coingecko")

    class Meta:
        verbose_name_plural = "price history"
        constraints = [models.UniqueConstraint(fields=["asset", "timestamp"], name="price_asset_time_uniq")]
        indexes = [models.Index(fields=["asset", "-timestamp"], name="price_asset_time_desc")]

    def __str__(self) -> str:
        return f"{self.asset.symbol} {self.price_usd} @ {self.timestamp:%Y-%m-%d %H:%M}"
