"""SEC EDGAR: the issuers analysts follow (each mapped to the coins it is exposed to) and their filings."""

import re

from django.core.exceptions import ValidationError
from django.db import models

_SYMBOL = re.compile(r"^[A-Z0-9.]{1,30}$")
MAX_COINS = 20


def coin_symbols_parse(text: str) -> list[str]:
    """``"btc, ETH"`` -> ``["BTC", "ETH"]``: upper-cased, de-duplicated, in order. Raises: ValidationError for
    a symbol that is not 1-30 letters, digits or dots, or more than MAX_COINS symbols."""
    symbols: list[str] = []
    for part in text.split(","):
        symbol = part.strip().upper()
        if not symbol:
            continue
        if not _SYMBOL.match(symbol):
            raise ValidationError(f"{part.strip()!r} is not a coin symbol (letters, digits and dots, at most 30)")
        if symbol not in symbols:
            symbols.append(symbol)
    if len(symbols) > MAX_COINS:
        raise ValidationError(f"at most {MAX_COINS} coins, not {len(symbols)}")
    return symbols


class SecIssuer(models.Model):
    """A company whose EDGAR filings are collected, and the coins they can move.

    ``cik`` is EDGAR's Central Index Key; ``coins`` the comma-separated symbols of the assets the company is
    exposed to (MSTR -> ``BTC``), matched against ``market.Asset`` symbols; ``older_pages_loaded`` the names of
    the older submissions pages already stored (they never change, so each is read once).
    """

    cik = models.PositiveBigIntegerField(unique=True, help_text="EDGAR Central Index Key, e.g. 1050446")
    name = models.CharField(max_length=200)
    tickers = models.CharField(max_length=200, blank=True, help_text="As EDGAR lists them, comma-separated")
    coins = models.CharField(max_length=300, blank=True,
                             help_text="Symbols of the coins its filings can move, comma-separated: BTC,ETH")
    is_active = models.BooleanField(default=True, help_text="Collect its filings")
    older_pages_loaded = models.JSONField(default=list, blank=True, editable=False)
    last_collected_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SEC issuer"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} (CIK {self.cik})"

    @property
    def coin_symbols(self) -> list[str]:
        """``coins`` as a list of upper-case symbols (invalid parts dropped: ``clean`` refuses them on save)."""
        try:
            return coin_symbols_parse(self.coins)
        except ValidationError:
            return [part.strip().upper() for part in self.coins.split(",") if _SYMBOL.match(part.strip().upper())]

    def clean(self) -> None:
        """Normalise ``coins`` and refuse symbols no ``market.Asset`` has. Raises: ValidationError."""
        from ledgers.exchange.market.models import Asset

        symbols = coin_symbols_parse(self.coins)
        known = set(Asset.objects.filter(symbol__in=symbols).values_list("symbol", flat=True))
        unknown = [symbol for symbol in symbols if symbol not in known]
        if unknown:
            raise ValidationError({"coins": f"no asset has the symbol(s) {', '.join(unknown)}; add the asset first"})
        self.coins = ",".join(symbols)


class FilingSource(models.TextChoices):
    SUBMISSIONS = "submissions", "Issuer submissions (data.sec.gov)"
    FEED = "feed", "Latest filings feed (Atom)"


class SecFiling(models.Model):
    """One filing of a followed issuer, stored once (unique per issuer and accession number).

    ``filed_on`` is EDGAR's filing date; ``accepted_at`` aware UTC (``acceptanceDateTime``, or the feed entry's
    time for a filing first seen in the feed); ``document_url`` the primary document on sec.gov, or the index
    page while only the feed has been seen. ``source`` says which answer stored it first.
    """

    issuer = models.ForeignKey(SecIssuer, on_delete=models.CASCADE, related_name="filings")
    accession_number = models.CharField(max_length=20)
    form = models.CharField(max_length=20)
    filed_on = models.DateField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    report_period = models.DateField(null=True, blank=True)
    primary_document = models.CharField(max_length=200, blank=True)
    primary_document_description = models.CharField(max_length=200, blank=True)
    items = models.CharField(max_length=200, blank=True, help_text="8-K item numbers")
    size_bytes = models.PositiveBigIntegerField(default=0)
    document_url = models.URLField(max_length=500)
    source = models.CharField(max_length=20, choices=FilingSource.choices)
    observed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "SEC filing"
        ordering = ["-filed_on", "-accepted_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "accession_number"], name="sec_filing_issuer_accession_uniq"),
        ]
        indexes = [
            models.Index(fields=["issuer", "-filed_on"], name="sec_filing_issuer_filed"),
            models.Index(fields=["-accepted_at"], name="sec_filing_accepted"),
            models.Index(fields=["form", "-filed_on"], name="sec_filing_form_filed"),
        ]

    def __str__(self) -> str:
        return f"{self.form} {self.accession_number} ({self.filed_on})"
