"""Catalysts beside whale moves: the SEC filings and announcements the collectors store become catalysts of their
coins (``whales.context``), served by ``GET /api/v1/catalyst/events`` and the ``/catalysts/`` page. Expected values
come from the raw recordings."""

from datetime import UTC, datetime

import pytest

from ledgers.catalyst.sec.models import SecFiling, SecIssuer
from ledgers.catalyst.sec.services import FORM_IMPACT, filings_catalysts_upsert, submissions_collect
from tests.ledgers.catalyst.sec.test_sec import FORMS, recorded_submissions, sec_settings  # noqa: F401
from whales.models import CatalystCoin, CatalystEvent

pytestmark = pytest.mark.django_db
ETH_ISSUERS = {1679788: "BTC,ETH", 1783879: "BTC,ETH", 1859392: "BTC,ETH", 1725210: "ETH"}
SINCE = datetime(2025, 6, 1, tzinfo=UTC)


def recorded_recent(cik: int, since: datetime) -> set[str]:
    """``cik:accession`` of the recorded recent filings of the stored forms accepted at or after ``since``."""
    recent = recorded_submissions(cik)["filings"]["recent"]
    return {f"{cik}:{acc}" for acc, form, accepted in zip(recent["accessionNumber"], recent["form"],
                                                         recent["acceptanceDateTime"], strict=True)
            if form in FORMS and datetime.fromisoformat(accepted.replace("Z", "+00:00")) >= since}


@pytest.fixture
def collected(sec_settings):  # noqa: F811
    submissions_collect()


def test_every_stored_filing_is_a_catalyst_of_its_issuers_coins(collected):
    assert CatalystEvent.objects.filter(source="sec").count() == SecFiling.objects.count()
    coinbase = SecIssuer.objects.get(cik=1679788)
    filing = SecFiling.objects.filter(issuer=coinbase, form="8-K").order_by("-accepted_at").first()
    event = CatalystEvent.objects.get(source="sec", source_ref=f"1679788:{filing.accession_number}")
    assert (event.type, event.url, event.occurred_at, event.impact_score, event.coins) == (
        "sec_filing", filing.document_url, filing.accepted_at, FORM_IMPACT["8-K"], "BTC,ETH")
    assert sorted(CatalystCoin.objects.filter(event=event).values_list("symbol", flat=True)) == ["BTC", "ETH"]
    assert event.title == f"Coinbase Global, Inc.: 8-K (items {filing.items})"


def test_the_api_lists_a_coins_catalysts_since_a_time_newest_first(collected, api_client):
    expected = set().union(*(recorded_recent(cik, SINCE) for cik in ETH_ISSUERS))
    answer = api_client.get("/api/v1/catalyst/events", {"coin": "ETH", "type": "sec_filing",
                                                        "since": SINCE.isoformat(), "limit": 500})
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert {f"{i['details']['cik']}:{i['details']['accession_number']}" for i in items} == expected
    assert len(items) == len(expected) > 20
    times = [i["occurred_at"] for i in items]
    assert times == sorted(times, reverse=True)
    assert all("ETH" in i["coins"] for i in items)


@pytest.mark.parametrize(("query", "message"), [
    ({"since": "yesterday"}, "since"), ({"type": "rumour"}, "type"), ({"limit": "0"}, "limit"),
    ({"coin": "BTC;DROP"}, "coin"),
])
def test_the_api_refuses_bad_input(api_client, query, message):
    answer = api_client.get("/api/v1/catalyst/events", query)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_parameter" and message in answer.json()["detail"]


def test_remapping_an_issuers_coins_refiles_its_catalysts(collected):
    tesla = SecIssuer.objects.get(cik=1318605)
    tesla.coins = "BTC,ETH"
    tesla.save()
    assert filings_catalysts_upsert(issuer=tesla) == 0  # nothing new, every catalyst updated
    tesla_events = CatalystEvent.objects.filter(source="sec", source_ref__startswith="1318605:")
    assert set(tesla_events.values_list("coins", flat=True)) == {"BTC,ETH"}
    assert CatalystCoin.objects.filter(event__in=tesla_events, symbol="ETH").count() == tesla_events.count()
    assert CatalystCoin.objects.filter(event__in=tesla_events).count() == 2 * tesla_events.count()


def test_the_page_shows_a_coins_catalysts_and_refuses_bad_input(collected, client):
    expected = recorded_recent(1725210, SINCE)  # the Grayscale Ethereum ETF is ETH's only ETH-only issuer
    page = client.get("/catalysts/", {"coin": "ETH", "since": SINCE.isoformat(), "limit": 200})
    assert page.status_code == 200
    html = page.content.decode()
    rows = html.count("data-catalyst-id=")
    assert rows == len(set().union(*(recorded_recent(cik, SINCE) for cik in ETH_ISSUERS))) >= len(expected)
    assert "Grayscale Ethereum Trust ETF: " in html
    assert client.get("/catalysts/", {"since": "soon"}).status_code == 400


# --- high-impact catalysts on the live feed ---------------------------------------------------------------------
def test_a_new_recent_high_impact_catalyst_is_one_feed_event_published_after_commit(
        settings, broker_tasks, django_capture_on_commit_callbacks, django_user_model):
    from datetime import timedelta

    from celery import current_app
    from django.utils import timezone

    from alerts.models import Alert
    from alerts.services import alert_rule_create
    from whales.context import CatalystItem, catalysts_upsert
    from whales.models import WhaleEvent

    settings.CATALYST_FEED_MIN_IMPACT, settings.CATALYST_FEED_MAX_AGE_H = 60, 24
    owner = django_user_model.objects.create_user(username="c", password="pw-c-1")
    rule = alert_rule_create(owner_id=owner.pk, name="catalysts", event_types=["catalyst"])
    now = timezone.now()
    items = [
        CatalystItem(source_ref="hot", type="listing", title="Exchange lists ETH perpetuals", url="https://x.test/1",
                     occurred_at=now - timedelta(hours=1), impact_score=70, coins=["ETH"]),
        CatalystItem(source_ref="weak", type="feature", title="New app theme", url="", occurred_at=now,
                     impact_score=10, coins=["ETH"]),
        CatalystItem(source_ref="old", type="listing", title="Lists BTC (2019)", url="",
                     occurred_at=now - timedelta(hours=25), impact_score=70, coins=["BTC"]),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        assert catalysts_upsert(source="test", items=items) == 3
    event = WhaleEvent.objects.get(type="catalyst")
    hot = CatalystEvent.objects.get(source="test", source_ref="hot")
    assert (event.chain, event.whale_id, event.tx_hash, event.block_time, event.summary) == (
        "", None, f"catalyst:{hot.pk}", hot.occurred_at, "Exchange lists ETH perpetuals")
    assert event.details == {"catalyst_id": hot.pk, "source": "test", "source_ref": "hot", "catalyst_type": "listing",
                             "url": "https://x.test/1", "coins": ["ETH"], "impact_score": 70}
    queued = broker_tasks()
    assert queued == [("alerts.publish_events", {"event_ids": [event.pk]})]
    current_app.loader.import_default_modules()
    with django_capture_on_commit_callbacks(execute=True):
        current_app.tasks[queued[0][0]].apply(kwargs=queued[0][1])
    event.refresh_from_db()
    assert event.published_at is not None
    assert list(Alert.objects.values_list("rule_id", "event_id")) == [(rule.pk, event.pk)]

    with django_capture_on_commit_callbacks(execute=True):
        assert catalysts_upsert(source="test", items=items) == 0  # stored again: nothing new, no second event
    assert WhaleEvent.objects.filter(type="catalyst").count() == 1 and broker_tasks() == []


def test_the_catalyst_api_event_payload_names_its_link_and_coins(settings, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from alerts.payloads import event_payload
    from whales.context import CatalystItem, catalysts_upsert
    from whales.models import WhaleEvent

    with django_capture_on_commit_callbacks(execute=False):
        catalysts_upsert(source="test", items=[CatalystItem(
            source_ref="s1", type="listing", title="Lists SOL", url="https://x.test/sol", occurred_at=timezone.now(),
            impact_score=80, coins=["ETH"])])
    payload = event_payload(WhaleEvent.objects.get(type="catalyst"))
    assert (payload["chain"], payload["whale"], payload["external_url"]) == ("", None, "https://x.test/sol")
    assert payload["context"]["coins"] == ["ETH"]
    assert [c["source_ref"] for c in payload["context"]["catalysts"]] == ["s1"]
