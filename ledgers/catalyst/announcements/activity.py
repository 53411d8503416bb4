"""Pure parsing and classification of exchange announcements: no I/O, no ORM.

``feed_items`` reads RSS 2.0 or Atom with feedparser. ``classify`` puts an announcement into the source
system's types by the first rule its title (then its summary) meets, in this order:
1. trading update: delisting, a trading pair, halt or suspension of trading, margin, leverage, futures or
   perpetuals, fees, tick or order size, a migration, redenomination or rebrand;
2. maintenance: maintenance, downtime, an outage or incident, degraded service, deposits or withdrawals
   suspended or delayed, a network upgrade or hard fork;
3. listing: lists/listed/listing, "now available" or "available for trading", "adds support for", "launches
   trading";
4. otherwise feature (product news).
``IMPACT`` scores each kind from 0 to 100 (a new listing moves a coin most; a feature rarely).
"""

import calendar
import re
from datetime import UTC, datetime

import feedparser  # type: ignore[import-untyped]
from django.utils.html import strip_tags

from ledgers.catalyst.announcements.models import AnnouncementKind
from ledgers.catalyst.announcements.types import FeedItem

IMPACT: dict[str, int] = {
    AnnouncementKind.LISTING: 70,
    AnnouncementKind.TRADING_UPDATE: 60,
    AnnouncementKind.MAINTENANCE: 30,
    AnnouncementKind.FEATURE: 10,
}
HIGH_IMPACT = 60
"""An announcement scoring at least this is high-impact (the live feed shows those)."""

_RULES: list[tuple[str, re.Pattern[str]]] = [
    (AnnouncementKind.TRADING_UPDATE, re.compile(
        r"\b(delist\w*|trading pairs?|(halt|suspend)\w* (of )?trading|trading (halt|suspension|rules)|margin|"
        r"leverage|futures|perpetuals?|perps?|fee schedule|fees?|tick size|(minimum|maximum) order|"
        r"migrat\w*|redenominat\w*|rebrand\w*)\b", re.IGNORECASE)),
    (AnnouncementKind.MAINTENANCE, re.compile(
        r"\b(maintenance|downtime|outages?|incidents?|degraded|(deposits?|withdrawals?)( and (deposits?|"
        r"withdrawals?))? (are |will be |is )?(suspended|paused|delayed|disabled)|(suspend\w*|paus\w*) "
        r"(deposits?|withdrawals?)|network upgrade|hard ?fork)\b", re.IGNORECASE)),
    (AnnouncementKind.LISTING, re.compile(
        r"\b(lists|listed|listings?|will list|now (available|live)|available (for|to) trad\w*|adds? support for|"
        r"launch\w* trading)\b", re.IGNORECASE)),
]
MAX_TEXT = 5000


class FeedFormatError(ValueError):
    """The body is not an RSS or Atom feed, or an entry lacks its title or time."""


def classify(title: str, summary: str = "") -> str:
    """The ``AnnouncementKind`` of an announcement (module docstring: the rules and their order); the title
    decides when it meets a rule, the summary only when the title meets none."""
    for text in (title, summary):
        for kind, pattern in _RULES:
            if pattern.search(text):
                return kind
    return AnnouncementKind.FEATURE


def feed_items(body: bytes) -> list[FeedItem]:
    """The entries of an RSS 2.0 or Atom feed, in its order. Text is stripped of HTML and cut to MAX_TEXT
    characters. Raises: FeedFormatError when the body is not a feed, or an entry has no title or no time."""
    parsed = feedparser.parse(body)
    version = str(parsed.get("version") or "")
    if not (version.startswith("rss") or version.startswith("atom")):
        raise FeedFormatError(f"not an RSS or Atom feed ({parsed.get('bozo_exception') or 'unknown format'!s:.120})")
    items = []
    for entry in parsed.entries:
        title = " ".join(strip_tags(str(entry.get("title") or "")).split())[:500]
        when = entry.get("published_parsed") or entry.get("updated_parsed")
        if not title or when is None:
            raise FeedFormatError(f"entry {entry.get('id') or entry.get('link') or title!r} has no title or time")
        link = str(entry.get("link") or "")[:1000]
        guid = str(entry.get("id") or link or title)[:500]
        items.append(FeedItem(
            guid=guid, title=title, url=link if link.startswith(("http://", "https://")) else "",
            summary=" ".join(strip_tags(str(entry.get("summary") or "")).split())[:MAX_TEXT],
            published_at=datetime.fromtimestamp(calendar.timegm(when), tz=UTC),
        ))
    return items
