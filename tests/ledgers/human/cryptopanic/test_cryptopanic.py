"""CryptoPanic news (human ledger). No CryptoPanic answer is recorded anywhere, so the collector is off by default
and these tests serve a posts answer the test builds, in the shapes CryptoPanic documents (API v1: ``currencies``,
``votes``, ``domain``; v2: ``instruments``, ``description``, ``original_url``), from a real HTTP server on
loopback. Sentiment is checked against VADER called here; weights against the formula computed here."""

import json
import math
from decimal import ROUND_HALF_EVEN, Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from ledgers.human.cryptopanic.models import NewsPost
from ledgers.human.cryptopanic.services import cryptopanic_collect
from ledgers.models import CollectorRun
from tests.http_servers import LoopbackServer, QuietHandler
from whales.errors import InvalidParameter
from whales.models import MoodReading, RunStatus

pytestmark = pytest.mark.django_db
KEY = "test-key-1234567890"
V1 = {"kind": "news", "domain": "coindesk.com",
      "source": {"title": "CoinDesk", "region": "en", "domain": "coindesk.com"},
      "title": "Ether jumps as strong ETF inflows lift confidence", "published_at": "2026-12-03T10:15:00Z",
      "slug": "Ether-rallies", "id": 101, "url": "https://cryptopanic.com/news/101/Ether-rallies",
      "created_at": "2026-12-03T10:16:00Z",
      "currencies": [{"code": "ETH", "title": "Ethereum", "slug": "ethereum"}],
      "votes": {"negative": 1, "positive": 12, "important": 3, "liked": 0, "disliked": 0, "lol": 0, "toxic": 0,
                "saved": 2, "comments": 4}}
V2 = {"id": 102, "slug": "Exchange-hack", "title": "Exchange hack drains $40M in a terrible blow to traders",
      "description": "Attackers stole bitcoin and ether from the hot wallet.",
      "published_at": "2026-12-03T11:00:00+00:00",
      "created_at": "2026-12-03T11:01:00Z", "kind": "news", "original_url": "https://example.test/hack",
      "instruments": [{"code": "BTC", "title": "Bitcoin"}, {"code": "ZZZ", "title": "Unknown"}]}
UNTAGGED = {"id": 103, "title": "Bitcoin miners sell reserves", "published_at": "2026-12-03T12:00:00Z",
            "currencies": [{"code": "ZZZ"}]}
MALFORMED = {"title": "No id", "published_at": "2026-12-03T12:00:00Z"}


class Answers:
    status = 200
    body: dict = {"count": 5, "next": None, "previous": None, "results": [V1, V2, UNTAGGED, MALFORMED, dict(V1)]}
    queries: list[dict] = []


class Handler(QuietHandler):
    def do_GET(self):
        url = urlsplit(self.path)
        Answers.queries.append(parse_qs(url.query))
        if url.path != "/api/developer/v2/posts/":
            status, body = 404, {"detail": "not found"}
        elif parse_qs(url.query).get("auth_token") != [KEY]:
            status, body = 401, {"detail": "invalid token"}
        else:
            status, body = Answers.status, Answers.body
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def server(settings):
    Answers.status, Answers.queries = 200, []
    with LoopbackServer(Handler) as running:
        settings.CRYPTOPANIC_URL = f"{running.url}/api/developer/v2"
        settings.CRYPTOPANIC_API_KEY = KEY
        settings.CRYPTOPANIC_API_BUDGET = "1000/minute"
        yield running


def vader(text: str) -> Decimal:
    return Decimal(repr(SentimentIntensityAnalyzer().polarity_scores(text)["compound"])).quantize(
        Decimal("0.0001"), ROUND_HALF_EVEN)


def test_off_without_a_key_and_its_beat_row_is_disabled(settings):
    settings.CRYPTOPANIC_API_KEY = ""
    with pytest.raises(InvalidParameter, match="CryptoPanic is off"):
        cryptopanic_collect()
    with pytest.raises(CommandError, match="CryptoPanic is off"):
        call_command("collect", "cryptopanic")
    assert CollectorRun.objects.count() == 0
    row = PeriodicTask.objects.get(task="cryptopanic.collect")
    assert not row.enabled and (row.interval.every, row.interval.period) == (5, "minutes")


def test_collect_stores_each_item_once_with_coins_votes_and_vader(server):
    result = cryptopanic_collect()
    assert (result.status, result.items_seen, result.items_written, result.extra) == (
        RunStatus.PARTIAL, 4, 3, {"malformed": 1})
    assert Answers.queries[-1] == {"auth_token": [KEY], "public": ["true"], "kind": ["news"]}
    posts = {p.cryptopanic_id: p for p in NewsPost.objects.all()}
    assert set(posts) == {101, 102, 103}
    one, two, three = posts[101], posts[102], posts[103]
    assert (one.coins, one.source_domain, one.url, one.votes_positive, one.votes_negative, one.votes_important,
            one.comments) == ("ETH", "coindesk.com", V1["url"], 12, 1, 3, 4)
    assert (two.coins, two.url, two.votes_positive, two.description) == (
        "BTC", "https://example.test/hack", 0, V2["description"])  # ZZZ is no known asset
    assert three.coins == "BTC"  # tagged nothing known: the coins its title names
    for post, raw in ((one, V1), (two, V2), (three, UNTAGGED)):
        expected = vader(f"{raw['title']}\n{raw.get('description', '')}")
        assert post.sentiment_compound == expected
        assert post.sentiment_label == ("bullish" if expected >= Decimal("0.05") else
                                        "bearish" if expected <= Decimal("-0.05") else "neutral")
    assert (one.sentiment_label, two.sentiment_label) == ("bullish", "bearish")
    weight = Decimal(repr(1 + math.log1p(12 + 1 + 3 + 4))).quantize(Decimal("0.0001"))
    reading = MoodReading.objects.get(source="cryptopanic", source_ref="101")
    assert (reading.coin, reading.compound, reading.weight) == ("ETH", one.sentiment_compound, weight)
    assert MoodReading.objects.filter(source="cryptopanic").count() == 3
    run = CollectorRun.objects.get(collector="cryptopanic")
    assert (run.status, run.items_written) == (RunStatus.PARTIAL, 3)

    Answers.body = {**Answers.body, "results": [{**V1, "votes": {**V1["votes"], "positive": 20}}]}
    try:
        again = cryptopanic_collect()
    finally:
        Answers.body = {"count": 5, "next": None, "previous": None, "results": [V1, V2, UNTAGGED, MALFORMED, dict(V1)]}
    assert (again.status, again.items_written) == (RunStatus.OK, 0)
    assert NewsPost.objects.get(cryptopanic_id=101).votes_positive == 20
    assert MoodReading.objects.get(source="cryptopanic", source_ref="101").weight == Decimal(repr(
        1 + math.log1p(20 + 1 + 3 + 4))).quantize(Decimal("0.0001"))


def test_a_refused_key_fails_the_run_without_writing_the_key_anywhere(server, settings):
    settings.CRYPTOPANIC_API_KEY = "wrong-key-abcdef"
    result = cryptopanic_collect()
    assert result.status == RunStatus.FAILED and result.failure is None  # terminal: no retry
    assert "CRYPTOPANIC_API_KEY was refused" in result.error
    run = CollectorRun.objects.get(collector="cryptopanic")
    assert "wrong-key" not in run.error and "auth_token" not in run.error
    assert NewsPost.objects.count() == 0


def test_a_server_error_is_unavailable_and_retried_by_the_task(server):
    Answers.status = 503
    result = cryptopanic_collect()
    assert result.status == RunStatus.FAILED and type(result.failure).__name__ == "CryptoPanicUnavailable"
    assert KEY not in result.error


def test_the_posts_api_filters_by_coin_and_sentiment(server, api_client):
    cryptopanic_collect()
    items = api_client.get("/api/v1/human/cryptopanic/posts").json()["items"]
    assert [p["cryptopanic_id"] for p in items] == [103, 102, 101]  # newest first
    btc = api_client.get("/api/v1/human/cryptopanic/posts?coin=BTC").json()["items"]
    assert [p["cryptopanic_id"] for p in btc] == [103, 102]
    bullish = api_client.get("/api/v1/human/cryptopanic/posts?sentiment=bullish").json()["items"]
    assert [(p["cryptopanic_id"], p["coins"]) for p in bullish] == [(101, ["ETH"])]
    assert api_client.get("/api/v1/human/cryptopanic/posts?limit=0").status_code == 400
