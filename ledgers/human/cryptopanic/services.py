"""Writes of the CryptoPanic collector: one page of public news -> NewsPost rows with coins and VADER sentiment,
and each post's mood about its coins in ``whales.context`` (as Reddit's posts)."""

from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledgers.exchange.market.mentions import CoinMatcher, coin_matcher
from ledgers.human.cryptopanic.activity import PostsFormatError, posts_parse
from ledgers.human.cryptopanic.client import CryptoPanicClient, CryptoPanicError, CryptoPanicUnavailable
from ledgers.human.cryptopanic.models import NewsPost
from ledgers.human.cryptopanic.types import NewsItem
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from ledgers.sentiment import engagement_weight, vader_sentiment
from whales.context import MoodItem, moods_upsert
from whales.errors import InvalidParameter
from whales.models import RunStatus

COLLECTOR_NAME = "cryptopanic"
WEIGHT_QUANTUM = Decimal("0.0001")


def coins_of(item: NewsItem, matcher: CoinMatcher) -> list[str]:
    """The item's coins: the codes CryptoPanic tagged that are known assets (as their canonical symbol); with none,
    those its title and description name (``ledgers.exchange.market.mentions``)."""
    tagged = list(dict.fromkeys(matcher.symbols[code] for code in item.currencies if code in matcher.symbols))
    return tagged or matcher.mentions(f"{item.title}\n{item.description}")


def news_store(*, items: list[NewsItem], matcher: CoinMatcher) -> int:
    """Store ``items`` (the first of those sharing an id) with coins and VADER sentiment of title + description;
    update the votes of those already stored; write each post's mood about each coin (weighted by its votes).
    Returns how many were new. One transaction."""
    wanted = {item.cryptopanic_id: item for item in reversed(items)}
    if not wanted:
        return 0
    with transaction.atomic():
        stored = {row.cryptopanic_id: row for row in NewsPost.objects.filter(cryptopanic_id__in=list(wanted))}
        new, changed = [], []
        now = timezone.now()
        for item_id, item in wanted.items():
            votes = (item.votes_positive, item.votes_negative, item.votes_important, item.comments)
            if item_id in stored:
                row = stored[item_id]
                if (row.votes_positive, row.votes_negative, row.votes_important, row.comments) != votes:
                    (row.votes_positive, row.votes_negative, row.votes_important, row.comments) = votes
                    row.updated_at = now
                    changed.append(row)
                continue
            compound, label = vader_sentiment(f"{item.title}\n{item.description}")
            new.append(NewsPost(
                cryptopanic_id=item_id, title=item.title, description=item.description, kind=item.kind,
                source_domain=item.source_domain, url=item.url, coins=",".join(coins_of(item, matcher))[:300],
                votes_positive=item.votes_positive, votes_negative=item.votes_negative,
                votes_important=item.votes_important, comments=item.comments, published_at=item.published_at,
                sentiment_compound=compound, sentiment_label=label))
        NewsPost.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        NewsPost.objects.bulk_update(changed, ["votes_positive", "votes_negative", "votes_important", "comments",
                                               "updated_at"], batch_size=500)
        rows = NewsPost.objects.filter(cryptopanic_id__in=list(wanted)).exclude(coins="").values_list(
            "cryptopanic_id", "coins", "published_at", "sentiment_compound", "votes_positive", "votes_negative",
            "votes_important", "comments")
        moods_upsert(source=COLLECTOR_NAME, items=[MoodItem(
            source_ref=str(item_id), coins=coins.split(","), occurred_at=published_at, compound=compound,
            weight=Decimal(repr(engagement_weight(*counts))).quantize(WEIGHT_QUANTUM))
            for item_id, coins, published_at, compound, *counts in rows])
    return len(new)


def cryptopanic_collect(*, api_url: str | None = None) -> CollectorResult:
    """Registry entry point: one page of public posts of CRYPTOPANIC_KIND (CRYPTOPANIC_CURRENCIES when set),
    logged in the run log. Status ok, partial (malformed items skipped) or failed (CryptoPanicError);
    CryptoPanicUnavailable ends it with ``failure`` set (the task retries). ``extra``: malformed.
    Raises: InvalidParameter when CRYPTOPANIC_API_KEY is empty (nothing ran: CryptoPanic is off)."""
    if not settings.CRYPTOPANIC_API_KEY:
        raise InvalidParameter("CryptoPanic is off: set CRYPTOPANIC_API_KEY (and enable its beat row in the admin)")
    run = collector_run_start(collector=COLLECTOR_NAME)
    client = CryptoPanicClient.from_settings(api_url)
    seen = written = malformed = 0
    error, status = "", RunStatus.OK
    failure: BaseException | None = None
    try:
        items, malformed = posts_parse(client.posts(kind=settings.CRYPTOPANIC_KIND,
                                                    currencies=settings.CRYPTOPANIC_CURRENCIES))
        seen = len(items)
        written = news_store(items=items, matcher=coin_matcher())
        if malformed:
            status, error = RunStatus.PARTIAL, f"{malformed} malformed items skipped"
    except CryptoPanicUnavailable as exc:
        failure, status, error = exc, RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
    except (CryptoPanicError, PostsFormatError) as exc:
        status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    run.items_seen, run.items_written = seen, written
    collector_run_finish(run=run, status=status, error=error, details={"malformed": malformed})
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=seen, items_written=written,
                           error=error, extra={"malformed": malformed}, failure=failure)
