"""Exchange announcements: the feeds analysts follow and what they announced, classified and scored."""

from django.core.validators import URLValidator
from django.db import models


class AnnouncementKind(models.TextChoices):
    """The source system's announcement types. A delisting, a pair or margin change is a trading update."""

    LISTING = "listing", "Listing"
    MAINTENANCE = "maintenance", "Maintenance"
    TRADING_UPDATE = "trading_update", "Trading update"
    FEATURE = "feature", "Feature"


class AnnouncementFeed(models.Model):
    """An exchange's announcement feed (RSS 2.0 or Atom), read by the ``announcements`` collector.
    ``url`` must be http(s), at most 500 characters."""

    name = models.SlugField(max_length=50, unique=True, help_text="Short id, e.g. kraken-blog")
    exchange = models.CharField(max_length=100, help_text="The venue it speaks for, e.g. Kraken")
    url = models.URLField(max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    is_active = models.BooleanField(default=True)
    last_collected_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.exchange} ({self.name})"


class Announcement(models.Model):
    """One announcement, stored once per feed and guid.

    ``kind`` and ``impact_score`` (0-100, by kind: ``activity.IMPACT``) come from the title and summary;
    ``coins`` the canonical symbols it mentions (``ledgers.exchange.market.mentions``), comma-separated;
    ``published_at`` aware UTC."""

    feed = models.ForeignKey(AnnouncementFeed, on_delete=models.CASCADE, related_name="announcements")
    guid = models.CharField(max_length=500)
    title = models.CharField(max_length=500)
    summary = models.TextField(blank=True)
    url = models.URLField(max_length=1000, blank=True)
    published_at = models.DateTimeField()
    kind = models.CharField(max_length=20, choices=AnnouncementKind.choices)
    impact_score = models.PositiveSmallIntegerField()
    coins = models.CharField(max_length=300, blank=True)
    observed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["feed", "guid"], name="announcement_feed_guid_uniq")]
        indexes = [
            models.Index(fields=["-published_at"], name="announcement_published"),
            models.Index(fields=["kind", "-published_at"], name="announcement_kind_published"),
        ]

    def __str__(self) -> str:
        return self.title[:80]
