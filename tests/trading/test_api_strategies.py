"""The strategies and signals endpoints of the trading API: owner scoping, validation, pause/resume,
signals with their outcomes."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from tests.api import assert_error
from tests.trading.factories import AccountFactory, StrategyFactory, UserFactory, set_price
from trading.models import Strategy, StrategySignal
from trading.strategies.services import strategy_run
from whales.models import SmartMoneyFlow

pytestmark = pytest.mark.django_db

D = Decimal
BASE = "/api/v1/trading"


@pytest.fixture
def client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def account(user):
    return AccountFactory(owner=user, name="main")


@pytest.fixture
def others_strategy():
    return StrategyFactory(account=AccountFactory(owner=UserFactory()), name="theirs")


def test_create_list_pause_and_resume_a_strategy(client, account):
    response = client.post(f"{BASE}/strategies", {"account": account.pk, "name": "smart", "kind": "follow_smart_money",
                                                  "params": {"order_usd": "250"}, "every_seconds": 60}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["kind"], body["status"], body["params"]) == (
        "smart", "follow_smart_money", "active", {"order_usd": "250"})
    assert body["schedule"] == {"every_seconds": 60, "crontab": None, "enabled": True}
    strategy_id = body["id"]

    paused = client.post(f"{BASE}/strategies/{strategy_id}/pause", {"reason": "review"}, format="json").json()
    assert (paused["status"], paused["schedule"]["enabled"]) == ("paused", False)
    resumed = client.post(f"{BASE}/strategies/{strategy_id}/resume", {}, format="json").json()
    assert (resumed["status"], resumed["schedule"]["enabled"]) == ("active", True)

    cron = client.post(f"{BASE}/strategies", {"account": account.pk, "name": "cron", "kind": "follow_smart_money",
                                              "crontab": "0 * * * *"}, format="json").json()
    assert cron["schedule"] == {"every_seconds": None, "crontab": "0 * * * *", "enabled": True}
    listed = client.get(f"{BASE}/strategies", {"account": account.pk}).json()
    assert [s["name"] for s in listed["items"]] == ["smart", "cron"] and listed["total"] == 2


@pytest.mark.parametrize(("body", "fragment"), [
    ({"kind": "follow_smart_money", "params": {"window": "2h"}}, "params: window: must be one of"),
    ({"kind": "follow_whale", "params": {}}, "params: whale_id: required"),
    ({"kind": "martingale"}, "kind:"),
    ({"kind": "follow_smart_money", "crontab": "* *"}, "crontab: expected 5 fields"),
    ({"kind": "follow_smart_money", "every_seconds": 5}, "every_seconds:"),
    ({"kind": "follow_smart_money", "every_seconds": 59},
     "every_seconds: Ensure this value is greater than or equal to 60."),
    ({"kind": "follow_smart_money", "every_seconds": 60, "crontab": "* * * * *"}, "not both"),
])
def test_bad_strategy_bodies_are_400_and_create_nothing(client, account, body, fragment):
    response = client.post(f"{BASE}/strategies", {"account": account.pk, "name": "x", **body}, format="json")
    detail = assert_error(response, 400, "invalid_parameter")
    assert fragment in detail
    assert not Strategy.objects.exists()


@pytest.mark.parametrize(("crontab", "reason"), [
    (", * * * *", "empty part"),  # issue 14: each of these four was stored and stopped beat at every start
    ("*/* * * * *", "empty filter"),
    ("-1 * * * *", "negative numbers not supported"),
    ("61 * * * *", "Invalid end range: 61 > 59."),
    ("0 24 * * *", "Invalid end range: 24 > 23."),
    ("0 0 0 * *", "Invalid beginning range: 0 < 1."),
    ("0 0 1 13 *", "Invalid end range: 13 > 12."),
    ("0 0 * * 7", "Invalid end range: 7 > 6."),
    ("*/0 * * * *", "slice step cannot be zero"),
    ("0 0 31 2 *", "Invalid crontab: day_of_month '31' never occurs in month_of_year '2'."),
    ("x * * * *", "Invalid weekday literal 'x'."),
])
def test_a_crontab_celery_cannot_build_is_400_and_stores_nothing(client, account, crontab, reason):
    # The migrations' own schedules (the SEC collector's runs at minute 0) are there before: count, don't assume.
    before = (PeriodicTask.objects.count(), CrontabSchedule.objects.count())
    response = client.post(f"{BASE}/strategies", {"account": account.pk, "name": "x", "kind": "follow_smart_money",
                                                  "crontab": crontab}, format="json")
    detail = assert_error(response, 400, "invalid_parameter")
    assert detail == f"crontab: {crontab!r} is not a valid schedule: {reason}"
    assert not Strategy.objects.exists()
    assert (PeriodicTask.objects.count(), CrontabSchedule.objects.count()) == before


def test_a_duplicate_strategy_name_is_400(client, account):
    StrategyFactory(account=account, name="dup")
    detail = assert_error(client.post(f"{BASE}/strategies", {"account": account.pk, "name": "dup",
                                                      "kind": "follow_smart_money"}, format="json"),
                   400, "invalid_parameter")
    assert detail == "name: the account already has a strategy named 'dup'"


def test_other_users_strategies_and_accounts_are_404(client, others_strategy):
    for path in (f"strategies/{others_strategy.pk}/pause", f"strategies/{others_strategy.pk}/resume"):
        assert_error(client.post(f"{BASE}/{path}", {}, format="json"), 404, "not_found")
    assert_error(client.post(f"{BASE}/strategies", {"account": others_strategy.account_id, "name": "x",
                                             "kind": "follow_smart_money"}, format="json"), 404, "not_found")
    assert_error(client.get(f"{BASE}/signals", {"strategy": others_strategy.pk}), 404, "not_found")
    assert_error(client.get(f"{BASE}/strategies", {"account": others_strategy.account_id}), 404, "not_found")
    others_strategy.refresh_from_db()
    assert others_strategy.status == "active"
    assert client.get(f"{BASE}/strategies").json() == {"items": [], "total": 0}


def test_anonymous_is_401(api_client):
    for path in ("strategies", "signals"):
        assert_error(api_client.get(f"{BASE}/{path}"), 401, "not_authenticated")


def test_signals_list_every_outcome_with_filters(client, account, others_strategy):
    now = timezone.now()
    set_price("ETH", "2000", now - timedelta(minutes=1))
    strategy = StrategyFactory(account=account, params={"order_usd": "500"}, started_at=now - timedelta(days=1))
    for token in ("ETH", "PEPE"):
        SmartMoneyFlow.objects.create(token=token, window="24h", net_flow_usd=D(200000), buying_wallets=2,
                                      min_score=D(60), collected_at=now - timedelta(minutes=5))
    strategy_run(strategy_id=strategy.pk, now=now)
    StrategySignal.objects.create(strategy=others_strategy, key="x", generated_at=now, symbol="ETH", side="buy",
                                  reason="r", outcome="skipped", outcome_reason="theirs")

    body = client.get(f"{BASE}/signals", {"account": account.pk}).json()
    assert body["total"] == 2
    by_symbol = {s["symbol"]: s for s in body["items"]}
    assert by_symbol["ETH"]["outcome"] == "ordered" and by_symbol["ETH"]["order"] is not None
    assert by_symbol["ETH"]["quantity"] == "0.250000000000000000000000000000"
    assert by_symbol["PEPE"]["outcome"] == "skipped" and by_symbol["PEPE"]["quantity"] is None
    assert by_symbol["PEPE"]["outcome_reason"].startswith("missing_price: no fresh price for PEPE")
    skipped = client.get(f"{BASE}/signals", {"outcome": "skipped"}).json()
    assert [s["symbol"] for s in skipped["items"]] == ["PEPE"]  # not the other user's
    detail = assert_error(client.get(f"{BASE}/signals", {"outcome": "lost"}), 400, "invalid_parameter")
    assert detail.startswith("outcome:")
