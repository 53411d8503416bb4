"""The smart-money pages in Chromium against a real daphne: the leaderboard draws the rows of the cached
``GET /api/v1/smart-money/wallets`` (scores, every component's points and weight, ROI, win rate, volume, chain,
labels, top tokens) and filters them; a row leads to the wallet page, which shows the score, its components, the
classification with its reason and the score history chart; the flows page draws every token's net flows, buyers
and sellers and top wallets, and the chart of a token's net flow per collection.

Data: whales, metrics and trades created here, scored by the real scoring run, classified by the real
classification and collected by the real flows collection; every expected figure is worked out here from formula
v1 (default weights roi 0.35, win rate 0.25, realized P&L 0.25, consistency 0.15) and the flow rules."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.browser.conftest import SCREENSHOT_DIR

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

READY = "() => document.getElementById('{root}').dataset.loading === 'false'"


def leaderboard_data() -> dict:
    """Alpha (ethereum, label smart-fund): scored 5 days ago with ROI 100 % -> 55.00, then ROI 300 % -> 72.50;
    Beta (hyperliquid): 57.50 with two profitable daily rows; Gamma (bitcoin): 12.50, low confidence."""
    from django.utils import timezone

    from tests.whales.factories import LabelFactory, TradeFactory, WalletMetricsFactory, WhaleFactory, WhaleLabelFactory
    from whales.analytics.classification import whales_classify
    from whales.analytics.scoring import scoring_run
    from whales.chains import Chain
    from whales.models import WalletMetrics, WalletMetricsDaily

    now = timezone.now()
    alpha = WhaleFactory(name="Alpha")
    beta = WhaleFactory(name="Beta", chain=Chain.HYPERLIQUID, address="0x" + "b" * 40)
    gamma = WhaleFactory(name="Gamma", chain=Chain.BITCOIN, address="bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")
    WhaleLabelFactory(whale=alpha, label=LabelFactory(slug="smart-fund", name="Smart fund"))
    metrics = WalletMetricsFactory(whale=alpha, roi_percent=Decimal("100"), win_rate_percent=Decimal("100"),
                                   realized_pnl_usd=Decimal("0"), closed_round_trips=40, trades_30d=25,
                                   volume_30d_usd=Decimal("1234567.891"), portfolio_value_usd=Decimal("2000000"))
    WalletMetricsFactory(whale=beta, roi_percent=Decimal("100"), win_rate_percent=Decimal("50"),
                         realized_pnl_usd=Decimal("0"), closed_round_trips=12, volume_30d_usd=Decimal("500"))
    WalletMetricsFactory(whale=gamma, roi_percent=Decimal("-100"), win_rate_percent=Decimal("0"),
                         realized_pnl_usd=Decimal("0"), closed_round_trips=2, volume_30d_usd=Decimal("0"))
    for days in (2, 3):
        WalletMetricsDaily.objects.create(whale=beta, date=(now - timedelta(days=days)).date(),
                                          roi_percent=Decimal("1"))
    scoring_run(now=now - timedelta(days=5))
    WalletMetrics.objects.filter(pk=metrics.pk).update(roi_percent=Decimal("300"))
    scoring_run(now=now - timedelta(days=1))
    TradeFactory(whale=alpha, direction="buy", base_asset="ETH", value_usd=Decimal("5000"),
                 block_time=now - timedelta(days=1))
    TradeFactory(whale=alpha, direction="sell", base_asset="PEPE", value_usd=Decimal("700"),
                 block_time=now - timedelta(days=20))
    whales_classify(now=now)
    return {"alpha": alpha.address, "scored_at": [(now - timedelta(days=d)).isoformat() for d in (5, 1)]}


def rows(page) -> list[list[str]]:
    return page.locator("#sm-wallets tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [...r.cells].map((c) => c.textContent.trim()))")


def test_leaderboard_rows_filters_and_the_wallet_page_with_its_score_history(daphne_server, browser, run):
    data = run(leaderboard_data)
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{daphne_server}/smart-money/", wait_until="networkidle")
    page.wait_for_function(READY.format(root="smart-money"), timeout=20_000)

    # Alpha: roi (300+100)/400 = 1 -> 35.00, win rate 1 -> 25.00, P&L 0 USD -> 0.5 -> 12.50, no daily row -> 0.
    # Beta: 0.5 -> 17.50, 0.5 -> 12.50, 12.50, 2 of 2 days profitable -> 15.00. Gamma: 0, 0, 12.50, 0.
    weights = ("0.35", "0.25", "0.25", "0.15")

    def parts(*points: str) -> list[str]:
        return [f"{p} \u00d7{w}" for p, w in zip(points, weights, strict=True)]  # "35.00 x0.35" (multiplication sign)

    alpha = ["1", "Alpha", "Ethereum", "smart-fund", "72.50", "high", *parts("35.00", "25.00", "12.50", "0.00"),
             "300.00", "100.0", "0.00", "1,234,567.89", "ETH PEPE"]
    beta = ["2", "Beta", "Hyperliquid", "\u2014", "57.50", "medium", *parts("17.50", "12.50", "12.50", "15.00"),
            "100.00", "50.0", "0.00", "500.00", "\u2014"]
    gamma = ["3", "Gamma", "Bitcoin", "\u2014", "12.50", "low", *parts("0.00", "0.00", "12.50", "0.00"),
             "-100.00", "0.0", "0.00", "0.00", "\u2014"]
    drop_address = [[cell for i, cell in enumerate(row) if i != 1] for row in (alpha, beta, gamma)]
    got = rows(page)
    assert [[cell for i, cell in enumerate(row) if i != 1] for row in got] == drop_address
    assert [row[1].startswith(name) for row, name in zip(got, ("Alpha", "Beta", "Gamma"), strict=True)] == [True] * 3
    assert page.locator("#sm-count").text_content() == "1\u20133 of 3 scored wallets"
    # The page read the cached API: the same query is now a hit.
    cached = page.request.get(f"{daphne_server}/api/v1/smart-money/wallets?limit=50&offset=0")
    assert cached.headers["x-cache"] == "HIT"
    assert [item["score"] for item in cached.json()["items"]] == ["72.50", "57.50", "12.50"]
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "smart-money.png"), full_page=True)

    page.select_option("#sm-filters select[name=chain]", "hyperliquid")
    page.wait_for_function("() => document.getElementById('smart-money').dataset.total === '1'", timeout=20_000)
    assert [row[2] for row in rows(page)] == ["Hyperliquid"]
    assert page.url.endswith("/smart-money/?chain=hyperliquid&sort_by=score&order=desc")
    page.select_option("#sm-filters select[name=chain]", "")
    page.select_option("#sm-filters select[name=label]", "smart-fund")
    page.wait_for_function("() => document.getElementById('smart-money').dataset.query === "
                           "'label=smart-fund&sort_by=score&order=desc'", timeout=20_000)
    assert [row[4] for row in rows(page)] == ["72.50"]
    page.select_option("#sm-filters select[name=label]", "")
    page.fill("#sm-filters input[name=min_score]", "50")
    page.press("#sm-filters input[name=min_score]", "Enter")
    page.wait_for_function("() => document.getElementById('smart-money').dataset.query === "
                           "'min_score=50&sort_by=score&order=desc'", timeout=20_000)
    assert [row[4] for row in rows(page)] == ["72.50", "57.50"]
    assert page.locator("#sm-wallets a.token").evaluate_all("(links) => links.map((a) => a.getAttribute('href'))") == [
        "/tokens/ETH/", "/tokens/PEPE/"]

    page.click("#sm-wallets a.wallet >> text=Alpha")
    page.wait_for_url(f"{daphne_server}/wallets/ethereum/{data['alpha']}/")
    page.wait_for_function("() => document.getElementById('score-chart').dataset.points === '2'", timeout=20_000)
    assert page.locator("#score-value").text_content() == "72.50"
    assert page.locator("#score-components tbody tr").evaluate_all(
        "(rows) => rows.map((r) => [...r.cells].map((c) => c.textContent.trim()))") == [
        ["ROI", "300.0000", "1.00000000", "0.35", "35.00"],
        ["Win rate", "100.0000", "1.00000000", "0.25", "25.00"],
        ["Realized P&L", "0.00000000", "0.50000000", "0.25", "12.50"],
        ["Consistency", "none", "0.00000000", "0.15", "0.00"],
    ]
    # 25 trades in 30 days (>= 20): trading; its last sale 20 days ago (< 90): not holding -> trader.
    assert page.locator("#classification-type").text_content() == "Trader"
    assert page.locator("#classification-reason").text_content() == (
        "trader: 25 trades/30d (trader >= 20), turnover 0.62x (trader >= 1.0), 20 days since last sale "
        "(holder >= 90)")
    chart = page.evaluate("() => { const c = Chart.getChart(document.getElementById('score-chart'));"
                          " return {labels: c.data.labels, values: c.data.datasets[0].data}; }")
    assert chart == {"labels": [at[:16].replace("T", " ") for at in data["scored_at"]], "values": [55, 72.5]}
    page.screenshot(path=str(SCREENSHOT_DIR / "wallet-score.png"), full_page=True)
    assert errors == []


def flows_data() -> None:
    """Two smart-money whales (scores 80 and 70) and one below 60; flows collected 2 h ago, 1 h ago and now."""
    from django.utils import timezone

    from tests.whales.factories import TradeFactory, WhaleFactory
    from whales.analytics.flows import flows_collect
    from whales.models import WalletScore

    now = timezone.now()
    whales = {name: WhaleFactory(name=name) for name in ("A", "B", "C")}
    for name, score in (("A", "80"), ("B", "70"), ("C", "30")):
        WalletScore.objects.create(whale=whales[name], score=Decimal(score), confidence="high", formula_version="v1")
    for name, direction, usd, asset, ago in (
            ("A", "buy", "1000", "ETH", timedelta(minutes=30)), ("B", "sell", "400", "ETH", timedelta(hours=3)),
            ("A", "buy", "250", "BTC", timedelta(days=2)), ("C", "buy", "9999", "ETH", timedelta(minutes=20))):
        TradeFactory(whale=whales[name], direction=direction, value_usd=Decimal(usd), base_asset=asset,
                     block_time=now - ago)
    for hours in (2, 1, 0):
        flows_collect(now=now - timedelta(hours=hours))


def test_flows_page_tables_and_the_net_flow_chart(daphne_server, browser, run):
    run(flows_data)
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{daphne_server}/smart-money/flows/", wait_until="networkidle")
    page.wait_for_function(READY.format(root="flows"), timeout=20_000)
    page.wait_for_function("() => document.getElementById('flow-chart').dataset.loading === 'false'", timeout=20_000)

    def table() -> list[list[str]]:
        return page.locator("#flows-tokens tbody tr").evaluate_all(
            "(rows) => rows.map((r) => [...r.cells].slice(0, 11).map((c) => c.textContent.trim()))")

    # Newest collection: ETH bought 1000 (A, 30 min ago) and sold 400 (B, 3 h ago); C (score 30) does not count.
    # 1h: only A's buy; 24h/7d/30d: +600. BTC: A's 250 two days ago, in 7d and 30d only: last under 24h.
    assert table() == [
        ["ETH", "1,000.00", "600.00", "600.00", "600.00", "1,000.00", "400.00", "1", "1", "A 1,000.00", "B -400.00"],
        ["BTC", "—", "—", "250.00", "250.00", "—", "—", "—", "—", "—", "—"],
    ]
    assert page.locator("#flows-tokens a.token").evaluate_all("(a) => a.map((x) => x.getAttribute('href'))") == [
        "/tokens/ETH/", "/tokens/BTC/"]
    # The chart: ETH over 24h, one point per collection: 2 h ago and 1 h ago only B's sale was in the window.
    canvas = page.locator("#flow-chart")
    assert (canvas.get_attribute("data-token"), canvas.get_attribute("data-series")) == (
        "ETH", "Net flow (USD):3,Buyers:3,Sellers:3")
    drawn = page.evaluate("() => Chart.getChart(document.getElementById('flow-chart')).data.datasets"
                          ".map((d) => d.data.map((p) => p.y))")
    assert drawn == [[-400, -400, 600], [0, 0, 1], [1, 1, 1]]
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "smart-money-flows.png"), full_page=True)

    page.select_option("#flows-window", "7d")
    page.wait_for_function("() => document.getElementById('flows').dataset.window === '7d' && "
                           "document.getElementById('flows').dataset.loading === 'false'", timeout=20_000)
    assert table()[1] == ["BTC", "—", "—", "250.00", "250.00", "250.00", "0.00", "1", "0", "A 250.00", "—"]
    page.select_option("#flow-token", "BTC")
    page.select_option("#flow-chart-window", "7d")
    page.wait_for_function("() => document.getElementById('flow-chart').dataset.token === 'BTC' && "
                           "document.getElementById('flow-chart').dataset.window === '7d' && "
                           "document.getElementById('flow-chart').dataset.loading === 'false'", timeout=20_000)
    drawn = page.evaluate("() => Chart.getChart(document.getElementById('flow-chart')).data.datasets[0]"
                          ".data.map((p) => p.y)")
    assert drawn == [250, 250, 250]
    page.select_option("#flow-chart-window", "24h")  # BTC has no 24h flow: the chart says so
    page.wait_for_function("() => document.getElementById('flow-chart').dataset.window === '24h' && "
                           "document.getElementById('flow-chart').dataset.loading === 'false'", timeout=20_000)
    assert page.locator("#flow-chart-empty").is_visible()
    assert errors == []
