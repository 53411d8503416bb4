"""The smart-money pages and the wallet page's score (Django test client, PostgreSQL): the wallet page renders the
current score with every component and the classification with its reason; the leaderboard and flows pages render
their forms and the links to them are in the navigation and on the whale list. The figures the pages' scripts
draw from the API are checked in Chromium (tests/browser/test_smart_money_pages.py)."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.whales.factories import LabelFactory, WalletMetricsFactory, WhaleFactory, WhaleLabelFactory
from whales.analytics.scoring import scoring_run
from whales.models import WalletScore, WhaleType

pytestmark = pytest.mark.django_db


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def cells(html: str, table_id: str) -> list[list[str]]:
    table = html[html.index(f'<table id="{table_id}">'):]
    table = table[:table.index("</table>")]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)[1:]]


def test_wallet_page_shows_the_current_score_its_components_and_the_classification(client, settings):
    settings.WHALE_SCORE_WEIGHTS = {"roi": "0.35", "win_rate": "0.25", "realized_pnl": "0.25", "consistency": "0.15"}
    whale = WhaleFactory(type=WhaleType.HOLDER, type_reason="holder: 2 trades/30d (trader >= 20), turnover n/a "
                                                              "(no portfolio value), 120 days since last sale "
                                                              "(holder >= 90)",
                         type_classified_at=timezone.now() - timedelta(hours=1))
    WalletMetricsFactory(whale=whale, roi_percent=Decimal("300"), win_rate_percent=Decimal("50"),
                         realized_pnl_usd=Decimal("0"), closed_round_trips=31)
    scoring_run()
    # roi (300 + 100) / 400 = 1 -> 35 points; win rate 0.5 x 25 = 12.5; P&L 0 -> 0.5 x 25 = 12.5; no daily rows: 0.
    assert WalletScore.objects.get(whale=whale).score == Decimal("60.00")
    html = html_of(client.get(f"/wallets/ethereum/{whale.address}/"))
    assert re.search(r'id="score-value">60.00<', html) and re.search(r'id="score-confidence">high<', html)
    assert cells(html, "score-components") == [
        ["ROI", "300.0000", "1.00000000", "0.35", "35.00"],
        ["Win rate", "50.0000", "0.50000000", "0.25", "12.50"],
        ["Realized P&amp;L", "0.00000000", "0.50000000", "0.25", "12.50"],
        ["Consistency", "none", "0.00000000", "0.15", "0.00"],
    ]
    assert ('<span id="classification-reason">holder: 2 trades/30d (trader &gt;= 20), turnover n/a (no portfolio '
            'value), 120 days since last sale (holder &gt;= 90)</span>') in html
    assert 'id="score-chart"' in html


def test_wallet_page_of_a_wallet_never_scored_says_so(client):
    whale = WhaleFactory()
    html = html_of(client.get(f"/wallets/ethereum/{whale.address}/"))
    assert 'id="score-none"' in html and 'id="score-components"' not in html
    assert '<span class="muted" id="classification-reason">not classified yet</span>' in html


def test_leaderboard_page_renders_the_filters_of_the_api(client):
    WhaleLabelFactory(whale=WhaleFactory(), label=LabelFactory(slug="fund", name="Fund"))
    html = html_of(client.get("/smart-money/?chain=bitcoin&label=fund&sort_by=volume_30d"))
    assert '<option value="bitcoin" selected>' in html and '<option value="fund" selected>' in html
    assert '<option value="volume_30d" selected>' in html
    assert 'src="/static/js/smart_money.js"' in html
    assert '<a href="/smart-money/" aria-current="page">Smart money</a>' in html


def test_flows_page_renders_its_window_and_loads_chart_js(client):
    html = html_of(client.get("/smart-money/flows/?window=7d"))
    assert 'data-window="7d"' in html and '<option value="7d" selected>' in html
    assert 'src="/static/vendor/chart.umd.min.js"' in html and 'src="/static/js/flows.js"' in html
    assert '<a href="/smart-money/flows/" aria-current="page">Flows</a>' in html


def test_whale_list_links_to_the_smart_money_pages(client):
    html = html_of(client.get("/whales/"))
    links = html[html.index('id="smart-money-links"'):]
    assert '<a href="/smart-money/">' in links and '<a href="/smart-money/flows/">' in links
