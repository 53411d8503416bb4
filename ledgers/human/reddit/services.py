"""Writes of the ``reddit`` collector: each followed subreddit's listings, scored and stored once per post.

Idempotent: a post is unique by its fullname; seen again, only its engagement (score, comments, upvote ratio)
is updated. Network I/O happens outside transactions; each listing's posts are stored in one transaction.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledgers.exchange.market.mentions import CoinMatcher, coin_matcher
from ledgers.human.reddit.activity import ListingFormatError, engagement_weight, listing_posts, sentiment
from ledgers.human.reddit.client import RedditError, RedditUnavailable, reddit_client
from ledgers.human.reddit.models import RedditPost, Subreddit
from ledgers.human.reddit.types import Post
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.context import MoodItem, moods_upsert
from whales.errors import InvalidParameter
from whales.models import RunStatus

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "reddit"
WEIGHT_QUANTUM = Decimal("0.0001")


@dataclass(frozen=True)
class ListingProgress:
    """After each listing: which, how many of the run's listings are done, its outcome."""

    listing: str
    done: int
    total: int
    status: str

    def __str__(self) -> str:
        return f"{self.listing} ({self.done}/{self.total}): {self.status}"


def posts_store(*, posts: list[Post], matcher: CoinMatcher) -> int:
    """Store ``posts`` (the first of posts sharing an id), with VADER sentiment and coins of title + text; update
    the engagement of those already stored; write each post's mood about each of its coins to ``whales.context``
    (weighted by engagement). Returns how many posts were new. One transaction."""
    wanted: dict[str, Post] = {}
    for post in posts:
        wanted.setdefault(post.reddit_id, post)
    if not wanted:
        return 0
    with transaction.atomic():
        stored = {row.reddit_id: row for row in RedditPost.objects.filter(reddit_id__in=list(wanted))}
        new, changed = [], []
        now = timezone.now()
        for reddit_id, post in wanted.items():
            text = f"{post.title}\n{post.selftext}"
            if reddit_id in stored:
                row = stored[reddit_id]
                if (row.score, row.num_comments, row.upvote_ratio) != (post.score, post.num_comments,
                                                                       post.upvote_ratio):
                    row.score, row.num_comments, row.upvote_ratio, row.updated_at = (
                        post.score, post.num_comments, post.upvote_ratio, now)
                    changed.append(row)
                continue
            compound, label = sentiment(text)
            new.append(RedditPost(
                reddit_id=reddit_id, subreddit=post.subreddit, title=post.title, selftext=post.selftext,
                author=post.author, score=post.score, num_comments=post.num_comments, upvote_ratio=post.upvote_ratio,
                created_at=post.created_at, permalink=post.permalink, url=post.url,
                coins=",".join(matcher.mentions(text))[:300], sentiment_compound=compound, sentiment_label=label))
        RedditPost.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        RedditPost.objects.bulk_update(changed, ["score", "num_comments", "upvote_ratio", "updated_at"], batch_size=500)
        rows = RedditPost.objects.filter(reddit_id__in=list(wanted)).exclude(coins="").values_list(
            "reddit_id", "coins", "created_at", "sentiment_compound", "score", "num_comments")
        moods_upsert(source=COLLECTOR_NAME, items=[MoodItem(
            source_ref=reddit_id, coins=coins.split(","), occurred_at=created_at, compound=compound,
            weight=Decimal(repr(engagement_weight(score, comments))).quantize(WEIGHT_QUANTUM))
            for reddit_id, coins, created_at, compound, score, comments in rows])
    return len(new)


def reddit_collect(*, subreddit: str | None = None, api_url: str | None = None,
                   progress: Callable[[ListingProgress], None] | None = None) -> CollectorResult:
    """Registry entry point: the listings of every active subreddit (or only ``subreddit``), REDDIT_LISTING_LIMIT
    posts each, logged in the run log.

    Status: ok when every listing was read; partial when some failed (RedditError, malformed posts); failed
    when none could be read. A RedditUnavailable stops the run (``failure`` set: the task retries).
    ``extra``: listings, listings_failed, malformed posts. Raises: InvalidParameter for a subreddit not
    followed (nothing ran)."""
    targets = list(Subreddit.objects.filter(is_active=True).order_by("id"))
    if subreddit is not None:
        targets = list(Subreddit.objects.filter(name__iexact=subreddit))
        if not targets:
            raise InvalidParameter(f"r/{subreddit} is not a subreddit WhaleTrack follows; add it in the admin first")
    listings = [(sub, kind) for sub in targets for kind in sub.listings.split(",") if kind]
    run = collector_run_start(collector=COLLECTOR_NAME)
    client = reddit_client(api_url)
    matcher = coin_matcher()
    seen = written = malformed = failed = 0
    errors: list[str] = []
    failure: BaseException | None = None
    try:
        for done, (sub, kind) in enumerate(listings, start=1):
            name = f"r/{sub.name}/{kind}"
            try:
                posts, bad = listing_posts(client.listing(sub.name, kind, limit=settings.REDDIT_LISTING_LIMIT))
            except RedditUnavailable as exc:
                failure = exc
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                break
            except (RedditError, ListingFormatError) as exc:
                failed += 1
                errors.append(f"{name}: {type(exc).__name__}: {exc}")
                status = f"error: {exc}"
            else:
                new = posts_store(posts=posts, matcher=matcher)
                seen, written, malformed = seen + len(posts), written + new, malformed + bad
                Subreddit.objects.filter(pk=sub.pk).update(last_collected_at=timezone.now())
                status = f"ok, {len(posts)} posts, {new} new" + (f", {bad} malformed" if bad else "")
            if progress is not None:
                progress(ListingProgress(listing=name, done=done, total=len(listings), status=status))
    finally:
        client.close()
    read = len(listings) - failed - (1 if failure is not None else 0)
    if listings and read <= 0:
        status_value = RunStatus.FAILED
    elif errors or malformed:
        status_value = RunStatus.PARTIAL
    else:
        status_value = RunStatus.OK
    error = "; ".join(errors)
    extra = {"listings": len(listings), "listings_failed": failed, "malformed_posts": malformed}
    run.items_seen, run.items_written = seen, written
    collector_run_finish(run=run, status=status_value, error=error, details=extra)
    return CollectorResult(collector=COLLECTOR_NAME, status=status_value, items_seen=seen, items_written=written,
                           error=error, extra=extra, failure=failure)
