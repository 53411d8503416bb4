"""Wiring of the trading Celery tasks (run directly on real rows) and their beat rows."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from tests.trading.factories import T0, AccountFactory, set_price
from trading import tasks
from trading.models import Account, Fill, Order, OrderStatus, Position
from trading.services import account_halt, order_place

pytestmark = pytest.mark.django_db

D = Decimal


def freeze(monkeypatch, when):
    monkeypatch.setattr(timezone, "now", lambda: when)


@pytest.mark.parametrize(("task", "every"), [("trading.match_limit_orders", 30), ("trading.check_daily_loss", 60)])
def test_the_beat_rows_schedule_the_registered_tasks(task, every):
    row = PeriodicTask.objects.get(task=task)
    assert (row.interval.every, row.interval.period, row.expire_seconds, row.enabled) == (every, "seconds", every,
                                                                                          True)
    registered = {"trading.match_limit_orders": tasks.match_limit_orders, "trading.check_daily_loss":
                  tasks.check_daily_loss}[task]
    assert registered.name == task
    assert registered.soft_time_limit < registered.time_limit <= every


def test_match_limit_orders_fills_a_crossed_limit_order_once(monkeypatch):
    account = AccountFactory()
    set_price("ETH", "2000", T0)
    order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), order_type="limit",
                        limit_price_usd=D("1900"), client_order_id="l1", now=T0)
    assert order.status == OrderStatus.SUBMITTED
    later = T0 + timedelta(hours=1)
    set_price("ETH", "1950", later)
    freeze(monkeypatch, later)
    assert tasks.match_limit_orders.run() == 0
    set_price("ETH", "1890", later + timedelta(minutes=1))
    freeze(monkeypatch, later + timedelta(minutes=1))
    assert tasks.match_limit_orders.run() == 1
    order.refresh_from_db()
    assert (order.status, order.average_fill_price_usd) == (OrderStatus.FILLED, D("1900"))
    assert tasks.match_limit_orders.run() == 0  # idempotent: nothing fills twice
    assert Fill.objects.count() == 1
    assert Account.objects.get(pk=account.pk).cash_usd == D("8100")


def test_check_daily_loss_halts_a_breaching_account_and_skips_halted_ones(monkeypatch):
    breaching = AccountFactory(max_daily_loss_percent=D(5))
    fine = AccountFactory(max_daily_loss_percent=D(50))
    stopped = AccountFactory(max_daily_loss_percent=D(5))
    set_price("ETH", "2000", T0)
    for account in (breaching, fine, stopped):  # each buy sets the start-of-day value 10000
        assert order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(2), client_order_id="e",
                           now=T0).status == OrderStatus.FILLED
    account_halt(account_id=stopped.pk, reason="manual", now=T0)
    later = T0 + timedelta(hours=1)
    set_price("ETH", "1500", later)  # 6000 cash + 2 x 1500 = 9000: a 10% loss
    freeze(monkeypatch, later)
    assert tasks.check_daily_loss.run() == [breaching.pk]
    breaching.refresh_from_db()
    assert breaching.halted and breaching.halted_reason.startswith("max_daily_loss_percent: daily loss 10.00%")
    assert not Position.objects.filter(account=breaching).exists()  # flattened
    assert not Account.objects.get(pk=fine.pk).halted
    assert Position.objects.get(account=stopped).quantity == D(2)  # a halted account is left alone
    assert tasks.check_daily_loss.run() == []  # idempotent


# --- one bad account does not stop the periodic loops (issue 14, item 4) ------------------------------


def broken_account_with_a_resting_order() -> Account:
    """An account whose check raises (a venue no price source exists for, as a bad row or a removed venue
    leaves it), with a crossed resting limit buy: lowest pk, so the loops meet it first."""
    broken = AccountFactory(venue="retired-venue")
    Order.objects.create(account=broken, client_order_id="b", symbol="ETH", side="buy", type="limit",
                         quantity=D(1), limit_price_usd=D("2100"), status=OrderStatus.SUBMITTED, created_at=T0)
    return broken


def test_limit_matching_goes_on_past_an_account_that_fails(monkeypatch, caplog):
    broken = broken_account_with_a_resting_order()
    healthy = AccountFactory()
    set_price("ETH", "2000", T0 - timedelta(minutes=1))
    order = order_place(account_id=healthy.pk, symbol="ETH", side="buy", quantity=D(1), order_type="limit",
                        limit_price_usd=D("1900"), client_order_id="h", now=T0 - timedelta(minutes=1))
    assert order.status == OrderStatus.SUBMITTED
    set_price("ETH", "1890", T0)
    freeze(monkeypatch, T0)
    assert tasks.match_limit_orders.run() == 1
    order.refresh_from_db()
    assert (order.status, order.average_fill_price_usd) == (OrderStatus.FILLED, D("1900"))
    assert Order.objects.get(account=broken).status == OrderStatus.SUBMITTED  # rolled back, retried next run
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == ["trading.limit_match.account_failed"]


def test_the_daily_loss_guard_goes_on_past_an_account_that_fails(monkeypatch, caplog):
    broken = broken_account_with_a_resting_order()
    breaching = AccountFactory(max_daily_loss_percent=D(5))
    set_price("ETH", "2000", T0)
    assert order_place(account_id=breaching.pk, symbol="ETH", side="buy", quantity=D(2), client_order_id="e",
                       now=T0).status == OrderStatus.FILLED
    later = T0 + timedelta(hours=1)
    set_price("ETH", "1500", later)  # 6000 cash + 2 x 1500 = 9000: a 10% loss
    freeze(monkeypatch, later)
    assert tasks.check_daily_loss.run() == [breaching.pk]
    assert Account.objects.get(pk=breaching.pk).halted
    assert not Account.objects.get(pk=broken.pk).halted
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [
        f"trading: daily-loss check failed for account {broken.pk}"]
