"""What the Reddit client and parser return: plain records, no ORM."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class Post:
    """One post (a ``t3`` thing) of a listing. ``reddit_id`` its fullname (``t3_1skbyfv``); ``created_at`` aware
    UTC; ``upvote_ratio`` None where the listing has no such field (the 2016 schema); text fields as Reddit sent
    them with ``raw_json=1`` (no HTML entities)."""

    reddit_id: str
    subreddit: str
    title: str
    selftext: str
    author: str
    score: int
    num_comments: int
    upvote_ratio: Decimal | None
    created_at: datetime
    permalink: str
    url: str
    over_18: bool
