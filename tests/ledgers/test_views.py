"""The dashboard page (Django test client, PostgreSQL): summary cards, top whales by ROI, the latest
events, collector health, and whether the feed panel goes live."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from tests.ledgers.factories import CollectorRunFactory
from tests.whales.factories import SCENE_ADDRESS, WalletMetricsFactory, WhaleEventFactory, WhaleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _isolated(only_test_collector):
    cache.clear()
    yield
    cache.clear()


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_dashboard_shows_summary_top_whales_feed_and_collectors(client, wallet):
    other = WhaleFactory(name="No metrics")
    WalletMetricsFactory(whale=WhaleFactory(name="Loser"), roi_percent=Decimal("-5"))
    event = WhaleEventFactory(whale=wallet, summary="Jump 1 bought 500 ETH", value_usd=Decimal("1234567.891"),
                              block_time=timezone.now() - timedelta(hours=1))
    CollectorRunFactory(started_at=timezone.now() - timedelta(minutes=1))

    html = html_of(client.get("/"))

    assert '<span class="card-value" id="total-tracked-whales">4</span>' in html
    top = html[html.index('id="top-whales"'):html.index("</table>", html.index('id="top-whales"'))]
    assert re.findall(r">([^<]+)</a></td>", top) == ["Jump 1", "Loser"]  # ROI order; no-metrics whales left out
    assert '<td class="num pos">12.35</td>' in top and '<td class="num neg">-5.00</td>' in top
    assert other.name not in top
    assert f'<tr data-event-id="{event.id}"' in html and "Jump 1 bought 500 ETH" in html
    assert '<td class="num">1,234,567.89</td>' in html
    assert f'<a href="/wallets/ethereum/{SCENE_ADDRESS}/">Jump 1</a>' in html
    assert f'href="https://etherscan.io/tx/{event.tx_hash}"' in html
    assert 'href="/api/v1/collectors/test.collector">test.collector</a>' in html
    # anonymous, feed not public: no live updates, a sign-in hint instead
    assert 'data-feed-enabled="false"' in html and "js/dashboard.js" not in html
    assert 'href="/accounts/login/?next=/"' in html


def test_dashboard_feed_panel_is_live_for_a_signed_in_user(signed_in, wallet):
    events = WhaleEventFactory.create_batch(3, whale=wallet)
    html = html_of(signed_in.get("/"))
    assert 'data-feed-enabled="true"' in html
    assert f'data-since-id="{max(e.id for e in events)}"' in html
    assert '<script type="module" src="/static/js/dashboard.js"></script>' in html
    assert 'id="feed-status" class="feed-status" data-state="connecting"' in html
    assert '<a href="/account/tokens/" id="username" title="Your account and API tokens">analyst</a>' in html
    assert '<form method="post" action="/accounts/logout/"' in html


def test_dashboard_feed_panel_is_live_for_everyone_with_a_public_feed(client, settings):
    settings.ALERTS_PUBLIC_FEED = True
    html = html_of(client.get("/"))
    assert 'data-feed-enabled="true"' in html and 'data-since-id="0"' in html


# --- cost at size (issue 15): the cached summary and the indexes the dashboard's reads use -------------------


def _card(html: str, card_id: str) -> str:
    return re.search(rf'id="{card_id}">([^<]*)<', html).group(1)


def test_the_dashboard_reuses_the_cached_summary_until_a_write_drops_it(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    WhaleFactory()
    with CaptureQueriesContext(connection) as first:
        html = html_of(client.get("/"))
    assert _card(html, "total-tracked-whales") == "1"
    with CaptureQueriesContext(connection) as second:
        html = html_of(client.get("/"))
    assert _card(html, "total-tracked-whales") == "1"
    summary_sql = [q["sql"] for q in first.captured_queries if 'COUNT(DISTINCT "whales_trade"."whale_id")' in q["sql"]]
    assert len(summary_sql) == 1
    assert not [q for q in second.captured_queries if q["sql"] == summary_sql[0]]
    assert len(second.captured_queries) < len(first.captured_queries)
    WhaleFactory()  # a write on the connection that read the summary: dropped at once
    assert _card(html_of(client.get("/")), "total-tracked-whales") == "2"


def _plan(sql: str) -> str:
    """EXPLAIN of ``sql`` with every plain, bitmap and sequential scan made a last resort: what is left when an
    index can answer alone (a tiny test table would be scanned whole otherwise)."""
    from django.db import connection

    with connection.cursor() as cursor:
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_indexscan"):
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def test_the_dashboard_24h_figures_read_the_covering_trade_index_alone(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.whales.factories import TradeFactory

    whale = WhaleFactory()
    now = timezone.now()
    TradeFactory(whale=whale, block_time=now - timedelta(hours=1), value_usd=Decimal("10.5"))
    TradeFactory(whale=whale, block_time=now - timedelta(hours=2), value_usd=Decimal("4"), is_internal=True)
    TradeFactory(whale=WhaleFactory(), block_time=now - timedelta(hours=30), value_usd=Decimal("99"))
    with CaptureQueriesContext(connection) as captured:
        html = html_of(client.get("/"))
    assert (_card(html, "active-whales-24h"), _card(html, "total-tracked-whales")) == ("1", "2")
    window_sql = next(q["sql"] for q in captured.captured_queries
                      if 'COUNT(DISTINCT "whales_trade"."whale_id")' in q["sql"])
    plan = _plan(window_sql)
    assert "Index Only Scan using trade_time" in plan, plan


def test_the_dashboard_top_whales_read_the_roi_index_in_order(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for roi in ("5", "-1", "12.5"):
        WalletMetricsFactory(whale=WhaleFactory(), roi_percent=Decimal(roi))
    with CaptureQueriesContext(connection) as captured:
        html_of(client.get("/"))
    top_sql = next(q["sql"] for q in captured.captured_queries
                   if '"whales_walletmetrics"."roi_percent" IS NOT NULL' in q["sql"] and "LIMIT 10" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {top_sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "metrics_roi" in plan and "Sort" not in plan, plan


def _banner(html: str) -> str | None:
    match = re.search(r'<div class="banner banner-warn" id="freshness-banner" role="status">(.*?)</div>', html, re.S)
    return " ".join(match.group(1).split()) if match else None


def test_dashboard_says_when_the_newest_activity_is_older_than_the_window(client, wallet):
    """Issue 17 §6: the window moved back to the newest trade, and the page says so with the collectors' state."""
    from tests.whales.factories import TradeFactory

    latest = (timezone.now() - timedelta(days=3)).replace(microsecond=0)
    TradeFactory(whale=wallet, block_time=latest)
    succeeded = (timezone.now() - timedelta(hours=2)).replace(microsecond=0)
    CollectorRunFactory(started_at=succeeded, finished_at=succeeded)

    banner = _banner(html_of(client.get("/")))

    iso = latest.isoformat()  # the page prints the summary's ISO times as they are
    assert banner == (f"<strong>No activity since {iso}.</strong> The 24h figures below cover the 24 hours "
                      f"before it, not the last 24 hours. Collectors: <span class=\"freshness-collector\">"
                      f"test.collector degraded, last success {succeeded.isoformat()}"
                      f"</span>.")


def test_dashboard_has_no_banner_with_activity_inside_the_window(client, wallet):
    from tests.whales.factories import TradeFactory

    TradeFactory(whale=wallet, block_time=timezone.now() - timedelta(hours=23))
    assert _banner(html_of(client.get("/"))) is None


def test_dashboard_says_when_nothing_is_stored(client):
    banner = _banner(html_of(client.get("/")))
    assert banner == ("<strong>No activity stored yet.</strong> Collectors: <span class=\"freshness-collector\">"
                      "test.collector failing, never succeeded</span>.")
