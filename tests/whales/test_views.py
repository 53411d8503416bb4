"""The whale list and wallet pages (Django test client, PostgreSQL): the list filters, sorts and pages
like ``GET /api/v1/whales`` and rejects bad input with 400; the wallet page renders entity, labels with
their sources, metrics, holdings, perp positions and the first page of trades."""

import re
from decimal import Decimal

import pytest

from tests.whales.factories import (
    SCENE_ADDRESS,
    SCENE_PERP_ADDRESS,
    LabelFactory,
    WalletMetricsFactory,
    WhaleFactory,
    WhaleLabelFactory,
)
from whales.chains import Chain
from whales.models import WhaleType

pytestmark = pytest.mark.django_db
EVM = SCENE_ADDRESS


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


@pytest.fixture
def whale_set():
    smart = LabelFactory(slug="smart-money", name="Smart money")
    rows = [
        ("Alpha", Chain.ETHEREUM, WhaleType.TRADER, "30", [smart]),
        ("Beta", Chain.ETHEREUM, WhaleType.HOLDER, "10", []),
        ("Gamma", Chain.BITCOIN, WhaleType.HOLDER, "20", [smart]),
        ("Delta", Chain.HYPERLIQUID, WhaleType.TRADER, None, []),
    ]
    made = {}
    for name, chain, kind, roi, labels in rows:
        address = {Chain.BITCOIN: "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"}.get(chain)
        whale = WhaleFactory(name=name, chain=chain, type=kind, **({"address": address} if address else {}))
        if roi is not None:
            WalletMetricsFactory(whale=whale, roi_percent=Decimal(roi))
        for label in labels:
            WhaleLabelFactory(whale=whale, label=label)
        made[name] = whale
    return made


def listed_names(html: str) -> list[str]:
    body = html[html.index('<table id="whales">'):]
    return re.findall(r'<td><a href="/wallets/[^"]+">([^<]+)</a>', body)


@pytest.mark.parametrize(("query", "expected"), [
    ("sort_by=roi", ["Alpha", "Gamma", "Beta", "Delta"]),
    ("sort_by=roi&order=asc", ["Beta", "Gamma", "Alpha", "Delta"]),  # unknown ROI last either way
    ("sort_by=roi&chain=ethereum", ["Alpha", "Beta"]),
    ("sort_by=roi&type=holder", ["Gamma", "Beta"]),
    ("sort_by=roi&label=smart-money", ["Alpha", "Gamma"]),
    ("sort_by=roi&search=amm", ["Gamma"]),
    ("sort_by=roi&search=bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", ["Gamma"]),
    ("sort_by=roi&min_roi=15", ["Alpha", "Gamma"]),
])
def test_whale_list_filters_and_sorts_like_the_api(client, api_client, whale_set, query, expected):
    html = html_of(client.get(f"/whales/?{query}"))
    assert listed_names(html) == expected
    api = api_client.get(f"/api/v1/whales?{query}").json()
    assert [item["name"] for item in api["items"]] == expected
    assert f"of {api['total']} whale" in html


def test_whale_list_pages_with_limit_and_offset(client, whale_set):
    first = html_of(client.get("/whales/?sort_by=roi&limit=2"))
    assert listed_names(first) == ["Alpha", "Gamma"]
    assert "1\u20132 of 4 whales" in first
    assert 'href="?sort_by=roi&amp;limit=2&amp;offset=2" rel="next"' in first
    assert 'rel="prev"' not in first
    second = html_of(client.get("/whales/?sort_by=roi&limit=2&offset=2"))
    assert listed_names(second) == ["Beta", "Delta"]
    assert 'href="?sort_by=roi&amp;limit=2&amp;offset=0" rel="prev"' in second and 'rel="next"' not in second


def test_whale_list_shows_labels_and_filter_choices(client, whale_set):
    html = html_of(client.get("/whales/"))
    assert '<a class="tag" href="/whales/?label=smart-money">smart-money</a>' in html
    assert '<option value="smart-money" >Smart money</option>' in html
    assert '<option value="bitcoin" >Bitcoin</option>' in html


@pytest.mark.parametrize(("query", "message"), [
    ("chain=solana", "chain: Select a valid choice."),
    ("sort_by=luck", "sort_by"),
    ("limit=0", "limit: Ensure this value is greater than or equal to 1."),
])
def test_whale_list_rejects_bad_input_with_400_and_no_rows(client, whale_set, query, message):
    response = client.get(f"/whales/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="filter-errors"' in html and message in html
    assert '<table id="whales">' not in html


# --- wallet -----------------------------------------------------------------------------------


def test_wallet_page_shows_entity_labels_metrics_holdings_and_first_trades(client, api_client, wallet):
    html = html_of(client.get(f"/wallets/ethereum/{EVM}/"))
    assert "Jump Trading" in html and "(Market maker)" in html
    labels = html[html.index('<table id="labels">'):html.index("</table>", html.index('<table id="labels">'))]
    assert labels.count("market-maker</a>") == 2  # one row per source: provenance kept
    assert "<td>etherscan</td><td>High</td>" in labels and "<td>graphsense</td><td>Medium</td>" in labels
    assert 'href="https://etherscan.io/accounts/label/jump-trading"' in labels
    assert "12.35 %" in html and "9,876,543.21" in html and "-1,500.50" in html and "61.5 %" in html
    assert '<tr><td>WETH</td><td class="num">1,234.5</td>' in html and "4,321,000.75" in html and "43.75" in html
    trade_rows = re.findall(r'<tr data-trade-id="(\d+)">', html)
    page = api_client.get(f"/api/v1/wallets/ethereum/{EVM}/trades?limit=25").json()
    assert [int(i) for i in trade_rows] == [item["id"] for item in page["items"]]
    assert f'data-next-cursor="{page["next_cursor"]}"' in html
    assert '<button type="button" id="more-trades" >Load more trades</button>' in html
    assert '<canvas id="roi-chart"' in html and '<canvas id="portfolio-chart"' in html
    assert '<script src="/static/vendor/chart.umd.min.js"></script>' in html
    assert '<script type="module" src="/static/js/wallet.js"></script>' in html
    assert 'id="choice-labels"' in html


def test_wallet_page_shows_perp_positions_with_leverage_and_liquidation_distance(client, wallet):
    html = html_of(client.get(f"/wallets/hyperliquid/{SCENE_PERP_ADDRESS}/"))
    perp = html[html.index('<table id="perp-positions">'):]
    perp = perp[:perp.index("</table>")]
    cells = re.findall(r"<td[^>]*>(.*?)</td>", perp, re.S)
    assert [c.strip() for c in cells] == [
        "BTC", '<span class="tag neg">short</span>', "-12.5", "1,250,000.00", "101,000.5", "-3,250.25",
        "-1.04", "20x cross", "110,500", "10.50 %", "62,500.00", "—",
    ]
    assert "No trades stored." in html and "No spot holdings." in html


def test_wallet_page_without_more_trades_hides_the_button(client):
    WhaleFactory(address=EVM)
    html = html_of(client.get(f"/wallets/ethereum/{EVM}/"))
    assert "No trades stored." in html and "No metrics computed yet." in html and "No labels." in html


def test_wallet_page_redirects_a_non_canonical_address(client, wallet):
    response = client.get(f"/wallets/ethereum/{EVM.upper().replace('0X', '0x')}/")
    assert (response.status_code, response["Location"]) == (302, f"/wallets/ethereum/{EVM}/")


@pytest.mark.parametrize("path", [
    f"/wallets/solana/{EVM}/", "/wallets/ethereum/0x123/",
    "/wallets/ethereum/0x0000000000000000000000000000000000000bad/", f"/wallets/arbitrum/{EVM}/",
])
def test_wallet_page_404s(client, wallet, path):
    assert client.get(path).status_code == 404


# --- live feed, alerts, sign-in ---------------------------------------------------------------
