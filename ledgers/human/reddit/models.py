"""Reddit (human ledger): the subreddits analysts follow and their posts, with coins and VADER sentiment."""

from django.core.validators import RegexValidator
from django.db import models


class Subreddit(models.Model):
    """A subreddit whose ``listings`` (comma-separated: hot, new) the ``reddit`` collector reads, top
    REDDIT_LISTING_LIMIT posts each."""

    name = models.CharField(max_length=50, unique=True,
                            validators=[RegexValidator(r"^[A-Za-z0-9_]{2,50}$", "letters, digits and _ only")],
                            help_text="Without r/, e.g. CryptoCurrency")
    listings = models.CharField(max_length=50, default="hot,new",
                                validators=[RegexValidator(r"^(hot|new|top|rising)(,(hot|new|top|rising))*$",
                                                           "comma-separated: hot, new, top, rising")])
    is_active = models.BooleanField(default=True)
    last_collected_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"r/{self.name}"


class SentimentLabel(models.TextChoices):
    BULLISH = "bullish", "Bullish (compound >= 0.05)"
    NEUTRAL = "neutral", "Neutral"
    BEARISH = "bearish", "Bearish (compound <= -0.05)"


class RedditPost(models.Model):
    """One post, stored once by its fullname; a later listing updates its engagement (score, comments).

    ``sentiment_compound`` is VADER's compound score of the title and text, in [-1, 1] (4 places);
    ``sentiment_label`` its class by VADER's authors' cut-offs (+-0.05); ``coins`` the canonical symbols it
    mentions, comma-separated; ``created_at`` aware UTC."""

    reddit_id = models.CharField(max_length=20, unique=True)
    subreddit = models.CharField(max_length=50)
    title = models.CharField(max_length=500)
    selftext = models.TextField(blank=True)
    author = models.CharField(max_length=50, blank=True)
    score = models.IntegerField()
    num_comments = models.PositiveIntegerField()
    upvote_ratio = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField()
    permalink = models.CharField(max_length=500)
    url = models.URLField(max_length=1000, blank=True)
    coins = models.CharField(max_length=300, blank=True)
    sentiment_compound = models.DecimalField(max_digits=5, decimal_places=4)
    sentiment_label = models.CharField(max_length=10, choices=SentimentLabel.choices)
    observed_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["subreddit", "-created_at"], name="reddit_post_sub_created"),
            models.Index(fields=["-created_at"], name="reddit_post_created"),
        ]

    def __str__(self) -> str:
        return self.title[:80]
