"""What the CryptoPanic client reads: one news item of the posts endpoint."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class NewsItem:
    """One post of ``/posts/``: ``cryptopanic_id`` its id; ``title`` (and ``description`` when the plan gives it);
    ``kind`` (news, media); ``source_domain``; ``url`` its CryptoPanic page (or the original link); ``currencies``
    the codes CryptoPanic tagged (``currencies`` in API v1, ``instruments`` in v2); the vote counts (0 when the
    plan gives none); ``published_at`` aware UTC."""

    cryptopanic_id: int
    title: str
    description: str
    kind: str
    source_domain: str
    url: str
    currencies: tuple[str, ...]
    votes_positive: int
    votes_negative: int
    votes_important: int
    comments: int
    published_at: datetime
