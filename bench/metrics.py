"""Benchmark: full wallet-metrics recompute (whales.analytics.metrics) against a single GROUP BY floor.

What is measured
    ``metrics_recompute_all()`` exactly as the hourly beat task runs it (batches of 1,000 whales:
    one GROUP BY over the batch's trades, one streamed load of its non-perp trades for the FIFO
    books, one holdings load, two upserts) over ``--whales`` whales and ``--trades`` trades: wall
    time, whales/s, trades/s, peak RSS (VmHWM reset just before the recompute when the kernel
    allows it, and the lifetime ru_maxrss including setup), and the rows it stored.

The floor, measured in the same run on the same table
    ``SELECT whale_id, count(*), sum(value_usd) FROM whales_trade GROUP BY whale_id`` with every
    row fetched: once before the recompute (cold-ish) and once after it (warm); the ratio is the
    recompute time / the warm floor time.

Data (setup, untimed, every run starts clean)
    The bench database (DATABASE_URL, default postgres://postgres@127.0.0.1:5432/whaletrack_bench_metrics;
    its name must contain "bench") is dropped, recreated and migrated. The 500 recorded Hyperliquid
    fills (tests/ledgers/glass/hyperliquid/recorded.py, read in place), decoded by the client's fill_decode,
    go through ledgers.glass.hyperliquid.activity.fill_activities (522 trades: flips are two), sorted by time, and
    are rewritten per whale: whale i gets trades/whales consecutive activities starting at
    (i x 37) mod 522 (wrapping), new times (7 h apart, the newest ~7 h ago, so ~100 trades span
    ~29 days and most fall in the 30-day window), its own tx hashes. Even whales are Hyperliquid
    accounts: a USDC deposit (the recorded ledger deposit's shape) then the fills as perp trades,
    with the exchange's closedPnl. Odd whales are Ethereum wallets: a USDC receive, then the same
    fills rewritten as spot trades (open long / close short -> buy, open short / close long -> sell,
    so some sells have no recorded buy: the unknown-cost path runs too) and every 10th one as a
    transfer (buy -> receive, sell -> send). Two holdings per whale (USDC; a perp position for
    Hyperliquid, the window's first coin for Ethereum). Trades are loaded with COPY, streamed.
    DEBUG is forced off (Django would otherwise keep every query in memory).

Targets
    Full recompute < 60 s; peak RSS < 500 MB.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import database_recreate, django_setup, figure, hwm_mb, maxrss_mb, reset_hwm, rss_mb  # noqa: E402  (after sys.path)

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whaletrack_bench_metrics"
TARGET_SECONDS = 60.0
TARGET_PEAK_MB = 500.0
TRADE_COLUMNS = (
    "whale_id", "chain", "block_time", "block_number", "block_hash", "tx_hash", "log_index", "source", "platform",
    "direction", "base_asset", "base_token_address", "quote_asset", "quote_token_address", "amount_base",
    "amount_quote", "price_usd", "value_usd", "fee_usd", "pnl_usd", "counterparty", "counterparty_name",
    "is_internal", "created_at",
)


def template_activities() -> list:
    """The recorded fills as whale activities (fill_activities), oldest first."""
    from ledgers.glass.hyperliquid.activity import fill_activities
    from ledgers.glass.hyperliquid.client import fill_decode
    from ledgers.refs import WhaleRef
    from tests.ledgers.glass.hyperliquid import recorded

    ref = WhaleRef(id=0, address=recorded.FILLS_USER, name="")
    acts = [a for fill in recorded.fills() for a in fill_activities(fill_decode(fill), ref)]
    acts.sort(key=lambda a: (a.block_time, a.log_index))
    return acts


SPOT = {"long": "buy", "close_short": "buy", "short": "sell", "close_long": "sell"}


def _rows(whales: list[int], per_whale: int, acts: list, now: datetime):
    """COPY rows of every whale's trades (module docstring), generated lazily."""
    n = len(acts)
    step = timedelta(hours=7)
    deposit = Decimal("100000")
    for i, whale_id in enumerate(whales):
        hl = i % 2 == 0
        chain = "hyperliquid" if hl else "ethereum"
        start = (i * 37) % n
        base_time = now - timedelta(milliseconds=i)
        for k in range(per_whale):
            when = base_time - step * (per_whale - k)
            tx = f"0x{i:08x}{k:056x}"
            if k == 0:  # the money in: a deposit to the Hyperliquid account / a USDC receive
                yield (whale_id, chain, when, None, "", tx, -1, "exchange_flow" if hl else "onchain",
                       "hyperliquid" if hl else "", "deposit" if hl else "receive", "USDC", "", "", "",
                       deposit, None, Decimal(1), deposit, None, None, "", "", False, now)
                continue
            a = acts[(start + k) % n]
            if hl:
                yield (whale_id, chain, when, None, "", tx, k, "hyperliquid", "hyperliquid", a.direction,
                       a.base_asset, "", "USDC", "", a.amount_base, a.amount_quote, a.price_usd, a.value_usd,
                       a.fee_usd, a.pnl_usd, "", "", False, now)
            else:
                direction = SPOT.get(a.direction, a.direction)
                if k % 10 == 5:
                    direction = "receive" if direction == "buy" else "send"
                yield (whale_id, chain, when, 19_000_000 + k, "", tx, k, "onchain", "uniswap_v3", direction,
                       a.base_asset, "", "USDC", "", a.amount_base, a.amount_quote, a.price_usd, a.value_usd,
                       a.fee_usd, None, "", "", False, now)


def seed(whale_count: int, trade_count: int, now: datetime) -> tuple[int, int]:
    from django.db import connection

    from whales.models import Holding, Whale

    Whale.objects.bulk_create(
        [Whale(chain="hyperliquid" if i % 2 == 0 else "ethereum", address=f"0x{i + 1:040x}", name=f"bench {i}")
         for i in range(whale_count)], batch_size=5000)
    whales = list(Whale.objects.order_by("pk").values_list("pk", flat=True))
    acts = template_activities()
    per_whale = trade_count // whale_count
    holdings = []
    for i, whale_id in enumerate(whales):
        a = acts[(i * 37) % len(acts)]
        usdc = Decimal(100000 + i % 1000)
        holdings.append(Holding(whale_id=whale_id, asset="USDC", amount=usdc, value_usd=usdc))
        if i % 2 == 0:
            holdings.append(Holding(whale_id=whale_id, asset=a.base_asset, amount=-a.amount_base, is_perp=True,
                                    value_usd=a.value_usd, unrealized_pnl_usd=Decimal("12.5")))
        else:
            holdings.append(Holding(whale_id=whale_id, asset=a.base_asset, amount=a.amount_base * 3,
                                    value_usd=a.value_usd * 3))
    Holding.objects.bulk_create(holdings, batch_size=5000)
    written = 0
    with connection.cursor() as cursor:
        raw = cursor.connection.cursor()
        with raw.copy(f"COPY whales_trade ({', '.join(TRADE_COLUMNS)}) FROM STDIN") as copy:
            for row in _rows(whales, per_whale, acts, now):
                copy.write_row(row)
                written += 1
        raw.execute("ANALYZE whales_trade")
        raw.execute("ANALYZE whales_holding")
    return len(whales), written


def floor() -> tuple[float, int]:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT whale_id, count(*), sum(value_usd) FROM whales_trade GROUP BY whale_id")
        rows = cursor.fetchall()
    return time.perf_counter() - started, len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--whales", type=int, default=10_000)
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="whales per recompute batch (default 1000)")
    args = parser.parse_args(argv)
    url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database_recreate(url)
    django_setup(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from whales.analytics.metrics import metrics_recompute_all
    from whales.models import WalletMetrics, WalletMetricsDaily

    now = datetime.now(UTC)
    print(f"# WhaleTrack metrics bench: {args.whales} whales, {args.trades} trades, batches of {args.batch}",
          flush=True)
    t0 = time.perf_counter()
    whales, trades = seed(args.whales, args.trades, now)
    figure("whales", whales)
    figure("trades", trades)
    figure("seed_seconds", time.perf_counter() - t0, "s")
    figure("rss_after_seed_mb", rss_mb(), "MB")
    cold, groups = floor()
    figure("floor_group_by_cold_seconds", cold, "s")
    gc.collect()
    hwm_reset = reset_hwm()
    rss_before = rss_mb()
    started = time.perf_counter()
    stored = metrics_recompute_all(now=now, batch_size=args.batch)
    seconds = time.perf_counter() - started
    peak = hwm_mb() if hwm_reset else maxrss_mb()
    warm, _ = floor()
    figure("recompute_seconds", seconds, "s")
    figure("recompute_whales_per_s", stored / seconds, "whales/s")
    figure("recompute_trades_per_s", trades / seconds, "trades/s")
    figure("whales_stored", stored)
    figure("wallet_metrics_rows", WalletMetrics.objects.count())
    figure("wallet_metrics_daily_rows", WalletMetricsDaily.objects.count())
    figure("floor_group_by_warm_seconds", warm, "s")
    figure("floor_groups", groups)
    figure("ratio_recompute_to_floor", seconds / warm, "x")
    figure("rss_before_recompute_mb", rss_before, "MB")
    figure("peak_rss_recompute_mb", peak, "MB" if hwm_reset else "MB (ru_maxrss: VmHWM reset not permitted)")
    figure("peak_rss_lifetime_mb", maxrss_mb(), "MB")
    if trades != args.trades or stored != args.whales:
        print(f"# WARNING: wrote {trades} trades / stored {stored} whales", flush=True)
    ok_time = seconds < TARGET_SECONDS
    ok_memory = max(peak, maxrss_mb()) < TARGET_PEAK_MB
    print(f"target_recompute_seconds: {'PASS' if ok_time else 'FAIL'} ({seconds:.2f} < {TARGET_SECONDS:.0f})",
          flush=True)
    print(f"target_peak_rss: {'PASS' if ok_memory else 'FAIL'} ({max(peak, maxrss_mb()):.1f} MB < "
          f"{TARGET_PEAK_MB:.0f} MB)", flush=True)
    print(f"verdict: {'PASS' if ok_time and ok_memory else 'FAIL'}", flush=True)
    return 0 if ok_time and ok_memory else 1


if __name__ == "__main__":
    sys.exit(main())
