"""Symbols are canonical (upper-case) at the boundary (issue 14, item 3): prices match symbols ignoring
case, so ``ETH``, ``eth`` and ``Eth`` are one asset and must be one position under one position cap.
The 0006 migration re-spells and merges what was stored before."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests.trading.factories import T0, AccountFactory, UserFactory, set_price
from trading.models import Account, Fill, Order, OrderStatus, Position, PositionLot
from trading.services import order_place

D = Decimal


@pytest.mark.django_db
def test_eth_eth_and_eth_share_one_position_and_one_cap():
    account = AccountFactory(max_position_percent=D(20))
    set_price("ETH", "2000")
    first = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D("0.5"), client_order_id="1",
                        now=T0)
    second = order_place(account_id=account.pk, symbol=" eth ", side="buy", quantity=D("0.5"), client_order_id="2",
                         now=T0)
    third = order_place(account_id=account.pk, symbol="Eth", side="buy", quantity=D("0.5"), client_order_id="3",
                        now=T0)
    assert [o.status for o in (first, second, third)] == [OrderStatus.FILLED, OrderStatus.FILLED,
                                                          OrderStatus.REJECTED]
    # 0.5 + 0.5 + 0.5 ETH at 2000 = 3000 USD of a 10000 USD portfolio: 30% > 20% (each alone was 10%).
    assert third.reject_reason == ("max_position_percent: ETH position 3000.00 USD would be 30.00% of portfolio "
                                   "value 10000.00 USD, limit 20.00%")
    assert list(Position.objects.filter(account=account).values_list("symbol", "quantity")) == [("ETH", D("1"))]
    assert set(Order.objects.filter(account=account).values_list("symbol", flat=True)) == {"ETH"}
    assert set(Fill.objects.filter(account=account).values_list("symbol", flat=True)) == {"ETH"}
    # and a lower-case sell closes the upper-case position
    sell = order_place(account_id=account.pk, symbol="eth", side="sell", quantity=D("1"), client_order_id="4", now=T0)
    assert sell.status == OrderStatus.FILLED
    assert not Position.objects.filter(account=account).exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_migration_merges_positions_that_differed_only_by_case():
    executor = MigrationExecutor(connection)
    executor.migrate([("trading", "0005_usd_field_names")])
    old = MigrationExecutor(connection).loader.project_state([("trading", "0005_usd_field_names")]).apps
    # The account is made by the 0005 model: the current one has columns later migrations add.
    account = old.get_model("trading", "Account").objects.create(owner_id=UserFactory().pk, name="before 0006")
    position_model, order_model, fill_model, lot_model = (old.get_model("trading", m) for m in
                                                          ("Position", "Order", "Fill", "PositionLot"))
    for n, (symbol, quantity, cost) in enumerate([("ETH", "1", "2000"), ("eth", "2", "3000"), ("Eth ", "0.5", "1001")]):
        order = order_model.objects.create(account_id=account.pk, client_order_id=str(n), symbol=symbol, side="buy",
                                           quantity=D(quantity), status="filled", created_at=T0)
        fill = fill_model.objects.create(order=order, account_id=account.pk, symbol=symbol, side="buy",
                                         price_usd=D(cost) / D(quantity), quantity=D(quantity), notional_usd=D(cost),
                                         fee_usd=D(0), filled_at=T0)
        lot_model.objects.create(account_id=account.pk, symbol=symbol, fill=fill, opened_at=T0, quantity=D(quantity),
                                 quantity_remaining=D(quantity), cost_remaining_usd=D(cost))
        position_model.objects.create(account_id=account.pk, symbol=symbol, quantity=D(quantity),
                                      total_cost_usd=D(cost), average_price_usd=D(cost) / D(quantity))
    position_model.objects.create(account_id=account.pk, symbol="sol", quantity=D("3"), total_cost_usd=D("300"),
                                  average_price_usd=D("100"))

    MigrationExecutor(connection).migrate([("trading", "0006_symbols_upper_case")])
    latest = MigrationExecutor(connection)
    latest.migrate(latest.loader.graph.leaf_nodes())  # the current models below read today's columns
    account = Account.objects.get(pk=account.pk)

    positions = list(Position.objects.filter(account=account).order_by("symbol")
                     .values_list("symbol", "quantity", "total_cost_usd", "average_price_usd"))
    # 1 + 2 + 0.5 = 3.5 ETH costing 2000 + 3000 + 1001 = 6001 USD; 6001 / 3.5 = 1714.571428571428571428...
    assert positions == [("ETH", D("3.5"), D("6001"), D("1714.571428571428571429")),
                         ("SOL", D("3"), D("300"), D("100"))]
    assert set(Order.objects.filter(account=account).values_list("symbol", flat=True)) == {"ETH"}
    assert set(Fill.objects.filter(account=account).values_list("symbol", flat=True)) == {"ETH"}
    assert sum(PositionLot.objects.filter(account=account, symbol="ETH").values_list("quantity_remaining",
                                                                                     flat=True)) == D("3.5")
