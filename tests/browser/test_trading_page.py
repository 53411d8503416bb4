"""The paper-trading page in a real browser against a real server (``conftest.daphne_server``): account
figures, the P&L summary, the equity curve drawn by Chart.js, signals with their outcome, Halt / Resume of
the account, Pause of a strategy, orders and realized fills with their venue, an API error shown on the page, and a
screenshot (the live panel: test_live_trading_page.py).

Data (committed in the worker thread, so daphne sees it): a paper account of the signed-in user with fills
placed by ``trading.services.order_place`` at stored prices (fee and slippage 0), one order rejected by the
minimum order size, and a follow-smart-money strategy run once over two stored ``SmartMoneyFlow`` rows (ETH
is ordered, PEPE has no price and is skipped). Expected figures are computed here from those prices.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone

from tests.browser.helpers import sign_in
from tests.browser.test_pages import assert_png
from tests.trading.factories import AccountFactory, set_price
from trading.models import Account, Order, OrderStatus, SignalOutcome, Strategy, StrategySignal, StrategyStatus
from trading.services import order_place
from trading.strategies.services import strategy_create, strategy_run
from whales.models import SmartMoneyFlow

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

D = Decimal
PASSWORD = "pw-trader-1"  # a test user's password
ETH_BUY, ETH_SELL, ETH_NOW = D("2500"), D("2600"), D("2650")
BTC_BUY, BTC_NOW = D("50000"), D("51000")
STRATEGY_ORDER_USD = D("530")  # 0.2 ETH at ETH_NOW


@dataclass
class TradingData:
    account_id: int
    spare_account_id: int
    strategy_id: int
    first_fill_at: datetime
    rejected_reason: str
    skipped_reason: str


def money(value: Decimal) -> str:
    """Like ``formatDecimal(value, 2)`` in static/js/format.js: grouped, 2 places, half up."""
    return f"{value.quantize(D('0.01'), rounding=ROUND_HALF_UP):,}"


def flow(token: str, net: str, at: datetime) -> SmartMoneyFlow:
    return SmartMoneyFlow.objects.create(token=token, window="24h", net_flow_usd=D(net), bought_usd=D(net),
                                         sold_usd=D(0), buying_wallets=3, selling_wallets=0, min_score=D(60),
                                         collected_at=at)


def setup_trading(user_model) -> TradingData:
    """The user, two accounts (the second without fills), fills, a rejected order, a strategy and its run."""
    user = user_model.objects.create_user(username="trader", password=PASSWORD)
    now = timezone.now()
    account = AccountFactory(owner=user, name="Paper main")
    spare = AccountFactory(owner=user, name="Paper spare")
    t1, t2, t3, t4 = (now - timedelta(hours=h) for h in (26, 25, 3, 2))
    set_price("ETH", ETH_BUY, t1)
    set_price("BTC", BTC_BUY, t1)
    place = {"account_id": account.pk}
    assert order_place(**place, symbol="ETH", side="buy", quantity=D("0.4"), client_order_id="b1",
                       now=t1).status == OrderStatus.FILLED
    assert order_place(**place, symbol="BTC", side="buy", quantity=D("0.01"), client_order_id="b2",
                       now=t2).status == OrderStatus.FILLED
    set_price("ETH", ETH_SELL, t3)
    assert order_place(**place, symbol="ETH", side="sell", quantity=D("0.2"), client_order_id="s1",
                       now=t3).status == OrderStatus.FILLED
    rejected = order_place(**place, symbol="ETH", side="buy", quantity=D("0.001"), client_order_id="tiny", now=t4)
    assert rejected.status == OrderStatus.REJECTED and rejected.reject_reason.startswith("min_order_usd")
    set_price("ETH", ETH_NOW, now - timedelta(minutes=1))
    set_price("BTC", BTC_NOW, now - timedelta(minutes=1))

    strategy = strategy_create(account_id=account.pk, name="Smart money", kind="follow_smart_money",
                               params={"order_usd": str(STRATEGY_ORDER_USD), "tokens": ["ETH", "PEPE"]},
                               every_seconds=300, started_at=now - timedelta(hours=1))
    flow("ETH", "200000", now - timedelta(minutes=2))
    flow("PEPE", "900000", now - timedelta(minutes=2))  # no PEPE asset or price: recorded as skipped
    result = strategy_run(strategy_id=strategy.pk, now=now)
    assert (result.generated, result.ordered, result.skipped) == (2, 1, 1)
    skipped = StrategySignal.objects.get(strategy=strategy, symbol="PEPE")
    assert skipped.outcome == SignalOutcome.SKIPPED
    return TradingData(account_id=account.pk, spare_account_id=spare.pk, strategy_id=strategy.pk, first_fill_at=t1,
                       rejected_reason=rejected.reject_reason, skipped_reason=skipped.outcome_reason)


def expected_points(first_fill_at: datetime, interval: str, now: datetime) -> int:
    """Points of ``pnl/history`` (hour or day): the start of the first fill's interval, every later
    boundary up to ``now``, and ``now`` itself unless it is a boundary."""
    first = first_fill_at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    step = timedelta(hours=1)
    if interval == "day":
        first, step = first.replace(hour=0), timedelta(days=1)
    boundaries = (now - first) // step + 1
    return boundaries + (first + (boundaries - 1) * step != now)


def account_state(account_id: int) -> tuple[bool, str]:
    account = Account.objects.get(pk=account_id)
    return account.halted, account.halted_reason


def strategy_status(strategy_id: int) -> str:
    return Strategy.objects.get(pk=strategy_id).status


def wait_loaded(page, account_id: int) -> None:
    page.wait_for_function("id => document.getElementById('trading').dataset.loadedAccount === String(id)",
                           arg=account_id)


CHART_DATA = "id => Chart.getChart(id).data.datasets.map(dataset => dataset.data)"


def test_trading_page_shows_the_account_charts_signals_and_halts_resumes_and_pauses(
    daphne_server, browser, run, django_user_model, screenshot_dir,
):
    base = daphne_server
    data = run(setup_trading, django_user_model)
    cash = D(10000) - D("0.4") * ETH_BUY - D("0.01") * BTC_BUY + D("0.2") * ETH_SELL - STRATEGY_ORDER_USD
    realized = D("0.2") * (ETH_SELL - ETH_BUY)
    unrealized = D("0.2") * (ETH_NOW - ETH_BUY) + D("0.2") * (ETH_NOW - ETH_NOW) + D("0.01") * (BTC_NOW - BTC_BUY)
    volume = D("0.4") * ETH_BUY + D("0.01") * BTC_BUY + D("0.2") * ETH_SELL + STRATEGY_ORDER_USD
    portfolio = cash + D("0.4") * ETH_NOW + D("0.01") * BTC_NOW
    assert (cash, realized, unrealized, portfolio) == (D(8490), D(20), D(40), D(10060))

    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base, "/trading/", "trader", PASSWORD)
    assert page.get_attribute("nav.mainnav a[aria-current=page]", "href") == "/trading/"
    before = timezone.now()
    wait_loaded(page, data.account_id)  # the first account by default

    # Account and summary figures, formatted from the API's decimal strings.
    assert page.input_value("#account-select") == str(data.account_id)
    assert page.inner_text("#account-cash") == money(cash) == "8,490.00"
    assert page.inner_text("#account-portfolio") == money(portfolio)
    assert page.inner_text("#account-state") == "Active"
    assert page.inner_text("#summary-realized") == money(realized) == "20.00"
    assert page.inner_text("#summary-unrealized") == money(unrealized)
    assert page.inner_text("#summary-volume") == money(volume)
    assert page.inner_text("#summary-fees") == "0.00"
    assert page.inner_text("#summary-win-rate") == "100.00 %"  # one closed trade, won
    assert page.inner_text("#summary-profit-factor") == "—"  # no loss: null
    assert page.inner_text("#summary-counts") == "4 fills · 1 closed trades (1 won, 0 lost)"

    # The equity curve: one Chart.js point per pnl/history point, from starting cash to today's equity.
    [equity] = page.evaluate(CHART_DATA, "equity-chart")
    after = timezone.now()
    assert len(equity) in {expected_points(data.first_fill_at, "day", before),
                           expected_points(data.first_fill_at, "day", after)}
    assert page.get_attribute("#equity-chart", "data-points") == str(len(equity))
    assert (equity[0], equity[-1]) == (10000, float(portfolio))
    assert page.is_hidden("#equity-chart-empty")
    before = timezone.now()
    page.select_option("#equity-interval", "hour")
    page.wait_for_function("() => document.getElementById('equity-chart').dataset.interval === 'hour'")
    [hourly] = page.evaluate(CHART_DATA, "equity-chart")
    after = timezone.now()
    assert len(hourly) in {expected_points(data.first_fill_at, "hour", before),
                           expected_points(data.first_fill_at, "hour", after)}
    assert len(hourly) >= 27  # 26 hours of history
    assert (hourly[0], hourly[-1]) == (10000, float(portfolio))
    # P&L per coin: realized and unrealized bars for BTC and ETH.
    assert page.evaluate("() => Chart.getChart('coin-chart').data.labels") == ["BTC", "ETH"]
    assert page.evaluate(CHART_DATA, "coin-chart") == [
        [0, float(realized)], [float(D("0.01") * (BTC_NOW - BTC_BUY)), float(D("0.2") * (ETH_NOW - ETH_BUY))]]

    # Tables.
    assert page.locator("#position-rows tr").evaluate_all("rows => rows.map(r => r.dataset.symbol)") == ["BTC", "ETH"]
    outcomes = page.locator("#signal-rows tr").evaluate_all(
        "rows => rows.map(r => [r.cells[3].textContent, r.querySelector('.outcome').textContent,"
        " r.querySelector('.outcome').className, r.cells[7].textContent])")
    assert sorted(outcomes) == [
        ["ETH", "ordered", "badge outcome badge-fresh", "—"],
        ["PEPE", "skipped", "badge outcome badge-skipped", data.skipped_reason],
    ]
    rejected = page.locator("#order-rows tr[data-status=rejected]")
    assert rejected.locator("td.reason").inner_text() == data.rejected_reason
    assert page.locator("#order-rows tr").count() == 5
    assert page.locator("#order-rows td.venue").all_inner_texts() == ["paper"] * 5
    # Realized fills (the one sell), with their venue.
    assert page.locator("#fill-rows tr").evaluate_all(
        "rows => rows.map(r => [r.cells[1].textContent, r.cells[3].textContent, r.cells[5].textContent,"
        " r.cells[7].textContent])") == [["sell", "paper", money(ETH_SELL), money(realized)]]
    strategy_row = page.locator(f"#strategy-rows tr[data-strategy-id='{data.strategy_id}']")
    assert strategy_row.locator("td").nth(3).inner_text() == "every 300 s"
    assert strategy_row.locator("td").nth(5).inner_text() == "2 generated · 1 ordered · 0 rejected · 1 skipped"

    # An API error (400: reason too long) is shown, and nothing changes.
    page.evaluate("() => { document.getElementById('halt-reason').value = 'x'.repeat(1001); }")
    page.click("#halt-button")
    page.wait_for_selector("#trading-message[data-kind=error]")
    assert page.inner_text("#trading-message") == (
        "Could not halt Paper main: reason: Ensure this field has no more than 1000 characters.")
    assert run(account_state, data.account_id) == (False, "")

    # Halt (emergency stop) with a reason, then Resume.
    page.fill("#halt-reason", "browser test stop")
    page.click("#halt-button")
    page.wait_for_selector("#account-state[data-state=halted]")
    assert run(account_state, data.account_id) == (True, "browser test stop")
    assert page.inner_text("#account-halted-reason").startswith("browser test stop · since ")
    assert page.inner_text("#trading-message") == "Trading halted on Paper main: it places no orders until resumed."
    assert page.is_hidden("#halt-button") and page.is_visible("#resume-button")
    page.click("#resume-button")
    page.wait_for_selector("#account-state[data-state=active]")
    assert run(account_state, data.account_id) == (False, "")
    assert page.is_visible("#halt-button") and page.is_hidden("#resume-button")

    # Pause the strategy.
    strategy_row.locator("button.strategy-pause").click()
    page.wait_for_selector(f"#strategy-rows tr[data-strategy-id='{data.strategy_id}'][data-status=paused]")
    assert run(strategy_status, data.strategy_id) == StrategyStatus.PAUSED
    assert strategy_row.locator(".strategy-status").inner_text() == "paused"
    assert strategy_row.locator("td").nth(3).inner_text() == "every 300 s (disabled)"

    # The other account: selected from the list (and kept in the URL); no fills, so the empty state.
    page.select_option("#account-select", str(data.spare_account_id))
    wait_loaded(page, data.spare_account_id)
    assert page.url == f"{base}/trading/?account={data.spare_account_id}"
    assert page.is_visible("#equity-chart-empty") and page.is_hidden("#equity-chart")
    assert page.inner_text("#account-cash") == "10,000.00"
    assert page.inner_text("#position-rows") == "No open positions."

    # ?account= selects the account on load.
    page.goto(f"{base}/trading/?account={data.account_id}")
    wait_loaded(page, data.account_id)
    assert page.inner_text("#account-cash") == money(cash)
    assert run(lambda: Order.objects.filter(account_id=data.account_id).count()) == 5
    png = screenshot_dir / "trading.png"
    page.screenshot(path=str(png), full_page=True)
    assert_png(png)
    print(f"screenshot: {png}")
    assert errors == []
