"""P&L by coin and by strategy, realized fills, unrealized P&L and positions at market (trading.pnl),
on orders placed through the service with fixed prices; every expected value worked out by hand here."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.trading.factories import T0, AccountFactory, StrategyFactory, fixed_prices
from trading.models import PositionLot
from trading.pnl import (
    CoinPnl,
    PositionValuation,
    StrategyPnl,
    pnl_by_coin,
    pnl_by_strategy,
    pnl_realized_fills,
    pnl_unrealized,
    portfolio_value_usd,
    position_valuations,
)
from trading.selectors import realized_pnl
from trading.services import order_place

pytestmark = pytest.mark.django_db

D = Decimal
NOW = T0 + timedelta(hours=10)
MARKS = {"ETH": D("1600"), "BTC": D("49000"), "SOL": D("120")}


@pytest.fixture
def book():
    """Account with fee 10 bps, no slippage; strategies A and B and manual orders:

    1. A buys 2 ETH @ 1000        notional 2000, fee 2     -> lot A1 cost 2002
    2. B buys 1 ETH @ 1200        notional 1200, fee 1.2   -> lot B1 cost 1201.2
    3. manual buys 0.1 BTC @ 50000 notional 5000, fee 5    -> lot M1 cost 5005
    4. B sells 2.5 ETH @ 1500     notional 3750, fee 3.75; FIFO consumes all of A1 (2002) and half of
       B1 (600.6): realized 3750 - 3.75 - 2602.6 = 1143.65, attributed to B
    5. manual sells 0.05 BTC @ 48000 notional 2400, fee 2.4; consumes half of M1 (2502.5):
       realized 2400 - 2.4 - 2502.5 = -104.9
    6. A buys 1 SOL @ 100         notional 100, fee 0.1    -> lot A2 cost 100.1
    7. A sells 1 SOL @ 110        notional 110, fee 0.11: realized 110 - 0.11 - 100.1 = 9.79 (closed)
    """
    account = AccountFactory(fee_bps=D(10))
    a = StrategyFactory(account=account, name="A")
    b = StrategyFactory(account=account, name="B")
    steps = [
        (a, "ETH", "buy", "2", {"ETH": "1000"}),
        (b, "ETH", "buy", "1", {"ETH": "1200"}),
        (None, "BTC", "buy", "0.1", {"ETH": "1200", "BTC": "50000"}),
        (b, "ETH", "sell", "2.5", {"ETH": "1500", "BTC": "50000"}),
        (None, "BTC", "sell", "0.05", {"ETH": "1500", "BTC": "48000"}),
        (a, "SOL", "buy", "1", {"ETH": "1500", "BTC": "48000", "SOL": "100"}),
        (a, "SOL", "sell", "1", {"ETH": "1500", "BTC": "48000", "SOL": "110"}),
    ]
    for n, (strategy, symbol, side, quantity, prices) in enumerate(steps):
        source = fixed_prices({k: D(v) for k, v in prices.items()})
        order = order_place(account_id=account.pk, symbol=symbol, side=side, quantity=D(quantity),
                            client_order_id=f"o{n}", strategy_id=strategy.pk if strategy else None,
                            now=T0 + timedelta(hours=n), price_source=source)
        assert order.status == "filled", order.reject_reason
    return account, a, b


def test_by_coin_sums_fills_per_symbol_and_marks_open_positions(book):
    account, _, _ = book
    rows = pnl_by_coin(account_id=account.pk, now=NOW, price_source=fixed_prices(MARKS))
    assert rows == [
        CoinPnl(symbol="BTC", realized_pnl_usd=D("-104.9"), unrealized_pnl_usd=D("0.05") * D("49000") - D("2502.5"),
                volume_usd=D("7400"), fees_usd=D("7.4"), fill_count=2, quantity=D("0.05")),
        CoinPnl(symbol="ETH", realized_pnl_usd=D("1143.65"), unrealized_pnl_usd=D("0.5") * D("1600") - D("600.6"),
                volume_usd=D("6950"), fees_usd=D("6.95"), fill_count=3, quantity=D("0.5")),
        CoinPnl(symbol="SOL", realized_pnl_usd=D("9.79"), unrealized_pnl_usd=D(0), volume_usd=D("210"),
                fees_usd=D("0.21"), fill_count=2, quantity=D(0)),
    ]
    assert rows[0].unrealized_pnl_usd == D("-52.5") and rows[1].unrealized_pnl_usd == D("199.4")


def test_by_coin_unrealized_is_none_only_for_the_unpriced_held_symbol(book):
    account, _, _ = book
    rows = pnl_by_coin(account_id=account.pk, now=NOW, price_source=fixed_prices({"ETH": D("1600")}))
    assert [(r.symbol, r.unrealized_pnl_usd) for r in rows] == [("BTC", None), ("ETH", D("199.4")), ("SOL", D(0))]


def test_by_strategy_attributes_realized_to_the_seller_and_unrealized_to_the_open_lots_opener(book):
    account, a, b = book
    rows = pnl_by_strategy(account_id=account.pk, now=NOW, price_source=fixed_prices(MARKS))
    assert rows == [
        # A's ETH lot was consumed by B's sell: A keeps no unrealized P&L and gets none of that realized.
        StrategyPnl(strategy_id=a.pk, strategy_name="A", realized_pnl_usd=D("9.79"), unrealized_pnl_usd=D(0),
                    volume_usd=D("2210"), fees_usd=D("2.21"), fill_count=3),
        StrategyPnl(strategy_id=b.pk, strategy_name="B", realized_pnl_usd=D("1143.65"),
                    unrealized_pnl_usd=D("0.5") * D("1600") - D("600.6"), volume_usd=D("4950"), fees_usd=D("4.95"),
                    fill_count=2),
        StrategyPnl(strategy_id=None, strategy_name=None, realized_pnl_usd=D("-104.9"),
                    unrealized_pnl_usd=D("0.05") * D("49000") - D("2502.5"), volume_usd=D("7400"), fees_usd=D("7.4"),
                    fill_count=2),
    ]
    assert sum((r.realized_pnl_usd for r in rows), D(0)) == realized_pnl(account_id=account.pk) == D("1048.54")
    # by strategy (open lots) and by position (Position rows) are computed apart and must agree
    assert sum((r.unrealized_pnl_usd for r in rows), D(0)) == pnl_unrealized(
        account_id=account.pk, now=NOW, price_source=fixed_prices(MARKS)).unrealized_pnl_usd == D("146.9")


def test_by_strategy_unrealized_is_none_when_a_symbol_of_its_open_lots_is_unpriced(book):
    account, a, b = book
    rows = pnl_by_strategy(account_id=account.pk, now=NOW, price_source=fixed_prices({"BTC": D("49000")}))
    assert [(r.strategy_id, r.unrealized_pnl_usd) for r in rows] == [(a.pk, D(0)), (b.pk, None), (None, D("-52.5"))]


def test_by_strategy_lists_an_idle_strategy_and_an_empty_manual_row():
    account = AccountFactory()
    idle = StrategyFactory(account=account, name="idle")
    StrategyFactory(name="other account's")
    assert pnl_by_strategy(account_id=account.pk, now=NOW, price_source=fixed_prices({})) == [
        StrategyPnl(strategy_id=idle.pk, strategy_name="idle", realized_pnl_usd=D(0), unrealized_pnl_usd=D(0),
                    volume_usd=D(0), fees_usd=D(0), fill_count=0),
        StrategyPnl(strategy_id=None, strategy_name=None, realized_pnl_usd=D(0), unrealized_pnl_usd=D(0),
                    volume_usd=D(0), fees_usd=D(0), fill_count=0),
    ]


def test_by_strategy_counts_the_remaining_part_of_a_partly_consumed_lot(book):
    account, _, b = book
    lot = PositionLot.objects.get(account=account, fill__order__strategy=b)
    assert (lot.quantity_remaining, lot.cost_remaining_usd) == (D("0.5"), D("600.6"))


def test_realized_fills_are_the_sell_fills_newest_first(book):
    account, a, b = book
    fills = list(pnl_realized_fills(account_id=account.pk))
    assert [(f.symbol, f.order.strategy_id, f.realized_pnl_usd) for f in fills] == [
        ("SOL", a.pk, D("9.79")), ("BTC", None, D("-104.9")), ("ETH", b.pk, D("1143.65"))]


def test_positions_at_market_and_unrealized_total(book):
    account, _, _ = book
    btc = PositionValuation(symbol="BTC", quantity=D("0.05"), average_price_usd=D("50050"), total_cost_usd=D("2502.5"),
                            price_usd=D("49000"), value_usd=D("2450"), unrealized_pnl_usd=D("-52.5"))
    eth = PositionValuation(symbol="ETH", quantity=D("0.5"), average_price_usd=D("1201.2"), total_cost_usd=D("600.6"),
                            price_usd=D("1600"), value_usd=D("800"), unrealized_pnl_usd=D("199.4"))
    assert position_valuations(account_id=account.pk, now=NOW, price_source=fixed_prices(MARKS)) == [btc, eth]
    result = pnl_unrealized(account_id=account.pk, now=NOW, price_source=fixed_prices(MARKS))
    assert (result.items, result.unrealized_pnl_usd) == ([btc, eth], D("146.9"))
    # cash: 10000 - 2002 - 1201.2 - 5005 + 3746.25 + 2397.6 - 100.1 + 109.89 = 7945.44
    account.refresh_from_db()
    assert account.cash_usd == D("7945.44")
    assert portfolio_value_usd(account_id=account.pk, cash_usd=account.cash_usd, now=NOW,
                               price_source=fixed_prices(MARKS)) == D("7945.44") + D("2450") + D("800")


def test_unpriced_symbol_nulls_its_values_the_unrealized_total_and_the_portfolio_value(book):
    account, _, _ = book
    source = fixed_prices({"ETH": D("1600")})
    result = pnl_unrealized(account_id=account.pk, now=NOW, price_source=source)
    assert [(r.symbol, r.price_usd, r.value_usd, r.unrealized_pnl_usd) for r in result.items] == [
        ("BTC", None, None, None), ("ETH", D("1600"), D("800"), D("199.4"))]
    assert result.unrealized_pnl_usd is None
    assert portfolio_value_usd(account_id=account.pk, cash_usd=D("1"), now=NOW, price_source=source) is None


def test_an_account_without_positions_is_worth_its_cash():
    account = AccountFactory()
    assert pnl_unrealized(account_id=account.pk, now=NOW, price_source=fixed_prices({})).unrealized_pnl_usd == D(0)
    assert portfolio_value_usd(account_id=account.pk, cash_usd=D("123.45"), now=NOW) == D("123.45")
    assert pnl_by_coin(account_id=account.pk, now=NOW) == []
