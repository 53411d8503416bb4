"""The crowd's mood about a coin (whales.context.mood, GET /api/v1/human/sentiment, the context of a move).

No recorded post names a coin (the recordings hold r/popular and r/AskReddit only), so the readings here are the
recorded r/popular posts' real VADER scores and engagement, filed under BTC by the test. Expected figures are
computed here with VADER and the weight formula, independently of the code under test."""

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from tests.ledgers.human.reddit.test_reddit import POPULAR
from whales.context import MoodItem, context_around, mood, moods_upsert
from whales.models import MoodReading

pytestmark = pytest.mark.django_db
Q4 = Decimal("0.0001")


def readings() -> list[tuple[str, object, Decimal, Decimal]]:
    """(id, created, compound, weight) of every recorded r/popular post, scored here."""
    analyzer = SentimentIntensityAnalyzer()
    out = []
    for child in json.loads(POPULAR.read_text())["data"]["children"]:
        post = child["data"]
        compound = Decimal(repr(analyzer.polarity_scores(f"{post['title'].strip()}\n{post['selftext']}")["compound"]))
        weight = Decimal(repr(1 + math.log1p(max(post["score"], 0) + post["num_comments"]))).quantize(Q4)
        out.append((post["name"], datetime.fromtimestamp(post["created_utc"], tz=UTC),
                    compound.quantize(Q4, ROUND_HALF_EVEN), weight))
    return out


@pytest.fixture
def filed():
    rows = readings()
    assert moods_upsert(source="reddit", items=[MoodItem(source_ref=i, coins=["BTC"], occurred_at=t, compound=c,
                                                          weight=w) for i, t, c, w in rows]) == len(rows)
    return rows


def test_mood_is_the_engagement_weighted_mean_and_the_label_counts(filed):
    since = min(t for _, t, _, _ in filed)
    until = max(t for _, t, _, _ in filed) + timedelta(seconds=1)
    figures = mood(coin="BTC", since=since, until=until)
    total = sum(w for *_, w in filed)
    expected = (sum(w * c for _, _, c, w in filed) / total).quantize(Q4, ROUND_HALF_EVEN)
    assert figures["weighted_compound"] == str(expected)
    assert figures["posts"] == len(filed) == 100
    assert figures["bullish"] == sum(c >= Decimal("0.05") for _, _, c, _ in filed)
    assert figures["bearish"] == sum(c <= Decimal("-0.05") for _, _, c, _ in filed)
    assert figures["bullish"] + figures["bearish"] + figures["neutral"] == 100
    assert mood(coin="ETH", since=since, until=until)["weighted_compound"] is None


def test_upserting_again_changes_nothing_and_new_engagement_updates_the_weight(filed):
    ref, created, compound, _ = filed[0]
    assert moods_upsert(source="reddit", items=[MoodItem(ref, ["BTC"], created, compound, Decimal("9.5"))]) == 0
    assert MoodReading.objects.count() == 100
    assert MoodReading.objects.get(source_ref=ref).weight == Decimal("9.5")


def test_the_api_gives_each_window_ending_at_until(filed, api_client):
    until = max(t for _, t, _, _ in filed) + timedelta(seconds=1)
    answer = api_client.get("/api/v1/human/sentiment", {"coin": "BTC", "until": until.isoformat()})
    assert answer.status_code == 200
    windows = answer.json()["windows"]
    assert list(windows) == ["1h", "24h", "7d"]
    for name, hours in (("1h", 1), ("24h", 24), ("7d", 168)):
        inside = [(c, w) for _, t, c, w in filed if until - timedelta(hours=hours) <= t < until]
        assert windows[name]["posts"] == len(inside)
        if inside:
            expected = (sum(w * c for c, w in inside) / sum(w for _, w in inside)).quantize(Q4, ROUND_HALF_EVEN)
            assert windows[name]["weighted_compound"] == str(expected)
    assert api_client.get("/api/v1/human/sentiment", {"coin": "BTC", "window": "2h"}).status_code == 400
    assert api_client.get("/api/v1/human/sentiment", {}).status_code == 400


def test_a_moves_context_carries_the_mood_of_its_coins(filed):
    at = filed[len(filed) // 2][1]
    context = context_around(coins=["BTC"], at=at)
    window = timedelta(hours=24)
    assert context["sentiment"] == [mood(coin="BTC", since=at - window, until=at + window)]
    assert context["sentiment"][0]["posts"] == sum(at - window <= t < at + window for _, t, _, _ in filed)
