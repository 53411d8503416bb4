"""The backtest command over stored history, with the recorded CoinGecko ETH prices.

Expected fills and P&L are computed here from the raw CSV text of
../shared/data/prices-coingecko-daily-csv/eth-usd-max.csv, independently of the importer and engine.
"""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from ledgers.exchange.market.models import Asset
from ledgers.exchange.market.services import prices_import_csv
from tests.whales.factories import TradeFactory, WhaleFactory
from trading.backtest import Progress, backtest_run
from trading.models import Account, Fill, Order, SignalOutcome, StrategySignal
from trading.services import TradingError
from whales.models import Direction, WalletScore

pytestmark = pytest.mark.django_db

D = Decimal
ETH_CSV = Path(settings.REPLAY_DATA_DIR) / "prices-coingecko-daily-csv" / "eth-usd-max.csv"


def raw_eth_price(day: str) -> Decimal:
    """The recorded daily ETH price for ``day`` (YYYY-MM-DD), straight from the CSV text."""
    with ETH_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["snapped_at"].startswith(day):
                return D(row["price"])
    raise AssertionError(f"no ETH price for {day}")


@pytest.fixture
def eth_prices():
    eth = Asset.objects.filter(symbol="ETH", contract_address="").get()
    report = prices_import_csv(path=ETH_CSV, asset=eth)
    assert report.inserted > 3000
    return eth


def run_json(*args: str) -> dict:
    out = io.StringIO()
    call_command("backtest", *args, "--json", stdout=out)
    return json.loads(out.getvalue()[out.getvalue().index("{"):])


def test_follow_whale_backtest_on_recorded_prices_books_exact_fifo_pnl(eth_prices):
    whale = WhaleFactory()
    TradeFactory(whale=whale, block_time=datetime(2024, 3, 13, 10, 0, tzinfo=UTC), direction=Direction.BUY,
                 amount_base=D(2))
    TradeFactory(whale=whale, block_time=datetime(2024, 3, 14, 9, 30, tzinfo=UTC), direction=Direction.SELL,
                 amount_base=D(2))
    result = run_json("follow_whale", "--whale", f"{whale.chain}:{whale.address}", "--params", '{"scale": "0.5"}',
                      "--start", "2024-03-13", "--end", "2024-03-15", "--step", "1h",
                      "--fee-bps", "10", "--slippage-bps", "5", "--cash-usd", "20000",
                      "--max-position-percent", "100", "--max-strategy-exposure-percent", "100")

    # Buy 1 ETH at the run of 10:00 on the 13th (price of the day), sell it at 10:00 on the 14th.
    p13, p14 = raw_eth_price("2024-03-13"), raw_eth_price("2024-03-14")
    buy_price = (p13 * D("1.0005")).quantize(D("1e-18"))
    sell_price = (p14 * D("0.9995")).quantize(D("1e-18"))
    buy_notional, sell_notional = buy_price.quantize(D("1e-8")), sell_price.quantize(D("1e-8"))
    buy_fee = (buy_notional * D("0.001")).quantize(D("1e-8"))
    sell_fee = (sell_notional * D("0.001")).quantize(D("1e-8"))
    realized = sell_notional - sell_fee - (buy_notional + buy_fee)

    account = Account.objects.get(pk=result["account_id"])
    fills = list(Fill.objects.filter(account=account).order_by("filled_at"))
    assert [(f.side, f.quantity, f.filled_at) for f in fills] == [
        ("buy", D(1), datetime(2024, 3, 13, 10, tzinfo=UTC)), ("sell", D(1), datetime(2024, 3, 14, 10, tzinfo=UTC))]
    assert (fills[0].price_usd, fills[1].price_usd) == (buy_price, sell_price)
    assert fills[1].realized_pnl_usd == realized
    assert D(result["summary"]["realized_pnl_usd"]) == realized
    assert D(result["summary"]["fees_usd"]) == buy_fee + sell_fee
    assert result["summary"]["closed_trades"] == 1
    assert account.cash_usd == D(20000) + realized
    assert result["outcomes"] == {"ordered": 2, "rejected": 0, "skipped": 0}
    assert result["steps"] == 49 and result["end"] == "2024-03-15T00:00:00+00:00"
    assert D(result["final_equity_usd"]) == D(20000) + realized
    assert (result["starting_cash_usd"], "starting_cash" in result) == ("20000", False)
    assert set(result["summary"]) == {
        "realized_pnl_usd", "unrealized_pnl_usd", "closed_trades", "wins", "losses", "win_rate_percent",
        "gross_profit_usd", "gross_loss_usd", "profit_factor", "average_win_usd", "largest_win_usd",
        "average_loss_usd", "largest_loss_usd", "volume_usd", "fees_usd", "fill_count", "max_drawdown_percent",
        "sharpe_ratio"}
    # The strategy is not scheduled: a backtest leaves no beat row running.
    assert account.strategies.get().periodic_task is None


def test_follow_smart_money_backtest_recomputes_flows_point_in_time(eth_prices):
    smart = WhaleFactory()
    WalletScore.objects.create(whale=smart, score=D(80), confidence="high", formula_version="v1")
    TradeFactory(whale=smart, block_time=datetime(2024, 3, 13, 6, 0, tzinfo=UTC), direction=Direction.BUY,
                 amount_base=D(100), value_usd=D("400000"))
    TradeFactory(whale=smart, block_time=datetime(2024, 3, 14, 6, 0, tzinfo=UTC), direction=Direction.SELL,
                 amount_base=D(150), value_usd=D("600000"))
    result = run_json("follow_smart_money", "--params", '{"order_usd": "1000", "window": "24h"}',
                      "--start", "2024-03-13", "--end", "2024-03-15", "--step", "1h", "--fee-bps", "0",
                      "--slippage-bps", "0", "--max-position-percent", "100", "--max-strategy-exposure-percent", "100")
    assert result["flows_mode"] == "recompute"
    assert "look-ahead" in result["caveats"][0]
    signals = list(StrategySignal.objects.filter(strategy_id=result["strategy_id"]).order_by("generated_at"))
    # Entry at 06:00 on the 13th (net +400,000 >= 100,000); held while the 24h flow stays positive
    # (skipped with the reason every hour); exit at 06:00 on the 14th when the net flow turns to -600,000.
    entry, exits = signals[0], [s for s in signals if s.side == "sell"]
    p13, p14 = raw_eth_price("2024-03-13"), raw_eth_price("2024-03-14")
    assert (entry.generated_at, entry.side, entry.outcome) == (
        datetime(2024, 3, 13, 6, tzinfo=UTC), "buy", SignalOutcome.ORDERED)
    assert entry.quantity == (D(1000) / p13).quantize(D("1e-8"), rounding=ROUND_DOWN)
    skipped = [s for s in signals if s.outcome == SignalOutcome.SKIPPED]
    assert len(skipped) == 23  # 07:00 .. 05:00 the next day
    assert all(s.outcome_reason.startswith("already holding") for s in skipped)
    [exit_signal] = exits
    assert exit_signal.generated_at == datetime(2024, 3, 14, 6, tzinfo=UTC)
    assert exit_signal.quantity == entry.quantity
    sell = Fill.objects.get(order=exit_signal.order)
    assert sell.realized_pnl_usd == (entry.quantity * p14).quantize(D("1e-8")) - (entry.quantity * p13).quantize(
        D("1e-8"))


def test_a_backtest_that_dies_part_way_leaves_nothing(eth_prices):
    whale = WhaleFactory()
    TradeFactory(whale=whale, block_time=datetime(2024, 3, 13, 1, tzinfo=UTC), direction=Direction.BUY,
                 amount_base=D(1))
    calls = []

    def progress(p: Progress) -> None:
        calls.append(p)
        if p.orders_filled:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backtest_run(kind="follow_whale", params={"whale_id": whale.pk, "scale": "0.1"},
                     start=datetime(2024, 3, 13, tzinfo=UTC), end=datetime(2024, 3, 14, tzinfo=UTC),
                     step=timedelta(minutes=30), progress=progress)
    assert calls and calls[-1].orders_filled == 1
    assert not Account.objects.exists() and not Order.objects.exists() and not StrategySignal.objects.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["follow_whale", "--whale", "ethereum:0xdead", "--start", "2024-03-13", "--end", "2024-03-14"],
     "--whale: no tracked whale 'ethereum:0xdead'"),
    (["follow_smart_money", "--start", "2024-03-14", "--end", "2024-03-13"], "must be after start"),
    (["follow_smart_money", "--step", "15x", "--start", "2024-03-13", "--end", "2024-03-14"], "--step: expected"),
    (["follow_smart_money", "--params", "[1]", "--start", "2024-03-13", "--end", "2024-03-14"],
     "--params: expected a JSON object"),
    (["follow_smart_money", "--params", '{"window": "2h"}', "--start", "2024-03-13", "--end", "2024-03-14"],
     "window: must be one of"),
    (["follow_smart_money", "--start", "yesterday", "--end", "2024-03-14"], "--start: expected an ISO date"),
    (["follow_smart_money", "--cash-usd", "0", "--start", "2024-03-13", "--end", "2024-03-14"], "starting cash"),
    (["follow_smart_money", "--cash", "-1", "--start", "2024-03-13", "--end", "2024-03-14"], "starting cash"),  # alias
    (["follow_smart_money"], "no stored trades for this strategy"),
    (["follow_whale"], "whale_id: required"),  # no whale: no history to take the default range from
])
def test_bad_backtest_input_is_a_clear_error_and_stores_nothing(args, message):
    with pytest.raises(CommandError, match=message.replace("[", r"\[")):
        call_command("backtest", *args, stdout=io.StringIO())
    assert not Account.objects.exists()


def test_backtest_range_checks():
    start = datetime(2024, 3, 13, tzinfo=UTC)
    with pytest.raises(TradingError, match="steps exceed"):
        backtest_run(kind="follow_smart_money", params={}, start=start, end=start + timedelta(days=400),
                     step=timedelta(minutes=1))
    with pytest.raises(TradingError, match="timezone-aware"):
        backtest_run(kind="follow_smart_money", params={}, start=start.replace(tzinfo=None),
                     end=datetime(2024, 3, 14), step=timedelta(hours=1))


def test_backtest_prints_a_readable_summary(eth_prices):
    whale = WhaleFactory()
    TradeFactory(whale=whale, block_time=datetime(2024, 3, 13, 1, tzinfo=UTC), direction=Direction.BUY,
                 amount_base=D(1))
    out = io.StringIO()
    call_command("backtest", "follow_whale", "--whale", str(whale.pk), "--params", '{"scale": "1"}', "--step", "6h",
                 "--fee-bps", "0", "--slippage-bps", "0", "--max-position-percent", "100",
                 "--max-strategy-exposure-percent", "100", stdout=out)
    text = out.getvalue()
    # Default range: from one step before the first trade to a day after the last.
    assert "from 2024-03-12T19:00:00+00:00 to 2024-03-14T01:00:00+00:00 every 6:00:00" in text
    assert "signals: 1 ordered, 0 rejected, 0 skipped" in text
    assert "orders: 1 filled, 0 rejected" in text
    p13, p14 = raw_eth_price("2024-03-13"), raw_eth_price("2024-03-14")
    # Equity at the end = cash after buying 1 ETH at the 13th's price (no fees) + 1 ETH at the 14th's.
    assert f"final equity        {D(10000) - p13.quantize(D('1e-8')) + p14:,.2f} USD" in text
    assert "(1/6 steps): 0 signals, 0 orders filled" in text
    assert "(6/6 steps): 1 signals, 1 orders filled" in text
