"""Daily-loss halt and the admin's account form (issue 14, item 11): an owner cannot resume the day a
daily-loss halt happened (which would re-base the day's start value and reset the limit); staff can,
and the owner can from the next UTC day. In the admin ``mode`` is read-only and every limit change is
an audit row."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.api import assert_error
from tests.trading.factories import AccountFactory
from trading.models import Account, AccountAudit

pytestmark = pytest.mark.django_db

D = Decimal
REASON = ("max_daily_loss_percent: daily loss 10.00% of start-of-day value 10000.00 USD (now 9000.00 USD) "
          "exceeds 5.00%; account halted and flattened")


def halted_by_daily_loss(owner, at: datetime) -> Account:
    return AccountFactory(owner=owner, halted=True, halted_reason=REASON, halted_at=at,
                          start_of_day_value_usd=D("10000"), start_of_day_date=at.date())


def resume(api_client, account):
    return api_client.post(f"/api/v1/trading/accounts/{account.pk}/resume", {"reason": "again"}, format="json")


def test_the_owner_cannot_resume_a_daily_loss_halt_the_same_utc_day(api_client, user):
    account = halted_by_daily_loss(user, timezone.now())
    api_client.force_authenticate(user)
    detail = assert_error(resume(api_client, account), 409, "conflict")
    tomorrow = datetime.combine(timezone.now().astimezone(UTC).date() + timedelta(days=1), datetime.min.time(), UTC)
    assert detail == (f"the daily loss limit halted account {account.pk} today; staff may resume it now, "
                      f"you from {tomorrow.isoformat()}")
    account.refresh_from_db()
    assert (account.halted, account.halted_reason, account.start_of_day_date) == (
        True, REASON, timezone.now().astimezone(UTC).date())
    assert not AccountAudit.objects.filter(account=account, action="resume").exists()


def test_the_owner_can_resume_it_from_the_next_utc_day(api_client, user):
    account = halted_by_daily_loss(user, timezone.now() - timedelta(days=1))
    api_client.force_authenticate(user)
    response = resume(api_client, account)
    assert response.status_code == 200, response.content
    assert response.json()["halted"] is False
    assert list(AccountAudit.objects.filter(account=account).values_list("action", "reason", "by_user")) == [
        ("resume", "again", user.pk)]


def test_a_manual_halt_is_still_lifted_by_its_owner_at_once(api_client, user):
    account = AccountFactory(owner=user, halted=True, halted_reason="manual stop", halted_at=timezone.now())
    api_client.force_authenticate(user)
    assert resume(api_client, account).json()["halted"] is False


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(username="root", password="pw-root-1")


def test_staff_can_resume_it_the_same_day_from_the_admin(client, superuser, user):
    account = halted_by_daily_loss(user, timezone.now())
    client.force_login(superuser)
    response = client.post("/admin/trading/account/", {"action": "resume_accounts", "_selected_action": [account.pk]})
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.halted is False
    assert list(AccountAudit.objects.filter(account=account).values_list("action", "by_user")) == [
        ("resume", superuser.pk)]


def admin_form(account: Account, **changes) -> dict:
    data = {"owner": account.owner_id, "name": account.name, "base_currency": account.base_currency,
            "venue": account.venue, "starting_cash_usd": account.starting_cash_usd,
            "max_position_percent": account.max_position_percent,
            "max_daily_loss_percent": account.max_daily_loss_percent,
            "max_strategy_exposure_percent": account.max_strategy_exposure_percent,
            "max_orders_per_day": account.max_orders_per_day, "min_order_usd": account.min_order_usd,
            "flatten_on_daily_loss": "on" if account.flatten_on_daily_loss else "",
            "slippage_bps": account.slippage_bps, "fee_bps": account.fee_bps,
            "max_order_notional_usd": account.max_order_notional_usd,
            "max_daily_notional_usd": account.max_daily_notional_usd,
            "price_band_percent": account.price_band_percent}
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_the_admin_cannot_change_mode_and_audits_limit_changes(client, superuser):
    account = AccountFactory(max_position_percent=D("20"), max_orders_per_day=100)
    client.force_login(superuser)
    response = client.post(f"/admin/trading/account/{account.pk}/change/",
                           admin_form(account, mode="live", max_position_percent="50", max_orders_per_day="7"))
    assert response.status_code == 302, response.content.decode()[-2000:]
    account.refresh_from_db()
    assert (account.mode, account.max_position_percent, account.max_orders_per_day) == ("paper", D("50"), 7)
    assert list(AccountAudit.objects.filter(account=account).values_list("action", "reason", "by_user")) == [
        ("limits_changed", "max_position_percent: 20.0000 -> 50; max_orders_per_day: 100 -> 7", superuser.pk)]
    # saving again unchanged audits nothing more
    client.post(f"/admin/trading/account/{account.pk}/change/", admin_form(account))
    assert AccountAudit.objects.filter(account=account).count() == 1
