"""The server-rendered pages (Django test client, PostgreSQL): every page renders its data, pages that
need a user redirect to the sign-in page, the whale list agrees with ``GET /api/v1/whales``, and no page
loads anything from another host."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from tests.ledgers.factories import CollectorRunFactory
from tests.whales.factories import (
    EntityFactory,
    HoldingFactory,
    LabelFactory,
    TradeFactory,
    WalletMetricsFactory,
    WhaleEventFactory,
    WhaleFactory,
    WhaleLabelFactory,
)
from whales.chains import Chain
from whales.models import EntityKind, LabelConfidence, WhaleType

pytestmark = pytest.mark.django_db

EVM = "0xabcdef0123456789abcdef0123456789abcdef01"
HL = "0x5e9ee1089755c3435139848e47e6635505d5a13a"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
PAGES = ["/", "/whales/", f"/wallets/ethereum/{EVM}/", "/live/", "/alerts/", "/accounts/login/"]


@pytest.fixture(autouse=True)
def _isolated(only_test_collector):
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def signed_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def wallet():
    """An Ethereum whale with entity, two label rows (one label from two sources), metrics, a spot
    holding, 30 trades, and a Hyperliquid whale with a short perp position."""
    entity = EntityFactory(slug="jump-trading", name="Jump Trading", kind=EntityKind.MARKET_MAKER)
    whale = WhaleFactory(address=EVM, name="Jump 1", entity=entity, type=WhaleType.TRADER,
                         last_active_at=timezone.now() - timedelta(hours=1))
    label = LabelFactory(slug="market-maker", name="Market maker")
    WhaleLabelFactory(whale=whale, label=label, source="etherscan", confidence=LabelConfidence.HIGH,
                      evidence_url="https://etherscan.io/accounts/label/jump-trading")
    WhaleLabelFactory(whale=whale, label=label, source="graphsense", confidence=LabelConfidence.MEDIUM)
    WalletMetricsFactory(whale=whale, roi_percent=Decimal("12.3456"), portfolio_value_usd=Decimal("9876543.21"),
                         realized_pnl_usd=Decimal("-1500.5"), win_rate_percent=Decimal("61.5"))
    HoldingFactory(whale=whale, asset="WETH", amount=Decimal("1234.5"), value_usd=Decimal("4321000.75"),
                   portfolio_percent=Decimal("43.75"))
    for i in range(30):
        TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=i), value_usd=Decimal("1000.5") + i,
                     amount_base=Decimal("2.5"), base_asset="ETH", quote_asset="USDC", direction="buy")
    perp_whale = WhaleFactory(chain=Chain.HYPERLIQUID, address=HL, name="HL whale")
    HoldingFactory(whale=perp_whale, asset="BTC", amount=Decimal("-12.5"), value_usd=Decimal("1250000"),
                   is_perp=True, entry_price_usd=Decimal("101000.5"), unrealized_pnl_usd=Decimal("-3250.25"),
                   return_on_equity=Decimal("-0.0104"), leverage_type="cross", leverage=Decimal("20"),
                   liquidation_price_usd=Decimal("110500"), liquidation_distance_percent=Decimal("10.5"),
                   margin_used_usd=Decimal("62500"))
    return whale


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- dashboard --------------------------------------------------------------------------------


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
    assert f'<a href="/wallets/ethereum/{EVM}/">Jump 1</a>' in html
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
    assert '<span id="username">analyst</span>' in html
    assert '<form method="post" action="/accounts/logout/"' in html


def test_dashboard_feed_panel_is_live_for_everyone_with_a_public_feed(client, settings):
    settings.ALERTS_PUBLIC_FEED = True
    html = html_of(client.get("/"))
    assert 'data-feed-enabled="true"' in html and 'data-since-id="0"' in html


# --- whale list -------------------------------------------------------------------------------


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
    html = html_of(client.get(f"/wallets/hyperliquid/{HL}/"))
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


def test_live_page_needs_a_user_unless_the_feed_is_public(client, settings):
    settings.ALERTS_PUBLIC_FEED = False
    response = client.get("/live/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/live/")
    settings.ALERTS_PUBLIC_FEED = True
    assert client.get("/live/").status_code == 200


def test_live_page_shows_newest_events_filters_and_connection_state(signed_in, wallet):
    old = WhaleEventFactory(whale=wallet, block_time=T0 - timedelta(days=1), summary="older one")
    new = WhaleEventFactory(whale=None, block_time=T0, summary="newer one", value_usd=None)
    html = html_of(signed_in.get("/live/"))
    rows = re.findall(r'<tr data-event-id="(\d+)"', html)
    assert rows == [str(new.id), str(old.id)]
    assert f'data-since-id="{new.id}"' in html
    assert 'data-state="connecting"' in html
    for value in ("ethereum", "bitcoin", "hyperliquid", "arbitrum", "large_transfer", "mempool_whale"):
        assert f'value="{value}"' in html
    assert f'<option value="{wallet.id}" data-chain="ethereum" data-address="{EVM}">Jump 1 (ethereum)</option>' in html
    assert '<script type="module" src="/static/js/live.js"></script>' in html


def test_alerts_page_needs_a_user_and_sets_the_csrf_cookie(client, user, wallet):
    response = client.get("/alerts/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/alerts/")
    client.force_login(user)
    response = client.get("/alerts/")
    html = html_of(response)
    assert "csrftoken" in response.cookies
    assert '<form id="rule-form"' in html and 'id="alert-rows"' in html and 'id="alerts-status"' in html
    for name in ("name", "active", "chains", "event_types", "min_value_usd", "direction", "whales", "labels",
                 "entities", "cooldown_seconds", "channels", "webhook_url"):
        assert f'name="{name}"' in html
    assert '<option value="deposit">Deposit to exchange</option>' in html
    assert f'<option value="{wallet.entity_id}">Jump Trading</option>' in html
    assert '<script type="module" src="/static/js/alerts.js"></script>' in html


def test_sign_in_and_out_through_the_pages(client, user):
    html = html_of(client.get("/accounts/login/?next=/live/"))
    assert '<form method="post" action="/accounts/login/" id="login-form"' in html
    assert '<input type="hidden" name="next" value="/live/">' in html
    bad = client.post("/accounts/login/", {"username": "analyst", "password": "wrong", "next": "/live/"})
    assert bad.status_code == 200 and 'id="login-error"' in bad.content.decode()
    good = client.post("/accounts/login/", {"username": "analyst", "password": "pw-analyst-1", "next": "/live/"})
    assert (good.status_code, good["Location"]) == (302, "/live/")
    assert client.get("/live/").status_code == 200
    out = client.post("/accounts/logout/")
    assert (out.status_code, out["Location"]) == (302, "/")
    assert client.get("/alerts/").status_code == 302


# --- no external resources --------------------------------------------------------------------


class _UrlCollector(HTMLParser):
    """Every URL an element carries: (tag, attribute, url)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for name, value in attrs:
            if value and name in {"src", "href", "action", "srcset", "data", "poster", "formaction"}:
                self.urls.append((tag, name, value))


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_other_hosts(signed_in, wallet, path):
    """The only absolute URLs to other hosts are links a user may click (explorers, label evidence);
    no script, stylesheet, image or form goes elsewhere, and no inline CSS or script names one."""
    WhaleEventFactory(whale=wallet)
    if path == "/accounts/login/":
        signed_in.logout()  # a signed-in user is sent on from the sign-in page
    html = html_of(signed_in.get(path))
    parser = _UrlCollector()
    parser.feed(html)
    assert parser.urls, "expected links on every page"
    for tag, attribute, url in parser.urls:
        if url.startswith(("http://", "https://", "//")):
            assert (tag, attribute) == ("a", "href"), (tag, attribute, url)
            assert not url.startswith(("http://testserver", "//"))
    external = re.findall(r"https?://[^\s\"'<>]+", html)
    clickable = {url for tag, attribute, url in parser.urls if tag == "a"}
    assert set(external) <= clickable, set(external) - clickable


def test_own_scripts_and_styles_name_no_other_host():
    static = Path(settings.BASE_DIR) / "static"
    files = [*static.glob("js/*.js"), *static.glob("whaletrack/*.css")]
    assert {f.name for f in files} >= {"feed.js", "format.js", "live.js", "dashboard.js", "wallet.js", "alerts.js",
                                       "dashboard.css", "pages.css"}
    for file in files:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", file.read_text()), file


def test_chart_js_is_vendored_with_its_licence():
    vendor = Path(settings.BASE_DIR) / "static" / "vendor"
    bundle = (vendor / "chart.umd.min.js").read_text()
    assert bundle.startswith("/*!\n * Chart.js v4.6.1\n")
    assert len(bundle) > 100_000
    assert (vendor / "chart.js-LICENSE.md").read_text().startswith("The MIT License (MIT)")
    readme = (vendor / "README.md").read_text()
    assert "4.6.1" in readme and "MIT" in readme and "scripts/vendor_chartjs.sh" in readme
