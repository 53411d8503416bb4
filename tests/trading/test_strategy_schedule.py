"""Strategy lifecycle: own beat row (interval or crontab), pause/resume from the admin, the task wiring,
validation that changes nothing, and concurrent runs on PostgreSQL placing each signal's order once."""

import json
import threading
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django_celery_beat.models import PeriodicTask

from tests.trading.factories import T0, AccountFactory, StrategyFactory, set_price
from trading import tasks
from trading.models import AccountAudit, Order, Strategy, StrategySignal, StrategyStatus
from trading.services import TradingError
from trading.strategies import StrategyParamsError
from trading.strategies.services import (
    strategy_create,
    strategy_delete,
    strategy_run,
    strategy_schedule,
    strategy_set_status,
)
from whales.models import SmartMoneyFlow

pytestmark = pytest.mark.django_db

D = Decimal


def test_create_schedules_the_strategy_on_its_own_interval_row():
    account = AccountFactory()
    strategy = strategy_create(account_id=account.pk, name="smart", kind="follow_smart_money",
                               params={"order_usd": "250"})
    task = strategy.periodic_task
    assert task.task == "trading.run_strategy"
    assert json.loads(task.kwargs) == {"strategy_id": strategy.pk}
    assert (task.interval.every, task.interval.period, task.crontab, task.enabled) == (300, "seconds", None, True)
    assert task.name == f"trading strategy {strategy.pk}: smart"

    other = strategy_create(account_id=account.pk, name="every minute", kind="follow_smart_money", every_seconds=60)
    assert other.periodic_task.interval.every == 60
    assert other.periodic_task_id != task.pk


def test_a_strategy_can_move_to_a_crontab_and_back():
    strategy = strategy_create(account_id=AccountFactory().pk, name="s", kind="follow_smart_money",
                               crontab="*/15 * * * 1-5")
    task = strategy.periodic_task
    assert task.interval is None
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week, str(task.crontab.timezone)) == (
        "*/15", "*", "1-5", "UTC")
    task = strategy_schedule(strategy_id=strategy.pk, every_seconds=120)
    assert (task.crontab, task.interval.every) == (None, 120)
    assert PeriodicTask.objects.filter(task="trading.run_strategy").count() == 1


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    ({"kind": "follow_smart_money", "params": {"window": "9h"}}, StrategyParamsError, "window"),
    ({"kind": "martingale"}, StrategyParamsError, "unknown strategy kind 'martingale'"),
    ({"kind": "follow_whale", "params": {}}, StrategyParamsError, "whale_id: required"),
    ({"kind": "follow_smart_money", "crontab": "* * *"}, TradingError, "crontab: expected 5 fields"),
    ({"kind": "follow_smart_money", "every_seconds": 1}, TradingError, "every_seconds: must be at least 60, got 1"),
    # LIMITS_STRATEGY_MIN_INTERVAL_S (60: a crontab runs at most once a minute too); the floor was 10 before
    ({"kind": "follow_smart_money", "every_seconds": 59}, TradingError, "every_seconds: must be at least 60, got 59"),
    ({"kind": "follow_smart_money", "every_seconds": 60, "crontab": "* * * * *"}, TradingError, "not both"),
])
def test_bad_strategy_input_is_refused_and_stores_nothing(kwargs, error, message):
    account = AccountFactory()
    before = PeriodicTask.objects.count()
    with pytest.raises(error, match=message):
        strategy_create(account_id=account.pk, name="bad", **kwargs)
    assert not Strategy.objects.exists()
    assert PeriodicTask.objects.count() == before


def test_pause_and_resume_switch_the_beat_row_and_are_audited(staff_user):
    strategy = strategy_create(account_id=AccountFactory().pk, name="s", kind="follow_smart_money")
    strategy_set_status(strategy_id=strategy.pk, status=StrategyStatus.PAUSED, by_user=staff_user, reason="review")
    strategy.refresh_from_db()
    strategy.periodic_task.refresh_from_db()
    assert (strategy.status, strategy.periodic_task.enabled) == ("paused", False)
    strategy_set_status(strategy_id=strategy.pk, status=StrategyStatus.ACTIVE, by_user=staff_user)
    strategy.periodic_task.refresh_from_db()
    assert strategy.periodic_task.enabled is True
    audit = list(AccountAudit.objects.filter(account=strategy.account).order_by("at", "id")
                 .values_list("action", "reason", "by_user"))
    assert audit == [("strategy_paused", f"strategy {strategy.pk} (s): review", staff_user.pk),
                     ("strategy_resumed", f"strategy {strategy.pk} (s)", staff_user.pk)]
    with pytest.raises(TradingError):
        strategy_set_status(strategy_id=strategy.pk, status="stopped")


def test_delete_removes_the_beat_row():
    strategy = strategy_create(account_id=AccountFactory().pk, name="s", kind="follow_smart_money")
    task_id = strategy.periodic_task_id
    strategy_delete(strategy_id=strategy.pk)
    assert not PeriodicTask.objects.filter(pk=task_id).exists()


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="root", password="pw-root-1")


def test_admin_pause_and_resume_actions(client, superuser):
    strategy = strategy_create(account_id=AccountFactory().pk, name="s", kind="follow_smart_money")
    client.force_login(superuser)
    url = "/admin/trading/strategy/"
    response = client.post(url, {"action": "pause", "_selected_action": [strategy.pk]})
    assert response.status_code == 302
    strategy.refresh_from_db()
    strategy.periodic_task.refresh_from_db()
    assert (strategy.status, strategy.periodic_task.enabled) == ("paused", False)
    client.post(url, {"action": "resume", "_selected_action": [strategy.pk]})
    strategy.refresh_from_db()
    strategy.periodic_task.refresh_from_db()
    assert (strategy.status, strategy.periodic_task.enabled) == ("active", True)
    page = client.get(url).content.decode()
    assert "every 300 seconds" in page and "(enabled)" in page


def test_admin_add_validates_params_and_schedules(client, superuser):
    account = AccountFactory()
    client.force_login(superuser)
    data = {"account": account.pk, "name": "mirror", "kind": "follow_whale", "params": "{}",
            "started_at_0": "2024-03-01", "started_at_1": "12:00:00"}
    response = client.post("/admin/trading/strategy/add/", data)
    assert response.status_code == 200
    assert "whale_id: required" in response.content.decode()
    assert not Strategy.objects.exists()
    data.update(kind="follow_smart_money", params='{"order_usd": "100"}')
    response = client.post("/admin/trading/strategy/add/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    strategy = Strategy.objects.get()
    assert strategy.periodic_task.task == "trading.run_strategy"
    assert json.loads(strategy.periodic_task.kwargs) == {"strategy_id": strategy.pk}


def test_task_runs_the_strategy_and_tolerates_a_deleted_one():
    with mock.patch.object(tasks, "strategy_run") as run:
        run.return_value.as_dict.return_value = {"ordered": 1}
        assert tasks.run_strategy(strategy_id=7) == {"ordered": 1}
        run.assert_called_once_with(strategy_id=7)
        run.side_effect = Strategy.DoesNotExist
        assert tasks.run_strategy(strategy_id=8) is None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_runs_place_each_signal_once_on_postgresql():
    assert connection.vendor == "postgresql"
    account = AccountFactory()
    strategy = StrategyFactory(account=account, params={"order_usd": "100"}, started_at=T0 - timedelta(days=1))
    tokens = {"ETH": "2000", "BTC": "50000", "WBTC": "50000"}
    for symbol, price in tokens.items():
        if symbol != "WBTC":
            set_price(symbol, price, T0)
        SmartMoneyFlow.objects.create(token=symbol, window="24h", net_flow_usd=D(500000), buying_wallets=3,
                                      min_score=D(60), collected_at=T0)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            strategy_run(strategy_id=strategy.pk, now=T0)
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert StrategySignal.objects.filter(strategy=strategy).count() == 3
    assert Order.objects.filter(account=account).count() == 3
    assert sorted(Order.objects.values_list("symbol", "quantity")) == [
        ("BTC", D("0.002")), ("ETH", D("0.05")), ("WBTC", D("0.002"))]
