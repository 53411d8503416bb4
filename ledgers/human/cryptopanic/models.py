"""CryptoPanic news as the human ledger stores it."""

from django.db import models


class NewsPost(models.Model):
    """One CryptoPanic post: its coins (the tagged codes that are known assets, else those its title names), VADER
    sentiment of title and description, and the crowd's votes. Unique per ``cryptopanic_id``; seen again, only
    its votes are updated."""

    cryptopanic_id = models.BigIntegerField(unique=True)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, default="news")
    source_domain = models.CharField(max_length=200, blank=True)
    url = models.URLField(max_length=1000, blank=True)
    coins = models.CharField(max_length=300, blank=True)
    votes_positive = models.PositiveIntegerField(default=0)
    votes_negative = models.PositiveIntegerField(default=0)
    votes_important = models.PositiveIntegerField(default=0)
    comments = models.PositiveIntegerField(default=0)
    published_at = models.DateTimeField()
    sentiment_compound = models.DecimalField(max_digits=5, decimal_places=4)
    sentiment_label = models.CharField(max_length=10)
    observed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["-published_at", "-id"], name="newspost_time")]

    def __str__(self) -> str:
        return self.title[:80]
