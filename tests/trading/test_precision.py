"""Decimal precision of trading (issue 14, item 4): quantities are NUMERIC(78, 30), wider than Python's
28-digit default context, so a position and its lots rounded differently; input digits are bounded so
the arithmetic stays exact and a huge quantity is a 400, not a 500."""

from decimal import Decimal

import pytest
from django.utils import timezone

from tests.api import assert_error
from tests.trading.factories import T0, AccountFactory, set_price
from trading.models import Order, OrderStatus, Position, PositionLot
from trading.services import TradingError, order_place

pytestmark = pytest.mark.django_db

D = Decimal
Q = D("1.000000000000000000000000000600")  # 31 significant digits


def test_a_31_digit_quantity_is_held_exactly_and_sold_to_zero():
    account = AccountFactory()
    set_price("ETH", "2000")
    buy = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=Q, client_order_id="b", now=T0)
    assert buy.status == OrderStatus.FILLED
    position = Position.objects.get(account=account)
    assert (position.quantity, position.total_cost_usd) == (Q, D("2000.00000000"))  # not 1.000...001
    assert PositionLot.objects.get(account=account).quantity == Q
    sell = order_place(account_id=account.pk, symbol="ETH", side="sell", quantity=Q, client_order_id="s", now=T0)
    assert sell.status == OrderStatus.FILLED
    assert not Position.objects.filter(account=account).exists()  # no dust left by rounding
    assert PositionLot.objects.get(account=account).quantity_remaining == 0


@pytest.mark.parametrize(("quantity", "detail"), [
    ("1e22", "quantity: Ensure that there are no more than 18 digits before the decimal point."),
    ("1" * 48 + "." + "1" * 30, "quantity: Ensure that there are no more than 48 digits in total."),
    ("0." + "0" * 30 + "1", "quantity: Ensure that there are no more than 30 decimal places."),
])
def test_oversized_quantities_are_400(api_client, user, quantity, detail):
    api_client.force_authenticate(user)
    account = AccountFactory(owner=user)
    set_price("ETH", "2000", timezone.now())
    response = api_client.post("/api/v1/trading/orders", {"account": account.pk, "symbol": "ETH", "side": "buy",
                                                          "quantity": quantity}, format="json")
    assert assert_error(response, 400, "invalid_parameter") == detail
    assert not Order.objects.exists()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"quantity": D("1e18")}, "quantity must be below 1000000000000000000 with at most 30 decimal places"),
    ({"quantity": D("1e-31")}, "quantity must be below 1000000000000000000 with at most 30 decimal places"),
    ({"quantity": D(1), "order_type": "limit", "limit_price_usd": D("1e20")},
     "limit_price_usd must be below 100000000000000000000 with at most 18 decimal places"),
    ({"quantity": D(1), "order_type": "limit", "limit_price_usd": D("1e-19")},
     "limit_price_usd must be below 100000000000000000000 with at most 18 decimal places"),
])
def test_the_service_bounds_digits_too(kwargs, message):
    account = AccountFactory()
    with pytest.raises(TradingError) as raised:
        order_place(account_id=account.pk, symbol="ETH", side="buy", client_order_id="x", now=T0, **kwargs)
    assert str(raised.value) == message
    assert not Order.objects.exists()
