"""The token page in Chromium against a real daphne: the chart draws the price, whale moves, catalysts and mood
that ``GET /api/v1/tokens/{symbol}`` gives for the window, and changing the window redraws it and its tables from
the API. Data: the recorded CoinGecko ETH series and a whale move, a catalyst and mood readings of ETH."""

import pytest
from django.core.management import call_command

from tests.browser.conftest import SCREENSHOT_DIR
from tests.ledgers.exchange.market.test_token import LAST_DAY
from tests.whales.factories import TradeFactory, WhaleEventFactory, WhaleFactory
from whales.context import CatalystItem, MoodItem, catalysts_upsert, moods_upsert

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def eth_data() -> None:
    from datetime import timedelta
    from decimal import Decimal

    call_command("import_prices", verbosity=0)
    whale = WhaleFactory(name="ETH whale")
    for days, tx in ((3, "1"), (20, "2")):
        trade = TradeFactory(whale=whale, base_asset="ETH", block_time=LAST_DAY - timedelta(days=days),
                             tx_hash="0x" + tx * 64, value_usd=Decimal("3100000.00"))
        WhaleEventFactory(whale=whale, chain=trade.chain, tx_hash=trade.tx_hash, log_index=trade.log_index,
                          block_time=trade.block_time, value_usd=trade.value_usd, summary=f"ETH whale moved ({days} d)")
    catalysts_upsert(source="test", items=[CatalystItem(
        source_ref="etf", type="listing", title="ETH ETF listed", url="https://x.test/etf",
        occurred_at=LAST_DAY - timedelta(days=1), impact_score=70, coins=["ETH"])])
    moods_upsert(source="test", items=[
        MoodItem(f"p{n}", ["ETH"], LAST_DAY - timedelta(days=n), Decimal("0.3") - Decimal(n) / 10, Decimal(1))
        for n in range(1, 6)])


def series(token: dict) -> str:
    return (f"Price (USD):{len(token['prices'])},Whale moves:{len(token['events'])},"
            f"Catalysts:{len(token['catalysts'])},Mood:{len(token['sentiment']['daily'])}")


def test_the_token_page_draws_the_apis_window_and_redraws_when_it_changes(daphne_server, browser, run):
    run(eth_data)
    page = browser.new_page(viewport={"width": 1280, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{daphne_server}/tokens/ETH/", wait_until="networkidle")
    month = page.request.get(f"{daphne_server}/api/v1/tokens/ETH?days=30").json()
    assert series(month) == "Price (USD):30,Whale moves:2,Catalysts:1,Mood:5"
    canvas = page.locator("#token-chart")
    assert canvas.get_attribute("data-series") == series(month)
    drawn = page.evaluate("() => Chart.getChart(document.getElementById('token-chart')).data.datasets"
                          ".map((d) => d.data.length)")
    assert drawn == [30, 2, 1, 5]
    assert page.locator("#token-events tbody tr[data-event-id]").count() == 2
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT_DIR / "token.png"), full_page=True)

    page.select_option("#token-days", "7")
    page.wait_for_function("() => document.getElementById('token').dataset.days === '7' && "
                           "document.getElementById('token').dataset.loading === 'false'", timeout=20_000)
    week = page.request.get(f"{daphne_server}/api/v1/tokens/ETH?days=7").json()
    assert series(week) == "Price (USD):7,Whale moves:1,Catalysts:1,Mood:5"
    assert canvas.get_attribute("data-series") == series(week)
    assert [int(i) for i in page.locator("#token-events tbody tr").evaluate_all(
        "(rows) => rows.map((r) => r.dataset.eventId)")] == [e["id"] for e in week["events"]]
    assert page.locator("#token-catalysts tbody tr a").get_attribute("href") == "https://x.test/etf"
    assert errors == []
