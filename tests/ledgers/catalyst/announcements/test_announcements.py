"""Exchange announcements. No exchange feed is recorded (../shared/data has none), so the parser is tested on the
recorded SEC latest-filings Atom page (a real feed of the same shape: Atom 1.0, ids, links, updated times) and on
a small RSS 2.0 feed this test builds, both served over a real loopback socket."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from ledgers.catalyst.announcements.activity import IMPACT, FeedFormatError, classify, feed_items
from ledgers.catalyst.announcements.models import Announcement, AnnouncementFeed, AnnouncementKind
from ledgers.catalyst.announcements.services import announcements_collect
from ledgers.exchange.market.mentions import coin_matcher
from ledgers.models import CollectorRun
from tests.http_servers import LoopbackServer, QuietHandler
from whales.models import RunStatus

SEC_PAGE = (Path(settings.REPLAY_DATA_DIR) / "sec-edgar-edgartools-cassettes" / "atom-getcurrent"
            / "getcurrent_count100_start0000.atom.xml")
ATOM = "{http://www.w3.org/2005/Atom}"

# (title, description, pubDate, the kind and coins a reader assigns it)
BUILT = [
    ("Kraken will list PEPE and $SHIB", "Trading opens Monday.", "Mon, 01 Dec 2025 14:00:00 GMT",
     AnnouncementKind.LISTING, ["PEPE", "SHIB"]),
    ("Scheduled maintenance", "<p>ETH deposits and withdrawals suspended for 2 hours.</p>",
     "Tue, 02 Dec 2025 03:30:00 +0100", AnnouncementKind.MAINTENANCE, ["ETH"]),
    ("Delisting of OMG Network (OMG) and LRC trading pairs", "", "Wed, 03 Dec 2025 09:00:00 GMT",
     AnnouncementKind.TRADING_UPDATE, ["OMG", "LRC"]),
    ("New: recurring buys for Bitcoin", "Set it and forget it.", "Thu, 04 Dec 2025 10:00:00 GMT",
     AnnouncementKind.FEATURE, ["BTC"]),
    ("OMG, one more app update", "All new look", "Fri, 05 Dec 2025 10:00:00 GMT", AnnouncementKind.FEATURE, []),
]


def built_rss() -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://example.test/a/{n}</link><guid>https://example.test/a/{n}</guid>"
        f"<description><![CDATA[{description}]]></description><pubDate>{date}</pubDate></item>"
        for n, (title, description, date, _, _) in enumerate(BUILT))
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Test exchange</title>'
            f"<link>https://example.test/</link><description>built by the test</description>{items}</channel></rss>"
            ).encode()


class Feeds(QuietHandler):
    def do_GET(self):
        bodies = {"/rss": built_rss(), "/sec.atom": SEC_PAGE.read_bytes(), "/not-a-feed": b"<html>hello</html>"}
        body = bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


@pytest.fixture
def server():
    with LoopbackServer(Feeds) as running:
        yield running


def test_the_recorded_atom_page_parses_entry_for_entry():
    root = ET.parse(SEC_PAGE).getroot()  # noqa: S314  (a recorded file of ours, in a test)
    expected = [(e.findtext(f"{ATOM}id"), e.findtext(f"{ATOM}title"), e.find(f"{ATOM}link").get("href"),
                 datetime.fromisoformat(e.findtext(f"{ATOM}updated")).astimezone(UTC))
                for e in root.iter(f"{ATOM}entry")]
    items = feed_items(SEC_PAGE.read_bytes())
    assert [(i.guid, i.title, i.url, i.published_at) for i in items] == expected
    assert len(items) == 100
    assert items[0].summary.startswith("Filed: 2025-12-12 AccNo: 0002063236-25-000004")  # HTML removed


@pytest.mark.django_db
def test_the_built_feed_is_classified_scored_and_its_coins_found():
    items = feed_items(built_rss())
    matcher = coin_matcher()
    assert [(i.title, classify(i.title, i.summary), matcher.mentions(f"{i.title}\n{i.summary}")) for i in items] == [
        (title, kind, coins) for title, _, _, kind, coins in BUILT]
    assert items[1].published_at == datetime(2025, 12, 2, 2, 30, tzinfo=UTC)  # +0100 -> UTC
    assert items[1].summary == "ETH deposits and withdrawals suspended for 2 hours."


def test_not_a_feed_is_refused():
    with pytest.raises(FeedFormatError, match="not an RSS or Atom feed"):
        feed_items(b"<html><body>hello</body></html>")


@pytest.mark.django_db
def test_collect_stores_each_feed_once_and_reports_a_failing_feed(server):
    AnnouncementFeed.objects.all().delete()  # the seeded live feeds are not reachable from tests
    AnnouncementFeed.objects.create(name="built", exchange="Test", url=server.url + "/rss")
    AnnouncementFeed.objects.create(name="sec-shape", exchange="SEC", url=server.url + "/sec.atom")
    AnnouncementFeed.objects.create(name="gone", exchange="Gone", url=server.url + "/missing")
    # EDGAR lists a filing once per party, under one id: the recorded page's 100 entries hold fewer ids.
    sec_ids = {e.findtext(f"{ATOM}id") for e in ET.parse(SEC_PAGE).getroot().iter(f"{ATOM}entry")}  # noqa: S314
    result = announcements_collect()
    assert result.status == RunStatus.PARTIAL
    assert result.items_seen == len(BUILT) + 100
    assert result.items_written == len(BUILT) + len(sec_ids)
    assert "gone: FeedError" in result.error and "HTTP 404" in result.error
    stored = {a.title: a for a in Announcement.objects.filter(feed__name="built")}
    for title, _, _, kind, coins in BUILT:
        assert (stored[title].kind, stored[title].impact_score, stored[title].coins) == (kind, IMPACT[kind],
                                                                                        ",".join(coins))
    assert set(Announcement.objects.filter(feed__name="sec-shape").values_list("guid", flat=True)) == sec_ids
    run = CollectorRun.objects.get(collector="announcements")
    assert (run.status, run.items_written) == (RunStatus.PARTIAL, len(BUILT) + len(sec_ids))

    again = announcements_collect()
    assert again.items_written == 0
    assert Announcement.objects.count() == len(BUILT) + len(sec_ids)


@pytest.mark.django_db
def test_collect_command_refuses_an_unknown_feed_and_changes_nothing():
    with pytest.raises(CommandError, match="no announcement feed named 'nope'"):
        call_command("collect", "announcements", "--feed", "nope")
    assert CollectorRun.objects.count() == 0


@pytest.mark.django_db
def test_a_feed_that_is_not_a_feed_fails_the_run(server):
    AnnouncementFeed.objects.all().delete()
    AnnouncementFeed.objects.create(name="html", exchange="X", url=server.url + "/not-a-feed")
    result = announcements_collect()
    assert result.status == RunStatus.FAILED and "not an RSS or Atom feed" in result.error
    assert result.failure is None  # terminal: waiting cannot fix it, the task does not retry
