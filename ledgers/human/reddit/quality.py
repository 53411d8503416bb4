"""The Reddit data-quality check (``ledgers.quality``): each post's sentiment is a VADER compound in [-1, 1]
with the label its thresholds give."""

from django.db.models import Count, Q

from ledgers.human.reddit.activity import BEARISH_AT, BULLISH_AT
from ledgers.human.reddit.models import RedditPost, SentimentLabel
from ledgers.models import QualitySeverity
from ledgers.quality import EXAMPLES, CheckOutcome, QualityCheck, quality_check_register
from ledgers.registry import Ledger

# The label a compound must carry (``ledgers.human.reddit.activity.sentiment``), or a compound out of range.
WRONG = (Q(sentiment_compound__gt=1) | Q(sentiment_compound__lt=-1)
         | (Q(sentiment_compound__gte=BULLISH_AT) & ~Q(sentiment_label=SentimentLabel.BULLISH))
         | (Q(sentiment_compound__lte=BEARISH_AT) & ~Q(sentiment_label=SentimentLabel.BEARISH))
         | (Q(sentiment_compound__gt=BEARISH_AT, sentiment_compound__lt=BULLISH_AT)
            & ~Q(sentiment_label=SentimentLabel.NEUTRAL)))


def check_post_sentiment() -> CheckOutcome:
    """Posts whose compound is outside [-1, 1] or whose label disagrees with it (bullish >= 0.05, bearish
    <= -0.05, neutral between). One scan of the posts."""
    counts = RedditPost.objects.aggregate(checked=Count("id"), failed=Count("id", filter=WRONG))
    examples = ([str(r) for r in RedditPost.objects.filter(WRONG).order_by("id")
                 .values_list("reddit_id", flat=True)[:EXAMPLES]] if counts["failed"] else [])
    return CheckOutcome(counts["checked"], counts["failed"], examples)


def register() -> None:
    """Register ``check_post_sentiment``."""
    quality_check_register(QualityCheck(
        "reddit_post_sentiment", Ledger.HUMAN, QualitySeverity.MEDIUM,
        "Reddit posts whose sentiment is out of range or mislabelled",
        "Collect those posts again (manage.py collect reddit) to re-score them; the examples are post ids.",
        check_post_sentiment))
