"""Sentiment of social posts and news, shared by the human ledger's sources (Reddit, CryptoPanic).

``vader_sentiment`` scores text with VADER (vaderSentiment, Hutto & Gilbert 2014): the compound score in [-1, 1]
rounded half-even to 4 places, and its label by the cut-offs VADER's authors recommend: bullish at >= 0.05,
bearish at <= -0.05, neutral between.

``engagement_weight`` is how much a post counts in an average: ``1 + ln(1 + sum of its non-negative engagement
counts)`` (Reddit: score and comments; CryptoPanic: votes), so a post with 1,000 upvotes counts about 8 times one
with none, not 1,000 times.
"""

import math
from decimal import ROUND_HALF_EVEN, Decimal

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

BULLISH_AT = Decimal("0.05")
BEARISH_AT = Decimal("-0.05")
COMPOUND_QUANTUM = Decimal("0.0001")
BULLISH, BEARISH, NEUTRAL = "bullish", "bearish", "neutral"

_ANALYZER: SentimentIntensityAnalyzer | None = None


def sentiment_label(compound: Decimal) -> str:
    """"bullish", "bearish" or "neutral" for a compound score (module docstring's cut-offs)."""
    if compound >= BULLISH_AT:
        return BULLISH
    if compound <= BEARISH_AT:
        return BEARISH
    return NEUTRAL


def vader_sentiment(text: str) -> tuple[Decimal, str]:
    """(VADER compound of ``text``, 4 places half-even; its label). The lexicon is loaded once per process."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    compound = Decimal(repr(_ANALYZER.polarity_scores(text)["compound"])).quantize(COMPOUND_QUANTUM, ROUND_HALF_EVEN)
    return compound, sentiment_label(compound)


def engagement_weight(*counts: int) -> float:
    """The module docstring's weight (a float: it weighs an average, it is never money)."""
    return 1 + math.log1p(sum(max(count, 0) for count in counts))
