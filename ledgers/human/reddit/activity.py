"""Pure parsing and scoring of Reddit listings: no I/O, no ORM.

``listing_posts`` reads a listing (``{"kind": "Listing", "data": {"children": [{"kind": "t3", "data": {...}}]}}``)
in both schemas the recordings hold: 2026's (``upvote_ratio``, awards, ...) and 2016's, which lacks some fields;
a missing optional field becomes its default, a missing required one (``name``/``id``, ``title``,
``created_utc``) makes the post malformed.

``sentiment`` and ``engagement_weight`` are the human ledger's shared ones (``ledgers.sentiment``): VADER's compound
in [-1, 1] with its label, and ``1 + ln(1 + max(score, 0) + num_comments)``.
"""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ledgers.human.reddit.types import Post
from ledgers.sentiment import BEARISH_AT, BULLISH_AT, COMPOUND_QUANTUM, vader_sentiment
from ledgers.sentiment import engagement_weight as weight_of

__all__ = ["BEARISH_AT", "BULLISH_AT", "ListingFormatError", "engagement_weight", "listing_posts", "sentiment"]

MAX_TEXT = 10_000


class ListingFormatError(ValueError):
    """The body is not a Reddit listing."""


def sentiment(text: str) -> tuple[Decimal, str]:
    """(VADER compound of ``text`` rounded half-even to 4 places, its SentimentLabel): ``ledgers.sentiment``."""
    return vader_sentiment(text)


def engagement_weight(score: int, num_comments: int) -> float:
    """The weight of a post with ``score`` and ``num_comments`` (``ledgers.sentiment.engagement_weight``)."""
    return weight_of(score, num_comments)


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
