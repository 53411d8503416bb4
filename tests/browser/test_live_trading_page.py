"""Live trading end to end in a real browser (issue 18, "Done means"): the trading page's "Live trading" panel
on a real daphne server whose Hyperliquid is the replay node's simulator (``HYPERLIQUID_API_URL`` =
``replay.hyperliquid_url``, loopback, so the panel says "simulated venue").

The walk-through: the owner enters the credentials of a simulated user (main wallet address + approved agent key)
and tests the connection; staff, signed in to the admin in another browser context, flip the live-trading switch
(LiveTradingToggle's add form) and use the account action "Live mode ON…"; the owner confirms the limits (all
gates ok); a follow-whale strategy places a live market order (``strategy_run``, what the beat row runs) and a
resting limit order is placed; the owner sees the fill (venue hyperliquid, the venue's fill price) and the resting
order at the venue; the emergency stop (with its confirm step, flattening) cancels it and closes the position;
"Reconcile now" finds the books in agreement; API errors (400, 409) show the API's detail in the panel.

Expected values come from the venue's own answers (``/info`` userFills, openOrders, clearinghouseState) and from
the recorded allMids (the cassette), never from the page.
"""

import json
from dataclasses import dataclass
from datetime import UTC, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import yaml
from cryptography.fernet import Fernet
from django.conf import settings as django_settings
from django.utils import timezone
from eth_account import Account as EthAccount

from tests.browser.helpers import sign_in
from tests.browser.test_pages import assert_png
from tests.trading.factories import AccountFactory
from tests.whales.factories import TradeFactory, WhaleFactory
from trading.live import live_limits
from trading.models import (
    Account,
    ExchangeCredential,
    LiveTradingToggle,
    Order,
    OrderStatus,
    Reconciliation,
    VenueCall,
)
from trading.services import order_place
from trading.strategies.services import strategy_create, strategy_run
from whales.models import Direction

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

D = Decimal
PASSWORD = "pw-live-owner-1"  # test users' passwords
STAFF_PASSWORD = "pw-live-staff-1"
MAIN = EthAccount.from_key("0x" + "a1" * 32)  # keys made for this test; eth-account derives the addresses
AGENT = EthAccount.from_key("0x" + "b2" * 32)
CREDENTIALS_KEY = Fernet.generate_key().decode()
WHALE_BUY = D(2)  # the whale buys 2 ETH; the strategy mirrors it at scale 0.25
SCALE = D("0.25")
RESTING_PRICE = D(1800)  # below the recorded mid: the limit order rests


def recorded_mid(coin: str) -> Decimal:
    """The simulator's mid: the recorded allMids answer (the SDK's cassette)."""
    path = Path(django_settings.REPLAY_DATA_DIR) / "hyperliquid-python-sdk-cassettes" / "test_get_all_mids.yaml"
    [interaction] = yaml.safe_load(path.read_text())["interactions"]
    return D(json.loads(interaction["response"]["body"]["string"])[coin])


def info(node, body: dict):
    response = requests.post(f"{node.hyperliquid_url}/info", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def money(value: Decimal) -> str:
    """Like ``formatDecimal(value, 2)`` in static/js/format.js: grouped, 2 places, half up."""
    return f"{value.quantize(D('0.01'), rounding=ROUND_HALF_UP):,}"


def utc(moment) -> str:
    """Like ``formatTime`` in static/js/format.js: "YYYY-MM-DD HH:MM:SS" UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def hyperliquid(replay, settings):
    """The replay node's Hyperliquid with MAIN (100,000 USDC) and its approved AGENT; this process's settings
    point at it too (``strategy_run`` and ``order_place`` run here)."""
    settings.HYPERLIQUID_API_URL = replay.hyperliquid_url
    settings.HYPERLIQUID_WEIGHT_BUDGET = "1000000/minute"
    settings.TRADING_LIVE_ENABLED = True
    settings.TRADING_CREDENTIALS_KEYS = [CREDENTIALS_KEY]
    response = requests.post(f"{replay.url}/_replay/hyperliquid/accounts", timeout=10,
                             json={"user": MAIN.address, "agents": [AGENT.address], "usdc": "100000"})
    assert response.status_code == 200, response.text
    return replay


@pytest.fixture
def daphne_env(hyperliquid) -> dict[str, str]:
    return {"HYPERLIQUID_API_URL": hyperliquid.hyperliquid_url, "HYPERLIQUID_WEIGHT_BUDGET": "1000000/minute",
            "TRADING_LIVE_ENABLED": "true", "TRADING_CREDENTIALS_KEYS": CREDENTIALS_KEY}


@dataclass
class People:
    account_id: int


def setup_people(user_model) -> People:
    owner = user_model.objects.create_user(username="trader", password=PASSWORD)
    user_model.objects.create_superuser(username="ops", email="ops@example.com", password=STAFF_PASSWORD)
    account = AccountFactory(owner=owner, name="Live main", starting_cash_usd=D(100000), cash_usd=D(100000),
                             fee_bps=D("4.5"), max_order_notional_usd=D(50000), max_daily_notional_usd=D(100000))
    return People(account_id=account.pk)


@dataclass
class Placed:
    strategy_order_id: int
    resting_order_id: int
    resting_venue_order_id: str


def place_live_orders(account_id: int) -> Placed:
    """A follow-whale strategy run (the whale bought at a price inside the band around the recorded mid) and a
    resting limit buy."""
    now = timezone.now()
    whale = WhaleFactory()
    strategy = strategy_create(account_id=account_id, name="Follow the whale", kind="follow_whale",
                               params={"whale_id": whale.pk, "scale": str(SCALE)}, every_seconds=300,
                               started_at=now - timedelta(hours=1))
    TradeFactory(whale=whale, block_time=now - timedelta(minutes=5), direction=Direction.BUY, amount_base=WHALE_BUY,
                 price_usd=recorded_mid("ETH") - D("3.95"))  # 1900: 0.2 % from the mid, inside the 2 % band
    result = strategy_run(strategy_id=strategy.pk, now=now)
    assert (result.generated, result.ordered) == (1, 1), result
    ordered = Order.objects.get(strategy=strategy)
    assert ordered.status == OrderStatus.FILLED, ordered.reject_reason
    resting = order_place(account_id=account_id, symbol="ETH", side="buy", quantity=D(1), client_order_id="rest-1",
                          order_type="limit", limit_price_usd=RESTING_PRICE)
    assert resting.status == OrderStatus.SUBMITTED and resting.venue_order_id, resting.reject_reason
    return Placed(strategy_order_id=ordered.pk, resting_order_id=resting.pk,
                  resting_venue_order_id=resting.venue_order_id)


def wait_panel(page, refreshes: int) -> None:
    """Wait until the live panel finished its ``refreshes``-th load."""
    page.wait_for_function("n => Number(document.getElementById('live').dataset.refreshes || 0) >= n",
                           arg=refreshes)


def refreshes(page) -> int:
    return int(page.get_attribute("#live", "data-refreshes") or 0)


def gates(page) -> list[list]:
    return page.locator("#live-gates li").evaluate_all(
        "items => items.map(li => [li.dataset.gate, li.querySelector('.gate-state').textContent,"
        " li.querySelector('.gate-detail').textContent])")


def message(page) -> tuple[str, str]:
    return page.get_attribute("#live-message", "data-kind"), page.inner_text("#live-message")


def act(page, selector: str) -> None:
    """Click a panel button and wait for the panel's reload after the action."""
    before = refreshes(page)
    page.click(selector)
    wait_panel(page, before + 1)


def test_the_owner_goes_live_on_the_simulated_venue_sees_the_fill_and_stops_everything(
    daphne_server, browser, run, django_user_model, hyperliquid, screenshot_dir,
):
    base = daphne_server
    people = run(setup_people, django_user_model)
    account_id = people.account_id
    mid = recorded_mid("ETH")
    assert mid == D("1903.95")

    owner = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = owner.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, base, "/trading/", "trader", PASSWORD)
    wait_panel(page, 1)

    # A paper account without credentials: no venue yet, the paper book's (empty) open orders.
    assert page.inner_text("#live-venue") == "none yet (stored credentials choose it)"
    assert page.is_hidden("#live-simulated")
    assert gates(page) == [
        ["setting", "ok", "TRADING_LIVE_ENABLED is on"],
        ["admin_toggle", "blocked", "the admin switch is off"],
        ["live_mode", "blocked", "staff have not set this account to live mode"],
        ["confirmation", "blocked", "the owner has not confirmed the limits"],
        ["credentials", "blocked", "no venue credentials stored"],
    ]
    assert page.inner_text("#venue-order-rows") == "No open orders at the venue."
    assert page.is_disabled("#credentials-test")

    # The form's labels follow the venue; the secret is a password field.
    assert (page.inner_text("#credentials-key-label"), page.inner_text("#credentials-secret-label")) == (
        "Main wallet address", "Agent (API) wallet private key")
    assert page.get_attribute("#credentials-secret", "type") == "password"
    page.select_option("#credentials-venue", "coinspot")
    assert (page.inner_text("#credentials-key-label"), page.inner_text("#credentials-secret-label")) == (
        "API key", "API secret")
    page.select_option("#credentials-venue", "hyperliquid")
    assert "main wallet key" not in page.inner_text("#live").lower()

    # 1. Credentials. The main wallet's own key is refused (400, the API's detail in the panel, the secret
    # cleared, nothing stored); then the agent's key is stored and only its hint comes back.
    page.fill("#credentials-key", MAIN.address)
    page.fill("#credentials-secret", MAIN.key.hex())
    act(page, "#credentials-save")
    assert message(page) == ("error", "this is the main wallet's own key: create an API wallet at Hyperliquid "
                                      "(More > API) and enter its key; the main wallet's key is never needed")
    assert page.input_value("#credentials-secret") == ""
    assert run(lambda: ExchangeCredential.objects.count()) == 0
    page.fill("#credentials-secret", AGENT.key.hex())
    act(page, "#credentials-save")
    hint = f"agent {AGENT.address[:6]}…{AGENT.address[-4:]} for {MAIN.address[:6]}…{MAIN.address[-4:]}".lower()
    assert message(page) == ("ok", f"Credentials saved for Hyperliquid: {hint}")
    assert page.get_attribute("#credentials-hint", "data-state") == "stored"
    assert page.inner_text("#credentials-hint").startswith(f"Stored for Hyperliquid: {hint} (saved ")
    assert (page.input_value("#credentials-key"), page.input_value("#credentials-secret")) == ("", "")
    assert AGENT.key.hex().removeprefix("0x") not in page.content()
    assert page.is_visible("#live-simulated") and page.inner_text("#live-simulated") == "simulated venue"
    assert page.inner_text("#live-venue") == "Hyperliquid"
    assert page.inner_text("#live-host") == urlsplit(hyperliquid.hyperliquid_url).netloc
    assert gates(page)[-1] == ["credentials", "ok", "hyperliquid credentials stored"]

    # 2. Test connection: ok, with the balances the venue reports for the main wallet.
    act(page, "#credentials-test")
    spot = info(hyperliquid, {"type": "spotClearinghouseState", "user": MAIN.address})
    perp = info(hyperliquid, {"type": "clearinghouseState", "user": MAIN.address})
    balances = [f"{row['coin']} {D(str(row['total'])):f}" for row in spot.get("balances", [])]
    balances.append(f"USDC (perp margin) {D(str(perp['marginSummary']['accountValue'])):f}")
    # ... and the agent among the main wallet's approved agents (the venue's extraAgents answer).
    agents = [a["address"].lower() for a in info(hyperliquid, {"type": "extraAgents", "user": MAIN.address})]
    agent = AGENT.address.lower()
    assert agent in agents
    detail = f"balances: {', '.join(balances[:5])}; agent {agent[:6]}…{agent[-4:]} approved"
    assert "100000" in detail
    assert page.get_attribute("#credentials-test-result", "data-state") == "ok"
    assert page.inner_text("#credentials-test-result .test-detail") == detail
    assert message(page) == ("ok", f"Connection test ok: {detail}")

    # 3. Staff, in another browser context: the live-trading switch, then "Live mode ON…" on the account.
    staff = browser.new_context(viewport={"width": 1440, "height": 1000})
    admin = staff.new_page()
    admin.goto(f"{base}/admin/login/?next=/admin/")
    admin.fill("#id_username", "ops")
    admin.fill("#id_password", STAFF_PASSWORD)
    admin.click("input[type=submit]")
    admin.wait_for_url(f"{base}/admin/")
    admin.goto(f"{base}/admin/trading/livetradingtoggle/add/")
    admin.check("#id_enabled")
    admin.fill("#id_reason", "go live: browser walk-through")
    admin.click("input[name=_save]")
    admin.wait_for_selector(".messagelist .success")
    toggle = run(lambda: LiveTradingToggle.objects.values_list("enabled", "previous", "changed_by__username",
                                                               "reason").get())
    assert toggle == (True, False, "ops", "go live: browser walk-through")
    admin.goto(f"{base}/admin/trading/account/")
    admin.check(f"input[name=_selected_action][value='{account_id}']")
    admin.select_option("select[name=action]", "live_mode_on")
    admin.click("button[name=index]")
    admin.wait_for_selector(".messagelist .warning")
    assert admin.inner_text(".messagelist .warning") == (
        "Live mode on for Live main (hyperliquid). Orders still need the setting, the admin switch and the owner's "
        "confirmation of the limits.")
    assert run(lambda: Account.objects.values_list("mode", "live_venue").get(pk=account_id)) == ("live", "hyperliquid")
    staff.close()

    # 4. The owner sees the gates move and confirms the limits it lists.
    act(page, "#live-refresh")
    switched_at = run(lambda: LiveTradingToggle.objects.get().changed_at)
    assert gates(page)[:4] == [
        ["setting", "ok", "TRADING_LIVE_ENABLED is on"],
        ["admin_toggle", "ok", f"the admin switch is on since {switched_at.isoformat()}"],
        ["live_mode", "ok", "live mode on hyperliquid"],
        ["confirmation", "blocked", "the owner has not confirmed the limits"],
    ]
    limits = run(lambda: live_limits(Account.objects.get(pk=account_id)))
    shown = page.locator("#live-limits dd").evaluate_all("dds => dds.map(dd => [dd.dataset.limit, dd.textContent])")
    assert shown == [[name, value] for name, value in limits.items()]
    assert page.get_attribute("#live-confirmed", "data-confirmed") == "false"
    act(page, "#live-confirm")
    confirmed_at = run(lambda: Account.objects.get(pk=account_id).live_confirmed_at)
    assert message(page) == ("ok", f"Limits confirmed at {utc(confirmed_at)} UTC: "
                                   + ", ".join(f"{name}={value}" for name, value in limits.items()))
    assert page.inner_text("#live-confirmed") == f"Confirmed at {utc(confirmed_at)} UTC."
    assert page.get_attribute("#live-gates", "data-all-ok") == "true"
    assert gates(page)[3] == ["confirmation", "ok", f"the owner confirmed these limits at {confirmed_at.isoformat()}"]

    # 5. A strategy places a live market order (filled at the venue) and a limit order rests there.
    placed = run(place_live_orders, account_id)

    # 6. The owner sees the fill with the venue's price, and the resting order at the venue as ours.
    [venue_fill] = info(hyperliquid, {"type": "userFills", "user": MAIN.address})
    assert (venue_fill["side"], D(venue_fill["sz"]), D(venue_fill["px"])) == ("B", WHALE_BUY * SCALE, mid)
    loads = int(page.get_attribute("#trading", "data-loads"))
    act(page, "#live-refresh")
    page.wait_for_function("n => Number(document.getElementById('trading').dataset.loads) > n", arg=loads)
    row = page.locator(f"#order-rows tr[data-order-id='{placed.strategy_order_id}']")
    assert row.get_attribute("data-status") == "filled"
    assert row.locator("td.venue").inner_text() == "hyperliquid"
    assert row.locator("td").nth(7).inner_text() == money(D(venue_fill["px"])) == "1,903.95"
    assert row.locator("td").nth(6).inner_text() == f"{D(venue_fill['sz']).normalize():f}" == "0.5"
    [[venue_order_id, ours]] = page.locator("#venue-order-rows tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.venueOrderId, r.cells[8].textContent])")
    [resting] = info(hyperliquid, {"type": "openOrders", "user": MAIN.address})
    assert venue_order_id == str(resting["oid"]) == placed.resting_venue_order_id
    assert ours == f"#{placed.resting_order_id}"
    assert page.inner_text("#venue-orders-count") == "1 open"

    # 7. The emergency stop, with its confirm step, flattening the position.
    page.check("#estop-flatten")
    page.fill("#estop-reason", "walk-through stop")
    page.click("#estop-button")
    assert page.inner_text("#estop-question") == (
        "Halt this account and cancel every open order at Hyperliquid, then close every position with "
        "reduce-only market orders?")
    assert run(lambda: Account.objects.get(pk=account_id).halted) is False  # nothing happens before the confirm
    loads = int(page.get_attribute("#trading", "data-loads"))
    act(page, "#estop-go")
    page.wait_for_function("n => Number(document.getElementById('trading').dataset.loads) > n", arg=loads)

    # 8. The report; the venue's open orders are gone (page and venue); the cancel is in the venue-call list.
    [flatten_id] = run(lambda: list(Order.objects.filter(account_id=account_id, reduce_only=True)
                                    .values_list("pk", flat=True)))
    assert page.inner_text("#estop-cancelled") == placed.resting_venue_order_id
    assert page.inner_text("#estop-already-closed") == "none"
    assert page.inner_text("#estop-flatten-orders") == f"#{flatten_id}"
    assert page.inner_text("#estop-failures") == "none"
    assert message(page) == ("ok", "Emergency stop done: 1 order(s) cancelled at the venue, 1 flatten order(s), "
                                   "0 failure(s).")
    assert page.get_attribute("#venue-orders", "data-total") == "0"
    assert page.inner_text("#venue-order-rows") == "No open orders at the venue."
    assert info(hyperliquid, {"type": "openOrders", "user": MAIN.address}) == []
    calls = page.locator("#venue-call-rows tr").evaluate_all(
        "rows => rows.map(r => [r.dataset.action, r.dataset.ok, r.cells[3].textContent])")
    expected = run(lambda: [[c.action, str(c.ok).lower(), f"#{c.order_id}" if c.order_id else "—"]
                            for c in VenueCall.objects.filter(account_id=account_id)[:20]])
    assert calls == expected == [
        ["place", "true", f"#{flatten_id}"],
        ["cancel", "true", f"#{placed.resting_order_id}"],
        ["list_open_orders", "true", "—"],
        ["place", "true", f"#{placed.resting_order_id}"],
        ["place", "true", f"#{placed.strategy_order_id}"],
        ["test", "true", "—"],
    ]
    assert page.locator("#venue-call-rows tr[data-action=cancel] td.reason").inner_text() == "ok"
    # The page follows: halted, the resting order cancelled, the flatten's sell fill at the venue's price.
    assert page.inner_text("#account-state") == "Halted"
    assert page.inner_text("#account-halted-reason").startswith("emergency_stop: walk-through stop · since ")
    assert page.get_attribute(f"#order-rows tr[data-order-id='{placed.resting_order_id}']", "data-status") == (
        "cancelled")
    sell = next(f for f in info(hyperliquid, {"type": "userFills", "user": MAIN.address}) if f["side"] == "A")
    [fill_row] = page.locator("#fill-rows tr").evaluate_all(
        "rows => rows.map(r => [r.cells[1].textContent, r.cells[3].textContent, r.cells[4].textContent,"
        " r.cells[5].textContent, r.cells[8].textContent])")
    assert fill_row == ["sell", "hyperliquid", f"{D(sell['sz']).normalize():f}", money(D(sell["px"])),
                        str(sell["tid"])]
    assert D(sell["sz"]) == WHALE_BUY * SCALE

    # "Reconcile now": the books agree with the venue after the stop.
    act(page, "#reconcile-button")
    status, detail, drift = run(lambda: Reconciliation.objects.filter(account_id=account_id)
                                .values_list("status", "detail", "drift").get())
    assert (status, drift) == ("ok", [])
    assert page.inner_text("#reconcile-status") == page.get_attribute("#reconcile-status", "data-status") == "ok"
    assert page.inner_text("#reconcile-detail").endswith(f" UTC · {detail}")
    assert message(page) == ("ok", f"Reconciled: ok ({detail})")
    assert page.is_hidden("#reconcile-drift")

    # A 409 is shown with the API's detail: the venue cannot change while the account trades live.
    page.select_option("#credentials-venue", "coinspot")
    page.fill("#credentials-key", "coinspot-key-1234")
    page.fill("#credentials-secret", "coinspot-secret-5678")
    act(page, "#credentials-save")
    assert message(page) == ("error", f"account {account_id} trades live on hyperliquid; staff must set it back to "
                                      "paper before its venue changes")
    assert page.input_value("#credentials-secret") == ""
    assert run(lambda: list(ExchangeCredential.objects.values_list("exchange", flat=True))) == ["hyperliquid"]

    png = screenshot_dir / "trading-live.png"
    page.screenshot(path=str(png), full_page=True)
    assert_png(png)
    print(f"screenshot: {png}")
    owner.close()
    assert errors == []
