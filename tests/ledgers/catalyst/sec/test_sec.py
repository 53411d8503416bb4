"""SEC EDGAR: parsing, the client and both collectors against the replay node serving the recorded EDGAR answers
(sec-edgar-submissions-crypto, sec-edgar-edgartools-cassettes). Every expected value is computed here from the
raw recordings (json / xml.etree), independently of the code under test."""

import json
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from ledgers.catalyst.sec.activity import feed_parse, submissions_parse
from ledgers.catalyst.sec.client import IssuerNotFound, SecClient
from ledgers.catalyst.sec.models import FilingSource, SecFiling, SecIssuer
from ledgers.catalyst.sec.services import (
    FEED_STREAM,
    feed_collect,
    filings_store,
    issuer_collect,
    submissions_collect,
)
from ledgers.models import CollectorRun, SyncCursor
from whales.errors import Misconfigured
from whales.models import RunStatus

DATA = Path(settings.REPLAY_DATA_DIR)
SUBMISSIONS = DATA / "sec-edgar-submissions-crypto" / "submissions"
PAGED = DATA / "sec-edgar-edgartools-cassettes" / "submissions-paged"
FEED = DATA / "sec-edgar-edgartools-cassettes" / "atom-getcurrent"
ATOM = "{http://www.w3.org/2005/Atom}"
TESLA = 1318605
FORMS = ("4", "8-K", "10-K", "10-Q", "S-1", "144", "424B5")


def recorded_submissions(cik: int) -> dict:
    name = f"CIK{cik:010d}.json"
    path = SUBMISSIONS / name if (SUBMISSIONS / name).exists() else PAGED / name
    return json.loads(path.read_text())


def wanted_accessions(columns: dict) -> set[str]:
    """Accession numbers of the rows of an EDGAR column object whose form is one of FORMS."""
    return {acc for acc, form in zip(columns["accessionNumber"], columns["form"], strict=True) if form in FORMS}


def recorded_feed_entries() -> list[dict]:
    """Every entry of the three recorded feed pages, in order, read with ElementTree."""
    entries = []
    for start in (0, 100, 200):
        path = FEED / f"getcurrent_count100_start{start:04d}.atom.xml"
        root = ET.parse(path).getroot()  # noqa: S314  (a recorded file of ours, in a test)
        for entry in root.iter(f"{ATOM}entry"):
            title = entry.findtext(f"{ATOM}title")
            cik = int(title.rsplit(" (", 2)[1].rstrip(")"))
            entries.append({
                "title": title, "cik": cik, "form": entry.find(f"{ATOM}category").get("term"),
                "accession": entry.findtext(f"{ATOM}id").rsplit("=", 1)[1],
                "updated": datetime.fromisoformat(entry.findtext(f"{ATOM}updated")).astimezone(UTC),
            })
    return entries


@pytest.fixture
def sec_settings(settings, replay):
    settings.SEC_USER_AGENT = "WhaleTrack tests tests@example.com"
    settings.SEC_DATA_URL = replay.sec_data_url
    settings.SEC_WWW_URL = replay.sec_www_url
    settings.SEC_API_BUDGET = "1000000/minute"
    settings.SEC_FORMS = list(FORMS)
    replay.stats.reset()
    return settings


@pytest.fixture
def client(sec_settings):
    client = SecClient.from_settings()
    yield client
    client.close()


# --- parsing -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [*sorted(SUBMISSIONS.glob("CIK*.json")), PAGED / "CIK0001318605.json"],
                         ids=lambda p: p.stem)
def test_submissions_parse_keeps_every_recorded_filing_in_order(path):
    raw = json.loads(path.read_text())
    recent = raw["filings"]["recent"]
    parsed = submissions_parse(raw)
    assert parsed.cik == int(raw["cik"])
    assert parsed.name == raw["name"]
    assert [f.accession_number for f in parsed.filings] == recent["accessionNumber"]
    assert [f.form for f in parsed.filings] == recent["form"]
    assert [f.filed_on.isoformat() for f in parsed.filings] == recent["filingDate"]
    assert [f.primary_document for f in parsed.filings] == recent["primaryDocument"]
    assert [p.name for p in parsed.older_pages] == [f["name"] for f in raw["filings"]["files"]]
    assert [p.filing_count for p in parsed.older_pages] == [f["filingCount"] for f in raw["filings"]["files"]]
    first = parsed.filings[0]
    assert first.accepted_at == datetime.fromisoformat(recent["acceptanceDateTime"][0].replace("Z", "+00:00"))
    assert first.accepted_at.tzinfo is not None
    assert first.items == recent["items"][0]
    assert first.size_bytes == recent["size"][0]


def test_submissions_parse_refuses_ragged_columns():
    raw = recorded_submissions(1050446)
    raw["filings"]["recent"]["form"] = raw["filings"]["recent"]["form"][:-1]
    with pytest.raises(ValueError, match="column form has 999 values, accessionNumber 1000"):
        submissions_parse(raw)


def test_feed_parse_reads_every_recorded_entry_exactly():
    expected = recorded_feed_entries()
    parsed = [entry for start in (0, 100, 200)
              for entry in feed_parse((FEED / f"getcurrent_count100_start{start:04d}.atom.xml").read_bytes())]
    assert len(parsed) == len(expected) == 300
    assert [(e.cik, e.form, e.accession_number, e.updated) for e in parsed] == [
        (x["cik"], x["form"], x["accession"], x["updated"]) for x in expected]
    assert parsed[0].updated == datetime(2025, 12, 12, 23, 2, 43, tzinfo=UTC)  # 18:02:43 EST, as recorded
    assert parsed[0].role == "Reporting" and parsed[1].role == "Issuer"
    assert parsed[0].filed_on == date(2025, 12, 12)


def test_feed_parse_refuses_the_recorded_503_page():
    with pytest.raises(ValueError, match="not an Atom"):
        feed_parse((FEED / "getcurrent_count100_start5100_HTTP503.html").read_bytes())


# --- client ----------------------------------------------------------------------------------------------
def test_client_refuses_an_empty_user_agent(settings):
    settings.SEC_USER_AGENT = "  "
    with pytest.raises(Misconfigured, match="SEC_USER_AGENT"):
        SecClient.from_settings()


def test_client_sends_the_user_agent_and_reads_an_older_page(client, replay):
    page = client.older_page(TESLA, "CIK0001318605-submissions-001.json")
    raw = json.loads((PAGED / "CIK0001318605-submissions-001.json").read_text())
    assert [f.accession_number for f in page] == raw["accessionNumber"]
    assert len(page) == 720
    assert client._session.headers["User-Agent"] == "WhaleTrack tests tests@example.com"
    assert client.older_page(1050446, "CIK0001050446-submissions-001.json") is None  # not recorded: 404


def test_client_unknown_cik_is_issuer_not_found(client):
    with pytest.raises(IssuerNotFound):
        client.submissions(1)


def test_feed_pages_as_recorded_then_none_past_the_end(client, replay):
    assert [len(client.latest_filings(start=s)) for s in (0, 100, 200)] == [100, 100, 100]
    assert client.latest_filings(start=300) is None
    assert replay.stats.snapshot()["paths"]["/sec-www/cgi-bin/browse-edgar"] == 4  # the 503 was not retried


# --- the submissions collector -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_submissions_collect_stores_each_issuers_recorded_filings_once(sec_settings, replay):
    issuers = list(SecIssuer.objects.order_by("cik"))
    assert len(issuers) == 14  # the seed: 13 recorded crypto issuers and Tesla
    result = submissions_collect()

    expected: dict[int, set[str]] = {}
    for issuer in issuers:
        raw = recorded_submissions(issuer.cik)
        expected[issuer.cik] = wanted_accessions(raw["filings"]["recent"])
    expected[TESLA] |= wanted_accessions(json.loads((PAGED / "CIK0001318605-submissions-001.json").read_text()))
    for issuer in issuers:
        stored = set(SecFiling.objects.filter(issuer=issuer).values_list("accession_number", flat=True))
        assert stored == expected[issuer.cik], issuer.name
    assert result.items_written == SecFiling.objects.count() == sum(len(v) for v in expected.values())
    # Strategy, Riot and Block name older pages that are not recorded: the run says so and is partial.
    assert result.status == RunStatus.PARTIAL
    assert result.extra["older_pages_missing"] == 3
    assert "CIK0001050446-submissions-001.json not served (404)" in result.error
    assert SecIssuer.objects.get(cik=TESLA).older_pages_loaded == ["CIK0001318605-submissions-001.json"]
    run = CollectorRun.objects.get(collector="sec")
    assert (run.status, run.items_written) == (RunStatus.PARTIAL, result.items_written)

    # Per form, for one issuer, against the raw columns.
    raw = recorded_submissions(1050446)["filings"]["recent"]
    by_form = Counter(form for acc, form in {a: f for a, f in zip(raw["accessionNumber"], raw["form"], strict=True)
                                              if f in FORMS}.items())
    stored = Counter(SecFiling.objects.filter(issuer__cik=1050446).values_list("form", flat=True))
    assert stored == by_form
    one = SecFiling.objects.get(issuer__cik=1050446, accession_number=raw["accessionNumber"][0])
    assert (one.form, one.filed_on.isoformat(), one.primary_document) == (
        raw["form"][0], raw["filingDate"][0], raw["primaryDocument"][0])
    assert one.document_url == ("https://www.sec.gov/Archives/edgar/data/1050446/"
                                f"{raw['accessionNumber'][0].replace('-', '')}/{raw['primaryDocument'][0]}")

    again = submissions_collect()
    assert again.items_written == 0
    assert SecFiling.objects.count() == result.items_written


@pytest.mark.django_db
def test_submissions_collect_refuses_without_a_user_agent_and_asks_nothing(sec_settings, replay):
    sec_settings.SEC_USER_AGENT = ""
    result = submissions_collect()
    assert result.status == RunStatus.FAILED
    assert "SEC_USER_AGENT is empty" in result.error
    assert SecFiling.objects.count() == 0
    assert replay.stats.snapshot()["paths"] == {}


@pytest.mark.django_db
def test_collect_command_rejects_an_issuer_not_followed_and_changes_nothing(sec_settings):
    with pytest.raises(CommandError, match="CIK 999 is not an issuer WhaleTrack follows"):
        call_command("collect", "sec", "--cik", "999")
    assert CollectorRun.objects.count() == 0


@pytest.mark.django_db
def test_feed_first_then_submissions_fill_in_the_document(sec_settings, client):
    tesla = SecIssuer.objects.get(cik=TESLA)
    raw = recorded_submissions(TESLA)["filings"]["recent"]
    index = raw["form"].index("10-K")
    submissions = client.submissions(TESLA)
    filing = submissions.filings[index]
    as_feed = type(filing)(**{**{k: getattr(filing, k) for k in filing.__slots__},
                              "primary_document": "", "items": "", "size_bytes": 0, "report_period": None})
    assert filings_store(issuer=tesla, filings=[as_feed], source=FilingSource.FEED) == 1
    stored = SecFiling.objects.get(issuer=tesla, accession_number=raw["accessionNumber"][index])
    assert stored.document_url.endswith(f"/{raw['accessionNumber'][index]}-index.htm")
    seen, written, problems = issuer_collect(client=client, issuer=tesla)
    stored.refresh_from_db()
    assert stored.primary_document == raw["primaryDocument"][index]
    assert stored.report_period.isoformat() == raw["reportDate"][index]
    assert stored.source == FilingSource.FEED  # the first answer that stored it
    assert (seen, problems) == (1002 + 720, [])
    assert written == len(wanted_accessions(raw) | wanted_accessions(
        json.loads((PAGED / "CIK0001318605-submissions-001.json").read_text()))) - 1


# --- the feed collector ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_feed_collect_pages_to_the_recorded_end_and_stores_followed_issuers_once(sec_settings, replay):
    entries = recorded_feed_entries()
    # Follow the two issuers with the most entries of the stored forms on the recorded pages.
    counts = Counter(e["cik"] for e in entries if e["form"] in FORMS)
    followed = [cik for cik, _ in counts.most_common(2)]
    for cik in followed:
        SecIssuer.objects.create(cik=cik, name=f"feed issuer {cik}")
    result = feed_collect()
    assert result.status == RunStatus.OK
    assert result.extra["pages"] == 3
    assert result.extra["ended"] == "past the end (503)"
    assert result.items_seen == 300
    expected = {(e["cik"], e["accession"]) for e in entries if e["cik"] in followed and e["form"] in FORMS}
    stored = set(SecFiling.objects.values_list("issuer__cik", "accession_number"))
    assert stored == expected and result.items_written == len(expected)
    assert set(SecFiling.objects.values_list("source", flat=True)) == {FilingSource.FEED}
    newest = max(e["updated"] for e in entries)
    assert SyncCursor.objects.get(stream=FEED_STREAM).position == int(newest.timestamp())

    again = feed_collect()
    assert (again.items_written, again.extra["pages"], again.extra["ended"]) == (
        0, 1, "reached the previous run's entries")
    assert SecFiling.objects.count() == len(expected)


@pytest.mark.django_db
def test_feed_collect_503_on_the_first_page_is_unavailable(sec_settings, replay):
    replay.faults.add(path_prefix="/sec-www/", status=503, times=1)
    result = feed_collect(max_pages=2)
    assert result.status == RunStatus.FAILED
    assert "503 on its first page" in result.error


@pytest.mark.django_db
def test_feed_collect_bounds_its_pages(sec_settings):
    from whales.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="max_pages must be 1 to 60"):
        feed_collect(max_pages=61)
    assert CollectorRun.objects.count() == 0


# --- issuers in the admin -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_issuer_coins_must_be_known_assets():
    issuer = SecIssuer(cik=42, name="x", coins="btc, eth ,BTC")
    issuer.clean()
    assert issuer.coins == "BTC,ETH"
    issuer.coins = "BTC,NOPE"
    with pytest.raises(ValidationError, match="NOPE"):
        issuer.clean()


# --- schedule --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_beat_rows_run_the_submissions_daily_at_0900_utc_and_the_feed_every_10_minutes():
    from django_celery_beat.models import PeriodicTask

    from whaletrack.celery import app

    daily = PeriodicTask.objects.get(task="sec.collect_submissions")
    assert (daily.crontab.minute, daily.crontab.hour, str(daily.crontab.timezone), daily.enabled) == (
        "0", "9", "UTC", True)
    feed = PeriodicTask.objects.get(task="sec.collect_feed")
    assert (feed.interval.every, feed.interval.period, feed.enabled) == (10, "minutes", True)
    app.loader.import_default_modules()
    assert {"sec.collect_submissions", "sec.collect_feed"} <= set(app.tasks)
