"""Strategies: follow smart money, follow a whale; every signal recorded with its outcome; idempotent runs.

Expected quantities and P&L are computed here from the prices and flows the tests store.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.trading.factories import T0, AccountFactory, StrategyFactory, set_price
from tests.whales.factories import TradeFactory, WalletMetricsFactory, WhaleFactory
from trading.models import Fill, Order, OrderStatus, SignalOutcome, StrategySignal, StrategyStatus
from trading.strategies import FollowSmartMoney, FollowWhale, StrategyParamsError
from trading.strategies.services import strategy_run, strategy_set_status
from whales.models import Direction, SmartMoneyFlow, WalletMetricsDaily

pytestmark = pytest.mark.django_db

D = Decimal


def flow(token: str, net: str, at, *, window: str = "24h", buyers: int = 2, sellers: int = 0) -> SmartMoneyFlow:
    net_d = D(net)
    return SmartMoneyFlow.objects.create(
        token=token, window=window, net_flow_usd=net_d, bought_usd=max(net_d, D(0)), sold_usd=max(-net_d, D(0)),
        buying_wallets=buyers, selling_wallets=sellers, min_score=D(60), collected_at=at)


def signals(strategy) -> list[StrategySignal]:
    return list(StrategySignal.objects.filter(strategy=strategy).order_by("generated_at", "id"))


# ---------------------------------------------------------------- follow smart money


def test_smart_money_enters_on_positive_flow_skips_while_held_and_exits_on_reversal():
    account = AccountFactory()
    strategy = StrategyFactory(account=account, kind="follow_smart_money", started_at=T0 - timedelta(days=1),
                               params={"order_usd": "1000", "min_net_flow_usd": "100000"})
    set_price("ETH", "2500", T0)
    flow("ETH", "150000", T0)

    result = strategy_run(strategy_id=strategy.pk, now=T0)
    assert (result.generated, result.ordered, result.rejected, result.skipped) == (1, 1, 0, 0)
    [entry] = signals(strategy)
    assert (entry.side, entry.symbol, entry.quantity, entry.outcome) == ("buy", "ETH", D("0.4"), SignalOutcome.ORDERED)
    assert entry.key == "sm:20240301T120000:24h:ETH:buy"
    assert entry.order.status == OrderStatus.FILLED and entry.order.strategy_id == strategy.pk
    assert entry.order.client_order_id == f"sig:{strategy.pk}:{entry.key}"
    assert entry.source["net_flow_usd"] == "150000.00000000"

    # The next collection is still positive: the signal is recorded as skipped, not dropped.
    t1 = T0 + timedelta(minutes=15)
    flow("ETH", "180000", t1)
    result = strategy_run(strategy_id=strategy.pk, now=t1)
    assert (result.generated, result.skipped, result.ordered) == (1, 1, 0)
    held = signals(strategy)[-1]
    assert held.outcome == SignalOutcome.SKIPPED
    assert held.outcome_reason == "already holding 0.4 ETH: one entry per position"
    assert held.order is None

    # Reversal: smart money turns net seller; the whole holding is sold at the new price.
    t2 = T0 + timedelta(minutes=30)
    set_price("ETH", "2600", t2)
    flow("ETH", "-5000", t2, buyers=0, sellers=1)
    result = strategy_run(strategy_id=strategy.pk, now=t2)
    assert (result.generated, result.ordered) == (1, 1)
    exit_signal = signals(strategy)[-1]
    assert (exit_signal.side, exit_signal.quantity, exit_signal.outcome) == ("sell", D("0.4"), SignalOutcome.ORDERED)
    sell_fill = Fill.objects.get(order=exit_signal.order)
    assert sell_fill.realized_pnl_usd == D("0.4") * (D(2600) - D(2500))  # no fee/slippage on this account
    assert not account.positions.exists()


def test_smart_money_rerun_at_the_same_time_places_nothing_twice():
    account = AccountFactory()
    strategy = StrategyFactory(account=account, params={"order_usd": "500"}, started_at=T0 - timedelta(days=1))
    set_price("ETH", "2000", T0)
    set_price("BTC", "50000", T0)
    flow("ETH", "200000", T0)
    flow("BTC", "300000", T0)
    first = strategy_run(strategy_id=strategy.pk, now=T0)
    second = strategy_run(strategy_id=strategy.pk, now=T0 + timedelta(minutes=1))
    assert (first.ordered, second.ordered, second.already_recorded) == (2, 0, 2)
    assert Order.objects.filter(account=account).count() == 2
    assert sorted(Fill.objects.filter(account=account).values_list("symbol", "quantity")) == [
        ("BTC", D("0.01")), ("ETH", D("0.25"))]


def test_smart_money_records_a_signal_it_cannot_size_instead_of_dropping_it():
    """The field's failure case: a strategy silently skipping a signal. An unpriced token is recorded."""
    strategy = StrategyFactory(params={"order_usd": "500"}, started_at=T0 - timedelta(days=1))
    flow("PEPE", "900000", T0)  # no PEPE asset or price
    result = strategy_run(strategy_id=strategy.pk, now=T0)
    assert (result.generated, result.skipped, result.ordered) == (1, 1, 0)
    [record] = signals(strategy)
    assert record.outcome == SignalOutcome.SKIPPED
    assert record.outcome_reason == ("missing_price: no fresh price for PEPE at 2024-03-01T12:00:00+00:00; "
                                     "cannot size the order")
    assert not Order.objects.exists()


def test_smart_money_signal_rejected_by_a_limit_is_recorded_with_the_rule():
    account = AccountFactory(max_position_percent=D(5))
    strategy = StrategyFactory(account=account, params={"order_usd": "1000"}, started_at=T0 - timedelta(days=1))
    set_price("ETH", "2000", T0)
    flow("ETH", "200000", T0)
    result = strategy_run(strategy_id=strategy.pk, now=T0)
    assert (result.rejected, result.ordered) == (1, 0)
    [record] = signals(strategy)
    assert record.outcome == SignalOutcome.REJECTED
    assert record.order.status == OrderStatus.REJECTED
    assert record.outcome_reason == record.order.reject_reason
    assert record.outcome_reason.startswith("max_position_percent")
    account.refresh_from_db()
    assert account.cash_usd == D(10000)


def test_smart_money_sizes_by_percent_of_portfolio_and_respects_thresholds_and_token_list():
    account = AccountFactory()
    strategy = StrategyFactory(account=account, started_at=T0 - timedelta(days=1),
                               params={"order_percent": "5", "min_net_flow_usd": "100000", "min_buying_wallets": 2,
                                       "tokens": ["ETH", "BTC"]})
    set_price("ETH", "2000", T0)
    set_price("BTC", "50000", T0)
    flow("ETH", "100000", T0, buyers=2)   # at the threshold: enters
    flow("BTC", "99999.99", T0, buyers=5)  # below the flow threshold: no signal
    flow("WBTC", "500000", T0, buyers=5)  # not in the token list: no signal
    flow("ETH", "400000", T0, window="7d")  # another window: ignored
    strategy_run(strategy_id=strategy.pk, now=T0)
    [record] = signals(strategy)
    # 5 % of 10,000 USD = 500 USD at 2,000 USD
    assert (record.symbol, record.quantity, record.outcome) == ("ETH", D("0.25"), SignalOutcome.ORDERED)

    other = StrategyFactory(account=AccountFactory(), started_at=T0 - timedelta(days=1),
                            params={"min_buying_wallets": 3})
    strategy_run(strategy_id=other.pk, now=T0)
    assert [s.symbol for s in signals(other)] == ["WBTC"]  # the only flow with >= 3 buying wallets


def test_smart_money_ignores_stale_flows_and_a_negative_flow_without_a_position():
    strategy = StrategyFactory(params={"max_flow_age_minutes": 30}, started_at=T0 - timedelta(days=1))
    set_price("ETH", "2000", T0)
    flow("ETH", "500000", T0 - timedelta(minutes=31))
    assert strategy_run(strategy_id=strategy.pk, now=T0).generated == 0
    flow("ETH", "-500000", T0)
    assert strategy_run(strategy_id=strategy.pk, now=T0).generated == 0
    assert not StrategySignal.objects.exists()


@pytest.mark.parametrize(("params", "message"), [
    ({"window": "2h"}, "window: must be one of 1h, 24h, 7d, 30d, got '2h'"),
    ({"order_usd": 100.5}, "order_usd: give a decimal string"),
    ({"order_usd": "-5"}, "order_usd: must be > 0, got -5"),
    ({"order_percent": "150"}, "order_percent: must be at most 100, got 150"),
    ({"min_buying_wallets": "2"}, "min_buying_wallets: must be an integer >= 0, got '2'"),
    ({"tokens": "ETH"}, "tokens: must be a list of token symbols"),
    ({"thresold": "1"}, "unknown parameter(s) thresold"),
    # a JSON null for a parameter with a default is refused (omitting it takes the default)
    ({"min_net_flow_usd": None}, "min_net_flow_usd: must be a number, got null (omit it for the default 100000)"),
    ({"exit_below_usd": None}, "exit_below_usd: must be a number, got null"),
    ({"order_percent": None}, "order_percent: must be a number, got null"),
])
def test_smart_money_params_are_validated(params, message):
    with pytest.raises(StrategyParamsError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FollowSmartMoney.params_parse(params)


def test_optional_decimal_params_may_be_null():
    assert FollowSmartMoney.params_parse({"order_usd": None}).order_usd is None
    whale = WhaleFactory()
    assert FollowWhale.params_parse({"whale_id": whale.pk, "scale": None}).scale is None  # scale by portfolio values


# ---------------------------------------------------------------- follow a whale


def test_follow_whale_mirrors_buys_and_sells_at_a_fixed_scale_and_records_what_it_cannot_mirror():
    account = AccountFactory()
    whale = WhaleFactory()
    strategy = StrategyFactory(account=account, kind="follow_whale", started_at=T0 - timedelta(hours=1),
                               params={"whale_id": whale.pk, "scale": "0.25"})
    set_price("ETH", "2000", T0)
    # before the strategy started: not mirrored
    TradeFactory(whale=whale, block_time=T0 - timedelta(hours=2), direction=Direction.BUY, amount_base=D(9))
    buy = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=30), direction=Direction.BUY, amount_base=D(2))
    short = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=20), direction=Direction.SHORT,
                         amount_base=D(1), base_asset="BTC")
    sell = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=10), direction=Direction.SELL,
                        amount_base=D(3))
    TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=5), direction=Direction.SEND, amount_base=D(50))

    result = strategy_run(strategy_id=strategy.pk, now=T0)
    assert (result.generated, result.ordered, result.skipped) == (3, 2, 1)
    records = {r.key: r for r in signals(strategy)}
    assert set(records) == {f"fw:{buy.pk}", f"fw:{short.pk}", f"fw:{sell.pk}"}
    assert (records[f"fw:{buy.pk}"].side, records[f"fw:{buy.pk}"].quantity) == ("buy", D("0.5"))  # 2 x 0.25
    # 3 x 0.25 = 0.75, capped at the 0.5 held
    assert (records[f"fw:{sell.pk}"].side, records[f"fw:{sell.pk}"].quantity) == ("sell", D("0.5"))
    assert records[f"fw:{short.pk}"].outcome == SignalOutcome.SKIPPED
    assert records[f"fw:{short.pk}"].outcome_reason == ("short exposure is not mirrored: the paper account is "
                                                        "long-only")
    assert not account.positions.exists()

    # A sell with nothing held is recorded as skipped.
    late_sell = TradeFactory(whale=whale, block_time=T0 + timedelta(minutes=1), direction=Direction.CLOSE_LONG,
                             amount_base=D(1))
    strategy_run(strategy_id=strategy.pk, now=T0 + timedelta(minutes=2))
    record = StrategySignal.objects.get(key=f"fw:{late_sell.pk}")
    assert (record.outcome, record.outcome_reason) == (SignalOutcome.SKIPPED,
                                                       "no position to sell: this strategy holds no ETH")


def test_follow_whale_scales_by_portfolio_values_point_in_time():
    account = AccountFactory()  # 10,000 USD cash
    whale = WhaleFactory()
    WalletMetricsFactory(whale=whale, portfolio_value_usd=D("4000000"))  # current: not used when a daily row exists
    WalletMetricsDaily.objects.create(whale=whale, date=T0.date(), portfolio_value_usd=D("1000000"))
    WalletMetricsDaily.objects.create(whale=whale, date=T0.date() + timedelta(days=1), portfolio_value_usd=D("1"))
    strategy = StrategyFactory(account=account, kind="follow_whale", started_at=T0 - timedelta(days=1),
                               params={"whale_id": whale.pk})
    set_price("ETH", "2000", T0)
    trade = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=1), direction=Direction.LONG,
                         amount_base=D(10))
    strategy_run(strategy_id=strategy.pk, now=T0)
    record = StrategySignal.objects.get(key=f"fw:{trade.pk}")
    # ratio = 10,000 / 1,000,000 = 0.01 -> 0.1 ETH
    assert (record.quantity, record.outcome) == (D("0.1"), SignalOutcome.ORDERED)
    assert record.source["ratio"] == "0.01"


def test_follow_whale_without_a_whale_value_records_skips():
    whale = WhaleFactory()
    strategy = StrategyFactory(kind="follow_whale", started_at=T0 - timedelta(days=1), params={"whale_id": whale.pk})
    trade = TradeFactory(whale=whale, block_time=T0, direction=Direction.BUY, amount_base=D(1))
    strategy_run(strategy_id=strategy.pk, now=T0)
    record = StrategySignal.objects.get(key=f"fw:{trade.pk}")
    assert (record.outcome, record.outcome_reason) == (
        SignalOutcome.SKIPPED, f"whale {whale.pk} has no portfolio value to scale by")


def test_follow_whale_mirrors_a_trade_ingested_late_within_the_lookback():
    account = AccountFactory()
    whale = WhaleFactory()
    strategy = StrategyFactory(account=account, kind="follow_whale", started_at=T0 - timedelta(days=1),
                               params={"whale_id": whale.pk, "scale": "1", "lookback_hours": 6})
    set_price("ETH", "2000", T0)
    assert strategy_run(strategy_id=strategy.pk, now=T0).generated == 0
    late = TradeFactory(whale=whale, block_time=T0 - timedelta(hours=1), direction=Direction.BUY, amount_base=D("0.3"))
    result = strategy_run(strategy_id=strategy.pk, now=T0 + timedelta(minutes=5))
    assert (result.generated, result.ordered) == (1, 1)
    assert StrategySignal.objects.get(key=f"fw:{late.pk}").quantity == D("0.3")


def test_follow_whale_params_are_validated():
    with pytest.raises(StrategyParamsError, match="whale_id: required"):
        FollowWhale.params_parse({})
    with pytest.raises(StrategyParamsError, match="whale_id: no whale 999999"):
        FollowWhale.params_parse({"whale_id": 999999})
    whale = WhaleFactory()
    with pytest.raises(StrategyParamsError, match="scale: must be > 0, got 0"):
        FollowWhale.params_parse({"whale_id": whale.pk, "scale": "0"})


# ---------------------------------------------------------------- runner


def test_a_paused_strategy_generates_nothing_and_a_resumed_one_acts_on_the_signal():
    account = AccountFactory()
    strategy = StrategyFactory(account=account, params={"order_usd": "500"}, started_at=T0 - timedelta(days=1))
    set_price("ETH", "2000", T0)
    flow("ETH", "200000", T0)
    strategy_set_status(strategy_id=strategy.pk, status=StrategyStatus.PAUSED)
    result = strategy_run(strategy_id=strategy.pk, now=T0)
    assert result.paused and result.generated == 0
    assert not StrategySignal.objects.exists()
    strategy_set_status(strategy_id=strategy.pk, status=StrategyStatus.ACTIVE)
    assert strategy_run(strategy_id=strategy.pk, now=T0).ordered == 1


def test_a_halted_account_records_the_signal_as_rejected():
    from trading.services import account_halt

    account = AccountFactory()
    strategy = StrategyFactory(account=account, params={"order_usd": "500"}, started_at=T0 - timedelta(days=1))
    set_price("ETH", "2000", T0)
    flow("ETH", "200000", T0)
    account_halt(account_id=account.pk, reason="test stop")
    strategy_run(strategy_id=strategy.pk, now=T0)
    [record] = signals(strategy)
    assert (record.outcome, record.outcome_reason) == (SignalOutcome.REJECTED, "account_halted: test stop")


def test_run_stores_the_summary_on_the_strategy():
    strategy = StrategyFactory(params={"order_usd": "500"}, started_at=T0 - timedelta(days=1))
    set_price("ETH", "2000", T0)
    flow("ETH", "200000", T0)
    flow("PEPE", "200000", T0)
    strategy_run(strategy_id=strategy.pk, now=T0)
    strategy.refresh_from_db()
    assert strategy.last_run_at == T0
    assert strategy.last_run_summary == {"strategy_id": strategy.pk, "generated": 2, "ordered": 1, "rejected": 0,
                                         "skipped": 1, "already_recorded": 0, "paused": False}


def test_runner_never_sells_more_than_the_strategy_holds_after_a_rejected_buy():
    account = AccountFactory(min_order_usd=D(100))
    whale = WhaleFactory()
    strategy = StrategyFactory(account=account, kind="follow_whale", started_at=T0 - timedelta(hours=1),
                               params={"whale_id": whale.pk, "scale": "0.25"})
    set_price("ETH", "2000", T0 - timedelta(hours=1))
    first = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=50), direction=Direction.BUY, amount_base=D(2))
    strategy_run(strategy_id=strategy.pk, now=T0 - timedelta(minutes=45))  # buys 0.5 ETH (1,000 USD)
    first_record = StrategySignal.objects.get(key=f"fw:{first.pk}")
    assert first_record.outcome == SignalOutcome.ORDERED, first_record.outcome_reason

    small_buy = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=30), direction=Direction.BUY,
                             amount_base=D("0.1"))  # 0.025 ETH = 50 USD < 100 USD minimum: rejected
    big_sell = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=20), direction=Direction.SELL,
                            amount_base=D("2.1"))  # 0.525 ETH scaled, more than the 0.5 held
    other_sell = TradeFactory(whale=whale, block_time=T0 - timedelta(minutes=10), direction=Direction.SELL,
                              amount_base=D(1))
    strategy_run(strategy_id=strategy.pk, now=T0)
    records = {r.key: r for r in signals(strategy)}
    assert records[f"fw:{small_buy.pk}"].outcome == SignalOutcome.REJECTED
    assert records[f"fw:{small_buy.pk}"].outcome_reason.startswith("min_order_usd")
    sell = records[f"fw:{big_sell.pk}"]
    assert (sell.quantity, sell.outcome, sell.outcome_reason) == (
        D("0.525"), SignalOutcome.ORDERED, "sell capped at the holding of 0.5 ETH")
    assert (sell.order.quantity, sell.order.status) == (D("0.5"), OrderStatus.FILLED)
    last = records[f"fw:{other_sell.pk}"]
    assert (last.outcome, last.outcome_reason, last.order) == (
        SignalOutcome.SKIPPED, "no position to sell: this strategy holds no ETH", None)
    assert not Order.objects.filter(reject_reason__startswith="no_shorting").exists()
