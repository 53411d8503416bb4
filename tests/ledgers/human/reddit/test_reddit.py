"""Reddit (human ledger) on the recorded listings (reddit-praw-cassettes: r/popular of 2026, r/AskReddit of 2016,
two schemas), served by the replay node. Sentiment is checked against VADER called here; counts against the raw
files."""

import json
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from ledgers.exchange.market.mentions import coin_matcher
from ledgers.human.reddit.activity import engagement_weight, listing_posts
from ledgers.human.reddit.models import RedditPost, Subreddit
from ledgers.human.reddit.services import reddit_collect
from ledgers.models import CollectorRun
from whales.models import RunStatus

DATA = Path(settings.REPLAY_DATA_DIR) / "reddit-praw-cassettes"
POPULAR = DATA / "r_popular_hot_limit100_2026-04-13.json"
ASK_HOT = DATA / "r_askreddit_hot_limit100_2016-03-01.json"
ASK_NEW = DATA / "r_askreddit_new_limit100_2016-03-01.json"


def raw_posts(path: Path) -> list[dict]:
    return [child["data"] for child in json.loads(path.read_text())["data"]["children"] if child["kind"] == "t3"]


@pytest.mark.parametrize("path", [POPULAR, ASK_HOT, ASK_NEW], ids=lambda p: p.stem)
def test_both_schemas_parse_post_for_post(path):
    raw = raw_posts(path)
    posts, malformed = listing_posts(json.loads(path.read_text()))
    assert malformed == 0
    assert [p.reddit_id for p in posts] == [r["name"] for r in raw]
    assert [(p.title, p.score, p.num_comments, p.permalink) for p in posts] == [
        (r["title"].strip()[:500], r["score"], r["num_comments"], r["permalink"]) for r in raw]
    assert [int(p.created_at.timestamp()) for p in posts] == [int(r["created_utc"]) for r in raw]
    if path == POPULAR:
        assert [p.upvote_ratio for p in posts] == [Decimal(repr(r["upvote_ratio"])) for r in raw]
    else:  # the 2016 schema has no upvote_ratio
        assert "upvote_ratio" not in raw[0] and all(p.upvote_ratio is None for p in posts)


def test_a_listing_that_is_not_one_is_refused():
    with pytest.raises(ValueError, match="not a Reddit listing"):
        listing_posts({"kind": "t3"})


def test_engagement_weight_is_logarithmic():
    assert engagement_weight(0, 0) == 1.0
    assert engagement_weight(-50, 0) == 1.0  # a downvoted post weighs like an unseen one
    assert round(engagement_weight(999, 0), 6) == round(1 + 6.907755278982137, 6)


@pytest.fixture
def followed(db, settings, replay):
    settings.REDDIT_URL = replay.reddit_url
    settings.REDDIT_API_BUDGET = "1000000/minute"
    Subreddit.objects.update(is_active=False)  # the seeded crypto subreddits are not recorded
    Subreddit.objects.create(name="popular", listings="hot")
    Subreddit.objects.create(name="AskReddit", listings="hot,new")


def test_collect_stores_every_recorded_post_once_with_vader_sentiment(followed):
    result = reddit_collect()
    assert result.status == RunStatus.OK, result.error
    raw = {r["name"]: r for path in (POPULAR, ASK_HOT, ASK_NEW) for r in raw_posts(path)}
    assert result.items_seen == len(raw_posts(POPULAR)) + len(raw_posts(ASK_HOT)) + len(raw_posts(ASK_NEW))
    assert result.items_written == RedditPost.objects.count() == len(raw)
    analyzer = SentimentIntensityAnalyzer()
    for post in RedditPost.objects.all():
        source = raw[post.reddit_id]
        compound = Decimal(repr(analyzer.polarity_scores(
            f"{source['title'].strip()}\n{source.get('selftext') or ''}")["compound"])).quantize(
            Decimal("0.0001"), ROUND_HALF_EVEN)
        assert post.sentiment_compound == compound, post.reddit_id
        expected = ("bullish" if compound >= Decimal("0.05") else
                    "bearish" if compound <= Decimal("-0.05") else "neutral")
        assert post.sentiment_label == expected
    labels = set(RedditPost.objects.values_list("sentiment_label", flat=True))
    assert labels == {"bullish", "bearish", "neutral"}

    again = reddit_collect()
    assert again.items_written == 0 and RedditPost.objects.count() == len(raw)


def test_coins_are_only_those_the_text_names(followed):
    reddit_collect()
    matcher = coin_matcher()
    for post in RedditPost.objects.exclude(coins=""):
        text = f"{post.title}\n{post.selftext}"
        assert post.coins.split(",") == matcher.mentions(text)
        for coin in post.coins.split(","):
            assert coin.lower() in text.lower() or coin in {"ETH", "BTC"}, (post.reddit_id, coin)
    assert matcher.mentions("ONE more GAS, omg") == []  # common words in capitals are not coins


def test_a_listing_not_recorded_makes_the_run_partial(followed):
    Subreddit.objects.filter(name="Bitcoin").update(is_active=True)
    result = reddit_collect()
    assert result.status == RunStatus.PARTIAL
    assert result.extra["listings_failed"] == 2
    assert "r/Bitcoin/hot: RedditError" in result.error and "HTTP 404" in result.error
    assert CollectorRun.objects.get(collector="reddit").status == RunStatus.PARTIAL


def test_collect_command_refuses_a_subreddit_not_followed(followed):
    with pytest.raises(CommandError, match="r/wallstreetbets is not a subreddit WhaleTrack follows"):
        call_command("collect", "reddit", "--subreddit", "wallstreetbets")
    assert CollectorRun.objects.count() == 0


def test_a_post_seen_again_gets_its_new_engagement(followed):
    reddit_collect()
    first = raw_posts(POPULAR)[0]
    RedditPost.objects.filter(reddit_id=first["name"]).update(score=0, num_comments=0)
    again = reddit_collect()
    assert again.items_written == 0
    post = RedditPost.objects.get(reddit_id=first["name"])
    assert (post.score, post.num_comments) == (first["score"], first["num_comments"])


# --- through PRAW, with API credentials ------------------------------------------------------------------------
@pytest.fixture
def with_credentials(followed, settings, replay):
    settings.REDDIT_CLIENT_ID, settings.REDDIT_CLIENT_SECRET = "test-client", "test-secret"
    settings.REDDIT_OAUTH_URL = replay.reddit_oauth_url
    replay.stats.reset()


def test_with_credentials_praw_reads_the_recorded_oauth_listings_into_the_same_posts(with_credentials, replay):
    from ledgers.human.reddit.client import RedditPrawClient, reddit_client

    client = reddit_client()
    assert isinstance(client, RedditPrawClient)
    client.close()
    result = reddit_collect()
    assert result.status == RunStatus.OK, result.error
    # PRAW stops each listing at REDDIT_LISTING_LIMIT (25) posts: the first 25 of each recorded listing.
    limit = settings.REDDIT_LISTING_LIMIT
    raw = {r["name"]: r for path in (POPULAR, ASK_HOT, ASK_NEW) for r in raw_posts(path)[:limit]}
    assert result.items_seen == 3 * limit
    assert set(RedditPost.objects.values_list("reddit_id", flat=True)) == set(raw)
    for post in RedditPost.objects.all():
        source = raw[post.reddit_id]
        assert (post.subreddit, post.title, post.author, post.score, post.num_comments) == (
            source["subreddit"], source["title"].strip(), source.get("author") or "", source["score"],
            source["num_comments"])
        ratio = source.get("upvote_ratio")
        assert post.upvote_ratio == (Decimal(repr(ratio)).quantize(Decimal("0.0001")) if ratio is not None else None)
    served = replay.stats.snapshot()["paths"]
    assert served.get("/reddit/api/v1/access_token") == 1  # one token for the run
    assert {p for p in served if p.startswith("/r/")} == {"/r/popular/hot", "/r/AskReddit/hot", "/r/AskReddit/new"}
    assert not any(p.endswith(".json") for p in served)  # never the public JSON


def test_with_credentials_a_listing_not_recorded_is_a_reddit_error_and_the_run_partial(with_credentials):
    Subreddit.objects.filter(name="Bitcoin").update(is_active=True)
    result = reddit_collect()
    assert result.status == RunStatus.PARTIAL
    assert "r/Bitcoin/hot: RedditError" in result.error


def test_the_replay_token_endpoint_refuses_requests_without_client_credentials(replay):
    import requests

    assert requests.post(f"{replay.reddit_url}/api/v1/access_token", data={"grant_type": "client_credentials"},
                         timeout=5).status_code == 401
    assert requests.get(f"{replay.reddit_oauth_url}/r/popular/hot", timeout=5).status_code == 401


# --- the posts API ------------------------------------------------------------------------------------------------
def test_the_posts_api_lists_the_recorded_posts_newest_first_with_filters(followed, api_client):
    from datetime import UTC, datetime

    reddit_collect()
    raw = {r["name"]: r for path in (POPULAR, ASK_HOT, ASK_NEW) for r in raw_posts(path)}
    newest = sorted(raw.values(), key=lambda r: r["created_utc"], reverse=True)
    body = api_client.get("/api/v1/human/reddit/posts?limit=10").json()
    assert [p["reddit_id"] for p in body["items"]] == [r["name"] for r in newest[:10]]
    first = body["items"][0]
    assert (first["title"], first["score"], first["link"]) == (
        newest[0]["title"].strip(), newest[0]["score"], f"https://www.reddit.com{newest[0]['permalink']}")

    ask = api_client.get("/api/v1/human/reddit/posts?subreddit=askreddit&limit=200").json()["items"]
    assert len(ask) == len({n for n, r in raw.items() if r["subreddit"] == "AskReddit"})
    bearish = api_client.get("/api/v1/human/reddit/posts?sentiment=bearish&limit=200").json()["items"]
    assert {p["reddit_id"] for p in bearish} == set(
        RedditPost.objects.filter(sentiment_label="bearish").values_list("reddit_id", flat=True))
    until = datetime.fromtimestamp(newest[5]["created_utc"], tz=UTC).isoformat().replace("+00:00", "Z")
    older = api_client.get(f"/api/v1/human/reddit/posts?until={until}&limit=3").json()["items"]
    assert [p["reddit_id"] for p in older] == [r["name"] for r in newest[6:9]]

    ids = [r["name"] for r in newest[:3]]
    RedditPost.objects.filter(reddit_id=ids[0]).update(coins="BTC,ETH")
    RedditPost.objects.filter(reddit_id=ids[1]).update(coins="ETH")
    RedditPost.objects.filter(reddit_id=ids[2]).update(coins="ETHFI")
    eth = api_client.get("/api/v1/human/reddit/posts?coin=ETH").json()["items"]
    assert [(p["reddit_id"], p["coins"]) for p in eth] == [(ids[0], ["BTC", "ETH"]), (ids[1], ["ETH"])]
    assert api_client.get("/api/v1/human/reddit/posts?coin=BT").json()["items"] == []


@pytest.mark.parametrize("query", ["limit=0", "limit=100000", "sentiment=happy", "coin=B%20TC", "subreddit=a/b",
                                   "since=yesterday"])
def test_the_posts_api_refuses_bad_filters(api_client, db, query):
    answer = api_client.get(f"/api/v1/human/reddit/posts?{query}")
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_parameter"
