"""Pure parsing of CryptoPanic's posts answer: no I/O, no ORM.

``{"count", "next", "previous", "results": [item, ...]}``. An item has ``id``, ``title``, ``published_at`` (required),
and, as the plan allows, ``description``, ``kind``, ``domain`` or ``source.domain``, ``url`` or ``original_url``,
the tagged coins (API v1: ``currencies: [{"code", "title", "slug"}]``; v2: ``instruments``), and ``votes``
(``positive``, ``negative``, ``important``, ``comments``). A missing optional field becomes its default; an item
missing a required one is malformed and skipped (counted).
"""

from datetime import UTC, datetime
from typing import Any

from ledgers.human.cryptopanic.types import NewsItem

MAX_TEXT = 5_000


class PostsFormatError(ValueError):
    """The body is not a CryptoPanic posts answer."""


def _count(votes: Any, name: str) -> int:
    value = votes.get(name) if isinstance(votes, dict) else None
    return max(int(value), 0) if isinstance(value, int) and not isinstance(value, bool) else 0


def _item(raw: dict[str, Any]) -> NewsItem:
    item_id, title, published = raw.get("id"), str(raw.get("title") or "").strip(), raw.get("published_at")
    if not isinstance(item_id, int) or isinstance(item_id, bool) or not title or not isinstance(published, str):
        raise PostsFormatError(f"item {item_id!r} lacks its id, title or published_at")
    when = datetime.fromisoformat(published.replace("Z", "+00:00"))
    if when.tzinfo is None:
        raise PostsFormatError(f"item {item_id}: published_at has no time zone")
    tagged = raw.get("currencies") or raw.get("instruments") or []
    codes = tuple(dict.fromkeys(str(c["code"]) for c in tagged if isinstance(c, dict) and isinstance(c.get("code"), str)
                                and c["code"]))
    source: dict[str, Any] = raw["source"] if isinstance(raw.get("source"), dict) else {}
    url = str(raw.get("url") or raw.get("original_url") or "")
    votes = raw.get("votes")
    return NewsItem(
        cryptopanic_id=item_id, title=title[:500], description=str(raw.get("description") or "")[:MAX_TEXT],
        kind=str(raw.get("kind") or "news")[:20],
        source_domain=str(raw.get("domain") or source.get("domain") or "")[:200],
        url=url[:1000] if url.startswith(("http://", "https://")) else "", currencies=codes,
        votes_positive=_count(votes, "positive"), votes_negative=_count(votes, "negative"),
        votes_important=_count(votes, "important"), comments=_count(votes, "comments"),
        published_at=when.astimezone(UTC))


def posts_parse(body: Any) -> tuple[list[NewsItem], int]:
    """The items of a posts answer, in its order, and how many were malformed (skipped).
    Raises: PostsFormatError when ``body`` is not a posts answer."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise PostsFormatError("not a CryptoPanic posts answer (no results list)")
    items, malformed = [], 0
    for raw in body["results"]:
        try:
            items.append(_item(raw))
        except (PostsFormatError, TypeError, ValueError, KeyError):
            malformed += 1
    return items, malformed
