"""The live-trading API (``/api/v1/trading/accounts/{id}/...``, trading.api.live) over the Coinspot simulator:
credentials are write-only, live mode is staff-only, the gates and the emergency stop answer what the services
did, and the venue's own state is read back from the simulator."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from tests.trading import live_fixtures
from tests.trading.factories import AccountFactory, UserFactory
from tests.trading.live_fixtures import KEY, SECRET
from tests.trading.live_fixtures import cs_control as control
from tests.trading.live_fixtures import cs_live_account as live_account
from trading.models import AccountMode, ExchangeCredential, OrderStatus
from trading.services import live_trading_set, order_place

pytestmark = pytest.mark.django_db
coinspot = live_fixtures.coinspot  # the fixture

D = Decimal
BASE = "/api/v1/trading/accounts"


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_credentials_are_write_only_and_the_state_shows_the_gates(coinspot):
    account = AccountFactory()
    client = client_of(account.owner)
    response = client.put(f"{BASE}/{account.pk}/credentials", {"venue": "coinspot", "api_key": KEY,
                                                                "secret": SECRET}, format="json")
    assert response.status_code == 200, response.content
    assert SECRET not in response.content.decode()
    state = response.json()
    assert state["credentials"]["hint"] == f"key …{KEY[-4:]}" and state["live_venue"] == "coinspot"
    assert state["simulated"] is True and state["venue_host"] == coinspot.url.removeprefix("http://")
    assert [(g["name"], g["ok"]) for g in state["gates"]] == [
        ("setting", True), ("admin_toggle", False), ("live_mode", False), ("confirmation", False),
        ("credentials", True)]
    tested = client.post(f"{BASE}/{account.pk}/credentials/test").json()
    assert tested["credentials"]["tested_ok"] is True
    assert tested["credentials"]["tested_detail"] == "balances: USDT 10000"
    assert tested["venue_calls"][0]["action"] == "test"


def test_bad_credentials_are_400_and_store_nothing(coinspot):
    account = AccountFactory()
    response = client_of(account.owner).put(f"{BASE}/{account.pk}/credentials",
                                            {"venue": "hyperliquid", "api_key": "0x12", "secret": "00"},
                                            format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("api_key must be the main wallet's address")
    assert not ExchangeCredential.objects.exists()


def test_live_mode_is_staff_only_and_audited(coinspot):
    account = AccountFactory()
    client_of(account.owner).put(f"{BASE}/{account.pk}/credentials", {"venue": "coinspot", "api_key": KEY,
                                                                       "secret": SECRET}, format="json")
    refused = client_of(account.owner).post(f"{BASE}/{account.pk}/live/mode", {"live": True, "venue": "coinspot"},
                                            format="json")
    assert refused.status_code == 403
    staff = UserFactory(is_staff=True)
    done = client_of(staff).post(f"{BASE}/{account.pk}/live/mode", {"live": True, "venue": "coinspot",
                                                                    "reason": "reviewed"}, format="json")
    assert done.status_code == 200 and done.json()["mode"] == AccountMode.LIVE
    assert account.audit.filter(action="live_mode_on", reason="venue coinspot; reviewed", by_user=staff).exists()
    confirmed = client_of(account.owner).post(f"{BASE}/{account.pk}/live/confirm").json()
    assert confirmed["limits_confirmed_at"] is not None
    assert confirmed["limits"]["max_order_notional_usd"] == "1000.00000000"


def test_reconciling_a_paper_account_is_409(coinspot):
    account = AccountFactory()
    response = client_of(account.owner).post(f"{BASE}/{account.pk}/reconciliations")
    assert response.status_code == 409 and "paper account" in response.json()["detail"]


def test_venue_orders_reconcile_and_the_emergency_stop_through_the_api(coinspot):
    account = live_account()
    live_trading_set(enabled=True, by_user=UserFactory(is_staff=True))
    order = order_place(account_id=account.pk, symbol="BTC", side="buy", quantity=D("0.05"), client_order_id="r1",
                        order_type="limit", limit_price_usd=D("40000"))
    client = client_of(account.owner)
    venue_orders = client.get(f"{BASE}/{account.pk}/venue/orders").json()
    assert venue_orders["total"] == 1
    [row] = venue_orders["items"]
    assert (row["venue_order_id"], row["order"], row["quantity"], row["limit_price_usd"]) == (
        order.venue_order_id, order.pk, "0.05", "40000")
    recon = client.post(f"{BASE}/{account.pk}/reconciliations")
    assert recon.status_code == 201 and recon.json()["status"] == "ok"
    assert client.get(f"{BASE}/{account.pk}/reconciliations").json()["total"] == 1
    stop = client.post(f"{BASE}/{account.pk}/emergency-stop", {"reason": "api"}, format="json")
    assert stop.status_code == 200
    assert stop.json() == {"cancelled": [order.venue_order_id], "already_closed": [], "flatten_orders": [],
                           "failures": []}
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert client.get(f"{BASE}/{account.pk}/venue/orders").json() == {"items": [], "total": 0}
    assert client.get(f"{BASE}/{account.pk}/live").json()["halted_reason"] == "emergency_stop: api"


def test_cancelling_a_live_order_cancels_it_at_the_venue(coinspot):
    account = live_account()
    order = order_place(account_id=account.pk, symbol="BTC", side="buy", quantity=D("0.05"), client_order_id="c1",
                        order_type="limit", limit_price_usd=D("40000"))
    response = client_of(account.owner).post(f"/api/v1/trading/orders/{order.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert response.json()["venue"] == "coinspot"
    assert control(coinspot, "state", verb="GET")["accounts"][KEY]["open_orders"] == []
