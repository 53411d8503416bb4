"""What the announcement feed client and parser return: plain records, no ORM."""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One entry of an RSS or Atom feed: ``guid`` its id (the link when the feed gives none), ``title`` and
    ``summary`` as plain text (HTML removed), ``url`` its link, ``published_at`` aware UTC (published, else
    updated)."""

    guid: str
    title: str
    summary: str
    url: str
    published_at: datetime
