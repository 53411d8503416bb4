"""Writes of the ``announcements`` collector: each active feed's entries, classified, scored, stored once.

Idempotent: an announcement is unique per (feed, guid) and inserted with ``ignore_conflicts``. Network I/O
happens outside transactions; each feed's entries are stored in one transaction.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledgers.catalyst.announcements.activity import IMPACT, FeedFormatError, classify, feed_items
from ledgers.catalyst.announcements.client import FeedClient, FeedError, FeedUnavailable
from ledgers.catalyst.announcements.models import Announcement, AnnouncementFeed
from ledgers.catalyst.announcements.types import FeedItem
from ledgers.exchange.market.mentions import CoinMatcher, coin_matcher
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.context import CatalystItem, catalysts_upsert
from whales.errors import InvalidParameter
from whales.models import RunStatus

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "announcements"


def announcements_store(*, feed: AnnouncementFeed, items: list[FeedItem], matcher: CoinMatcher) -> int:
    """Classify, score and store ``items`` of ``feed`` (the first of items sharing a guid); return how many were
    new (one transaction)."""
    rows = []
    guids: set[str] = set()
    for item in items:
        if item.guid in guids:  # a feed may list one item twice (EDGAR: once per party of a filing)
            continue
        guids.add(item.guid)
        kind = classify(item.title, item.summary)
        rows.append(Announcement(
            feed=feed, guid=item.guid, title=item.title, summary=item.summary, url=item.url,
            published_at=item.published_at, kind=kind, impact_score=IMPACT[kind],
            coins=",".join(matcher.mentions(f"{item.title}\n{item.summary}"))[:300]))
    with transaction.atomic():
        stored = set(Announcement.objects.filter(feed=feed, guid__in=[r.guid for r in rows])
                     .values_list("guid", flat=True))
        new = [row for row in rows if row.guid not in stored]
        Announcement.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        AnnouncementFeed.objects.filter(pk=feed.pk).update(last_collected_at=timezone.now())
        catalysts_upsert(source=COLLECTOR_NAME, items=[CatalystItem(
            source_ref=f"{feed.name}:{row.guid}"[:200], type=row.kind, title=f"{feed.exchange}: {row.title}",
            url=row.url, occurred_at=row.published_at, impact_score=row.impact_score,
            coins=[c for c in row.coins.split(",") if c], details={"feed": feed.name, "exchange": feed.exchange})
            for row in rows])
    return len(new)


def announcements_collect(*, feed: str | None = None) -> CollectorResult:
    """Registry entry point: every active feed (or only the one named ``feed``), logged in the run log.

    Status: ok when every feed was read; partial when some failed (each failure is in ``error``); failed when
    none could be read, with ``failure`` the last FeedUnavailable, if any (the task retries). ``extra``: feeds,
    feeds_failed, and the new announcements per kind. Raises: InvalidParameter for an unknown feed name.
    """
    feeds = list(AnnouncementFeed.objects.filter(is_active=True).order_by("id"))
    if feed is not None:
        feeds = list(AnnouncementFeed.objects.filter(name=feed))
        if not feeds:
            raise InvalidParameter(f"no announcement feed named {feed!r}; add it in the admin first")
    run = collector_run_start(collector=COLLECTOR_NAME)
    client = FeedClient(timeout_s=settings.ANNOUNCEMENTS_TIMEOUT_S)
    matcher = coin_matcher()
    seen = written = 0
    errors: list[str] = []
    failure: BaseException | None = None
    try:
        for target in feeds:
            try:
                items = feed_items(client.fetch(target.url))
            except (FeedUnavailable, FeedError, FeedFormatError) as exc:
                errors.append(f"{target.name}: {type(exc).__name__}: {exc}")
                if isinstance(exc, FeedUnavailable):
                    failure = exc
                logger.warning("announcements.feed.failed", extra={"feed": target.name, "error": str(exc)[:200]})
                continue
            seen += len(items)
            written += announcements_store(feed=target, items=items, matcher=matcher)
    finally:
        client.close()
    if feeds and len(errors) == len(feeds):
        status = RunStatus.FAILED
    else:
        status = RunStatus.PARTIAL if errors else RunStatus.OK
        failure = None
    error = "; ".join(errors)
    extra = {"feeds": len(feeds), "feeds_failed": len(errors)}
    run.items_seen, run.items_written = seen, written
    collector_run_finish(run=run, status=status, error=error, details=extra)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=seen, items_written=written,
                           error=error, extra=extra, failure=failure)
