"""The whale registry: entities, labels, whales with their labels' provenance, and the known addresses
(the label directory for counterparties)."""

from django.conf import settings
from django.db import models
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from whales.chains import Chain, address_url


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
    labels: "models.ManyToManyField[Label, WhaleLabel]" = models.ManyToManyField(
        Label, through="WhaleLabel", related_name="whales", blank=True)
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
            # The whale list's default order (``whales_order``: last_active desc, missing last, then id), so a page
            # is read off the index instead of sorting every whale. PostgreSQL only: SQLite cannot index NULLS LAST
            # and keeps the plain last_active index under this name (migration 0019).
            models.Index(F("last_active_at").desc(nulls_last=True), F("id").asc(), name="whale_last_active"),
            models.Index(fields=["entity"], name="whale_entity"),
            models.Index(Lower("name"), name="whale_name_lower"),
        ]

    def __str__(self) -> str:
        return self.name or f"{self.chain}:{self.address}"

    @property
    def explorer_url(self) -> str:
        """The wallet's page on its chain's public explorer."""
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


class ConflictField(models.TextChoices):
    NAME = "name", "Name"
    CATEGORY = "category", "Category"
    ENTITY = "entity", "Entity"


class LabelConflict(models.Model):
    """Label sources that disagree on one field of an address, as the label import settled it.

    ``values`` is every source's value in the order the import read them (``[{"source", "value"}, ...]``; an entity
    is its slug), ``winner_source`` / ``winner_value`` what the import kept and ``rule`` why (the precedence of
    ``whales.labelsets.addresses_merge``). One row per (chain, address, field): ``first_seen_at`` is the import run
    that first reported it, ``last_seen_at`` the latest; a run that no longer finds it deletes it.
    """

    chain = models.CharField(max_length=20, choices=Chain.choices)
    address = models.CharField(max_length=100)
    field = models.CharField(max_length=20, choices=ConflictField.choices)
    values = models.JSONField(default=list)
    winner_source = models.CharField(max_length=100)
    winner_value = models.CharField(max_length=200)
    rule = models.CharField(max_length=300)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["chain", "address", "field"], name="labelconflict_uniq")]
        indexes = [models.Index(fields=["-last_seen_at"], name="labelconflict_seen")]

    def __str__(self) -> str:
        return f"{self.chain}:{self.address} {self.field}"

    @property
    def sources(self) -> str:
        """The disagreeing sources and values, ``source=value; ...``."""
        return "; ".join(f"{item['source']}={item['value']}" for item in self.values)


class LabelRemoval(models.Model):
    """The trail of a label taken off a whale: the removed row's provenance (so it can be restored exactly), who
    removed it, when and why, and whether it was restored (``restored_at``). Written by
    ``whales.label_trail.label_remove``, never deleted by it; ``label`` survives as ``label_slug`` if the Label goes.
    """

    whale = models.ForeignKey(Whale, on_delete=models.CASCADE, related_name="label_removals")
    label = models.ForeignKey(Label, null=True, on_delete=models.SET_NULL, related_name="removals")
    label_slug = models.SlugField(max_length=100)
    source = models.CharField(max_length=100)
    evidence_url = models.URLField(max_length=500, blank=True)
    confidence = models.CharField(max_length=10, choices=LabelConfidence.choices)
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    added_at = models.DateTimeField()
    removed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", help_text="Empty: removed by an import.")
    removed_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    restored_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["whale", "-removed_at"], name="labelremoval_whale")]

    def __str__(self) -> str:
        return f"{self.label_slug} ({self.source}) removed from {self.whale}"
