"""Benchmark: paper order placement and the backtest clock, on PostgreSQL.

What is measured
    1. ``order_place``: ``--orders`` market orders (alternating buys and sells of ETH and BTC, so
       sells consume FIFO lots) on one account, each its own transaction with every safety check,
       the daily-loss guard, the fill, the lot and the position: orders per second and p50 / p99
       latency per order. Baseline in the same run: the floor of the same bookkeeping without any
       check (lock the account, insert the order and the fill, update the cash), per order.
    2. ``backtest_run`` of ``follow_whale`` over one simulated day at a 1-minute step (1,441 steps)
       with ``--trades`` whale trades spread over the day: steps per second.

Data (setup, untimed, every run starts clean)
    The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench_trading;
    its name must contain "bench") is dropped, recreated and migrated. Prices: one ETH and one BTC
    PriceHistory row a minute before the orders (order placement), and the recorded daily CoinGecko
    rows (backtest). No target is set by the issue; the figures document the cost of the checks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure, percentile  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_trading"
D = Decimal


def bench_orders(n: int) -> None:
    """Figures 1 (module docstring): ``n`` orders through ``order_place``, then ``n`` floor bookings."""
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from ledgers.exchange.market.models import Asset, PriceHistory
    from trading.models import Account, Fill, Order
    from trading.services import order_place

    now = timezone.now()
    for symbol, price in (("ETH", "2000"), ("BTC", "50000")):
        asset = Asset.objects.filter(symbol=symbol, contract_address="").get()
        PriceHistory.objects.create(asset=asset, timestamp=now - timedelta(minutes=1), price_usd=D(price),
                                    source="bench")
    owner = get_user_model().objects.create(username="bench")
    limits = {"max_position_percent": D(100), "max_strategy_exposure_percent": D(100),
              "max_daily_loss_percent": D(100), "max_orders_per_day": 10**6}
    account = Account.objects.create(owner=owner, name="bench", starting_cash_usd=D(10**9), cash_usd=D(10**9),
                                     **limits)
    floor_account = Account.objects.create(owner=owner, name="floor", starting_cash_usd=D(10**9), cash_usd=D(10**9),
                                           **limits)

    latencies = []
    started = time.perf_counter()
    for i in range(n):
        symbol = "ETH" if i % 4 < 2 else "BTC"
        side = "buy" if i % 2 == 0 else "sell"
        quantity = D("1.5") if side == "buy" else D("1")
        t0 = time.perf_counter()
        order = order_place(account_id=account.pk, symbol=symbol, side=side, quantity=quantity,
                            client_order_id=f"b{i}", now=now)
        latencies.append((time.perf_counter() - t0) * 1000)
        assert order.status == "filled", order.reject_reason
    elapsed = time.perf_counter() - started

    floor = []
    floor_started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        with transaction.atomic():
            locked = Account.objects.select_for_update().get(pk=floor_account.pk)
            order = Order.objects.create(account=locked, client_order_id=f"f{i}", symbol="ETH", side="buy",
                                         quantity=D(1), status="filled", created_at=now)
            Fill.objects.create(order=order, account=locked, symbol="ETH", side="buy", price_usd=D(2000),
                                quantity=D(1), notional_usd=D(2000), fee_usd=D(2), filled_at=now)
            locked.cash_usd -= D(2002)
            locked.save(update_fields=["cash_usd"])
        floor.append((time.perf_counter() - t0) * 1000)
    floor_elapsed = time.perf_counter() - floor_started

    figure("orders placed", n)
    figure("order_place throughput", n / elapsed, "orders/s")
    figure("order_place latency p50", statistics.median(latencies), "ms")
    figure("order_place latency p99", percentile(latencies, 99), "ms")
    figure("floor (lock + order + fill + cash, no checks) throughput", n / floor_elapsed, "orders/s")
    figure("floor latency p50", statistics.median(floor), "ms")
    figure("order_place / floor (p50)", statistics.median(latencies) / statistics.median(floor), "x")


def bench_backtest(trades: int) -> None:
    """Figures 2 (module docstring): one simulated day of ``follow_whale`` over ``trades`` trades."""
    from django.conf import settings

    from ledgers.exchange.market.models import Asset
    from ledgers.exchange.market.services import prices_import_csv
    from trading.backtest import backtest_run
    from whales.models import Trade, Whale

    eth = Asset.objects.filter(symbol="ETH", contract_address="").get()
    prices_import_csv(path=Path(settings.REPLAY_DATA_DIR) / "prices-coingecko-daily-csv" / "eth-usd-max.csv",
                      asset=eth)
    whale = Whale.objects.create(chain="ethereum", address="0x" + "ab" * 20, name="bench whale")
    day = datetime(2024, 3, 14, tzinfo=UTC)
    Trade.objects.bulk_create([
        Trade(whale=whale, chain="ethereum", block_time=day + timedelta(seconds=i * 86_400 // trades),
              tx_hash=f"0x{i:064x}", log_index=0, source="onchain", direction="buy" if i % 2 == 0 else "sell",
              base_asset="ETH", amount_base=D("0.5"), value_usd=D(1000))
        for i in range(trades)])
    started = time.perf_counter()
    result = backtest_run(kind="follow_whale", params={"whale_id": whale.pk, "scale": "1"}, start=day,
                          end=day + timedelta(days=1), step=timedelta(minutes=1),
                          account_options={"max_position_percent": D(100), "max_strategy_exposure_percent": D(100),
                                           "max_orders_per_day": 10**6})
    elapsed = time.perf_counter() - started
    figure("backtest steps", result.steps)
    figure("backtest signals", sum(result.outcomes.values()))
    figure("backtest orders filled", result.orders_filled)
    figure("backtest throughput", result.steps / elapsed, "steps/s")
    figure("backtest wall time", elapsed, "s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--trades", type=int, default=500)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    args = parser.parse_args()
    database_recreate(args.database_url)
    django_setup(args.database_url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    bench_orders(args.orders)
    bench_backtest(args.trades)


if __name__ == "__main__":
    main()
