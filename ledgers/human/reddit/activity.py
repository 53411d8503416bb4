"""Pure parsing and scoring of Reddit listings: no I/O, no ORM.

``listing_posts`` reads a listing (``{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {...}}]}}``)
in both schemas the recordings hold: 2026's (``upvote_ratio``, awards, ...) and 2016's, which lacks some fields;
a missing optional field becomes its default, a missing required one (``name``/``id``, ``title``,
``created_utc``) makes the post malformed.

``sentiment`` scores text with VADER (vaderSentiment, Hutto & Gilbert 2014): the compound score in [-1, 1], and
the label by the cut-offs its authors recommend: bullish at >= 0.05, bearish at <= -0.05, neutral between.

``engagement_weight`` is how much a post counts in an average: ``1 + ln(1 + max(score, 0) + num_comments)``, so a
post with 1,000 upvotes counts about 8 times one with none, not 1,000 times.
"""

import math
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

from ledgers.human.reddit.models import SentimentLabel
from ledgers.human.reddit.types import Post

BULLISH_AT = Decimal("0.05")
BEARISH_AT = Decimal("-0.05")
COMPOUND_QUANTUM = Decimal("0.0001")
MAX_TEXT = 10_000
_ANALYZER: SentimentIntensityAnalyzer | None = None


class ListingFormatError(ValueError):
    """The body is not a Reddit listing."""


def sentiment(text: str) -> tuple[Decimal, str]:
    """(VADER compound of ``text`` rounded half-even to 4 places, its SentimentLabel). The analyser's lexicon is
    loaded once per process."""
    global _ANALYZER
    if _ANALYZER is None:
        _ANALYZER = SentimentIntensityAnalyzer()
    compound = Decimal(repr(_ANALYZER.polarity_scores(text)["compound"])).quantize(COMPOUND_QUANTUM, ROUND_HALF_EVEN)
    if compound >= BULLISH_AT:
        return compound, SentimentLabel.BULLISH
    if compound <= BEARISH_AT:
        return compound, SentimentLabel.BEARISH
    return compound, SentimentLabel.NEUTRAL


def engagement_weight(score: int, num_comments: int) -> float:
    """The module docstring's weight (a float: it weighs an average, it is never money)."""
    return 1 + math.log1p(max(score, 0) + max(num_comments, 0))


def _post(raw: dict[str, Any]) -> Post:
    reddit_id = str(raw.get("name") or (f"t3_{raw['id']}" if raw.get("id") else ""))
    title = str(raw.get("title") or "").strip()
    created = raw.get("created_utc")
    if not reddit_id or not title or not isinstance(created, (int, float)):
        raise ListingFormatError(f"post {reddit_id or '?'} lacks its id, title or created_utc")
    ratio = raw.get("upvote_ratio")
    return Post(
        reddit_id=reddit_id[:20], subreddit=str(raw.get("subreddit") or "")[:50], title=title[:500],
        selftext=str(raw.get("selftext") or "")[:MAX_TEXT], author=str(raw.get("author") or "")[:50],
        score=int(raw.get("score") or 0), num_comments=max(int(raw.get("num_comments") or 0), 0),
        upvote_ratio=Decimal(repr(ratio)).quantize(COMPOUND_QUANTUM) if isinstance(ratio, (int, float)) else None,
        created_at=datetime.fromtimestamp(created, tz=UTC), permalink=str(raw.get("permalink") or "")[:500],
        url=str(raw.get("url") or "")[:1000] if str(raw.get("url") or "").startswith(("http://", "https://")) else "",
        over_18=bool(raw.get("over_18")),
    )


def listing_posts(body: Any) -> tuple[list[Post], int]:
    """The posts of a listing, in its order, and how many children were malformed (skipped).
    Raises: ListingFormatError when ``body`` is not a listing."""
    if not isinstance(body, dict) or body.get("kind") != "Listing" or not isinstance(body.get("data"), dict):
        raise ListingFormatError("not a Reddit listing")
    posts, malformed = [], 0
    for child in body["data"].get("children") or []:
        if not isinstance(child, dict) or child.get("kind") != "t3" or not isinstance(child.get("data"), dict):
            malformed += 1
            continue
        try:
            posts.append(_post(child["data"]))
        except (ListingFormatError, TypeError, ValueError):
            malformed += 1
    return posts, malformed
