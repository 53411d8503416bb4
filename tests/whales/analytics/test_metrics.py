"""Wallet metrics (whales.analytics.metrics): exact values on hand-built trades and on the recorded Hyperliquid
fills, stored rows, idempotence, the query count of a full recompute and the task wiring."""

import itertools
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from ledgers.glass.hyperliquid.activity import fill_activities
from ledgers.glass.hyperliquid.client import fill_decode
from ledgers.refs import WhaleRef
from tests.ledgers.glass.hyperliquid import recorded
from tests.whales.factories import TradeFactory, WhaleFactory
from whales.analytics import metrics
from whales.analytics.metrics import (
    metrics_mark_pending,
    metrics_recompute,
    metrics_recompute_all,
    metrics_recompute_pending,
    perp_realized_by_coin,
)
from whales.jobs import COALESCE_KEY
from whales.models import (
    Holding,
    MetricsPending,
    OpeningStatus,
    Trade,
    TradeSource,
    WalletMetrics,
    WalletMetricsDaily,
    WalletOpening,
    Whale,
)
from whales.services import trades_confirm, trades_ingest, trades_retract

pytestmark = pytest.mark.django_db

D = Decimal
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


_tx = itertools.count(1)


def trade(whale, direction, asset, amount, value, fee=None, *, ago, source=TradeSource.ONCHAIN, pnl=None):
    return Trade(whale=whale, chain=whale.chain, block_time=NOW - ago, tx_hash=f"0x{next(_tx):064x}", log_index=0,
                 source=source, direction=direction, base_asset=asset, amount_base=D(amount),
                 value_usd=None if value is None else D(value), fee_usd=None if fee is None else D(fee),
                 pnl_usd=None if pnl is None else D(pnl))


def holding(whale, asset, amount, value, **kw):
    return Holding.objects.create(whale=whale, asset=asset, amount=D(amount), value_usd=D(value), **kw)


@pytest.fixture
def onchain_whale():
    """A hand-built Ethereum wallet; the expected figures are worked out in the test below."""
    w = WhaleFactory(chain="ethereum")
    day, hour = timedelta(days=1), timedelta(hours=1)
    Trade.objects.bulk_create([
        trade(w, "buy", "AAVE", "2", "200", ago=45 * day),            # lot 2 AAVE @ 200, outside 30d
        trade(w, "receive", "ETH", "10", "20000", ago=40 * day),      # money in 20,000; lot 10 ETH @ 20,000
        trade(w, "sell", "ETH", "4", "10000", "20", ago=20 * day),    # 9,980 - 8,000 = 1,980
        trade(w, "buy", "UNI", "100", "1000", "5", ago=10 * day),     # lot 100 UNI @ 1,005
        trade(w, "buy", "LINK", "1", "10", ago=5 * day),              # lot 1 LINK @ 10
        trade(w, "sell", "LINK", "1", "20", ago=4 * day),             # +10, round trip won
        trade(w, "sell", "UNI", "100", "900", ago=12 * hour),         # -105, round trip lost
        trade(w, "send", "ETH", "1", "3000", ago=2 * hour),           # money out 3,000; lots: 5 ETH @ 10,000
        trade(w, "sell", "PEPE", "2", "50", ago=1 * hour),            # no buy: unknown cost
    ])
    holding(w, "ETH", "5", "15000")
    holding(w, "AAVE", "2", "300")
    holding(w, "USDC", "9000", "9000")
    # It held nothing when tracking started (the opening position: tests/whales/analytics/test_roi.py).
    WalletOpening.objects.create(whale=w, block_number=1, status=OpeningStatus.OK, value_usd=D(0))
    return w


def test_onchain_wallet_metrics_are_exact(onchain_whale):
    assert metrics_recompute(whale_ids=[onchain_whale.pk], now=NOW) == 1
    m = WalletMetrics.objects.get(whale=onchain_whale)
    portfolio = D(15000) + D(300) + D(9000)
    assert m.portfolio_value_usd == portfolio
    assert m.roi_percent == ((portfolio + 3000 - 20000) / 20000 * 100).quantize(D("0.0001"))  # 36.5000
    assert m.roi_percent == D("36.5000")
    assert m.realized_pnl_usd == D(1980) + D(10) - D(105)
    assert m.realized_pnl_method == "fifo"
    # ETH: 5 x 3,000 - 10,000; AAVE: 2 x 150 - 200; PEPE/UNI/LINK have no lots left
    assert m.unrealized_pnl_usd == D(5000) + D(100)
    assert (m.volume_30d_usd, m.trades_30d) == (D(10000 + 1000 + 10 + 20 + 900 + 50), 6)
    assert (m.volume_1d_usd, m.trades_1d) == (D(900 + 50), 2)
    assert (m.closed_round_trips, m.win_rate_percent) == (2, D("50.0000"))
    assert m.unknown_cost_sells == 1
    assert m.details["unknown_cost_amounts"] == {"PEPE": "2"}
    assert m.details["unknown_cost_proceeds_usd"] == "50.00000000"
    assert m.details["deposits_usd"] == "20000.00000000" and m.details["withdrawals_usd"] == "3000.00000000"
    assert m.computed_at == NOW


def test_unpriced_open_lot_makes_unrealized_unknown(onchain_whale):
    Holding.objects.filter(whale=onchain_whale, asset="AAVE").delete()
    metrics_recompute(whale_ids=[onchain_whale.pk], now=NOW)
    m = WalletMetrics.objects.get(whale=onchain_whale)
    assert m.unrealized_pnl_usd is None
    assert m.details["unrealized_pnl_usd"]["fifo"] is None


def test_hyperliquid_account_uses_closed_pnl_and_the_account_value_row():
    w = WhaleFactory(chain="hyperliquid")
    hl, day = TradeSource.HYPERLIQUID, timedelta(days=1)
    Trade.objects.bulk_create([
        trade(w, "deposit", "USDC", "1000", "1000", ago=3 * day, source=TradeSource.EXCHANGE_FLOW),
        trade(w, "long", "BTC", "0.1", "5000", "1", ago=2 * day, source=hl),
        trade(w, "close_long", "BTC", "0.1", "5050", "1", ago=day / 2, source=hl, pnl="50"),
        trade(w, "short", "ETH", "1", "3000", "0.5", ago=day / 4, source=hl),
    ])
    holding(w, "USDC", "1047.5", "1047.5")  # the account value row (perp_positions_set)
    holding(w, "ETH", "-1", "2980", is_perp=True, unrealized_pnl_usd=D("20"))  # notional, not value
    metrics_recompute(whale_ids=[w.pk], now=NOW)
    m = WalletMetrics.objects.get(whale=w)
    assert m.portfolio_value_usd == D("1047.5")
    assert m.roi_percent == D("4.7500")  # (1,047.5 + 0 - 1,000) / 1,000 x 100
    assert m.realized_pnl_usd == D("47.5")  # closedPnl 50 - fees 1 + 1 + 0.5
    assert m.realized_pnl_method == "exchange_closed_pnl"
    assert m.unrealized_pnl_usd == D(20)  # the exchange's figure; the USDC lot is at cost 1,000 x 1 - 1,000
    assert (m.closed_round_trips, m.win_rate_percent) == (1, D("100.0000"))
    assert (m.trades_30d, m.volume_30d_usd, m.trades_1d, m.volume_1d_usd) == (3, D(13050), 2, D(8050))


def test_recorded_hyperliquid_fills_realize_exactly_the_recorded_closed_pnl():
    whale = Whale.objects.create(chain="hyperliquid", address=recorded.FILLS_USER)
    fills = recorded.fills()
    ref = WhaleRef(id=whale.pk, address=whale.address, name="")
    trades_ingest(activities=[a for fill in fills for a in fill_activities(fill_decode(fill), ref)])
    pnl: dict[str, Decimal] = defaultdict(Decimal)
    fees: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        pnl[fill["coin"]] += Decimal(fill["closedPnl"])
        fees[fill["coin"]] += Decimal(fill["fee"])
    by_coin = perp_realized_by_coin(whale_id=whale.pk)
    assert {c: r.closed_pnl_usd for c, r in by_coin.items()} == dict(pnl)
    assert {c: r.fees_usd for c, r in by_coin.items()} == dict(fees)
    assert {c: r.realized_pnl_usd for c, r in by_coin.items()} == {c: pnl[c] - fees[c] for c in pnl}
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    m = WalletMetrics.objects.get(whale=whale)
    assert m.realized_pnl_usd == sum(pnl.values()) - sum(fees.values())
    assert m.realized_pnl_method == "exchange_closed_pnl"
    assert m.unknown_cost_sells == 0
    closes = [f for f in fills if f["dir"].startswith("Close") or ">" in f["dir"]]
    assert m.closed_round_trips == len(closes)
    wins = sum(1 for f in closes if Decimal(f["closedPnl"]) - Decimal(f["fee"]) > 0)
    assert m.win_rate_percent == (Decimal(wins) * 100 / len(closes)).quantize(Decimal("0.0001"))


def test_daily_rows_are_one_per_whale_per_day_and_idempotent(onchain_whale):
    metrics_recompute(whale_ids=[onchain_whale.pk], now=NOW)
    first = list(WalletMetricsDaily.objects.values())
    metrics_recompute(whale_ids=[onchain_whale.pk], now=NOW)
    assert list(WalletMetricsDaily.objects.values()) == first
    assert WalletMetrics.objects.count() == 1
    metrics_recompute(whale_ids=[onchain_whale.pk], now=NOW + timedelta(days=1))
    rows = WalletMetricsDaily.objects.filter(whale=onchain_whale).order_by("date")
    assert [r.date for r in rows] == [NOW.date(), NOW.date() + timedelta(days=1)]
    assert rows[0].roi_percent == rows[1].roi_percent == D("36.5000")


def test_a_whale_without_activity_gets_empty_metrics():
    w = WhaleFactory()
    metrics_recompute(whale_ids=[w.pk, 999_999_999], now=NOW)
    m = WalletMetrics.objects.get()
    assert (m.whale_id, m.roi_percent, m.portfolio_value_usd, m.realized_pnl_usd, m.unrealized_pnl_usd) == (
        w.pk, None, None, D(0), D(0))
    assert (m.win_rate_percent, m.trades_30d, m.realized_pnl_method) == (None, 0, "")


def _whales_with_trades(count: int) -> list[Whale]:
    whales = Whale.objects.bulk_create(
        [Whale(chain="ethereum", address=f"0x{n + 5000:040x}") for n in range(count)])
    day = timedelta(days=1)
    Trade.objects.bulk_create([t for w in whales for t in (
        trade(w, "receive", "ETH", "3", "9000", ago=9 * day),
        trade(w, "buy", "ETH", "1", "3000", "3", ago=8 * day),
        trade(w, "sell", "ETH", "2", "7000", "7", ago=day / 2),
    )])
    Holding.objects.bulk_create([Holding(whale=w, asset="ETH", amount=D(2), value_usd=D(7000)) for w in whales])
    WalletOpening.objects.bulk_create(
        [WalletOpening(whale=w, block_number=1, status=OpeningStatus.OK, value_usd=D(0)) for w in whales])
    return whales


def test_full_recompute_query_count_does_not_grow_with_whales():
    counts = []
    for n in (10, 100):
        Whale.objects.all().delete()
        _whales_with_trades(n)
        with CaptureQueriesContext(connection) as ctx:
            assert metrics_recompute_all(now=NOW) == n
        counts.append(len(ctx.captured_queries))
    # whales, GROUP BY, chains, openings, states, trades, holdings; then the store: missing states, their
    # versions locked, the rebuilt whales' old lots, their lots, states, metrics, daily (+ transaction)
    assert counts[0] == counts[1] <= 16
    assert WalletMetrics.objects.filter(realized_pnl_usd=D(7000 - 7 - 6000), roi_percent=D("-22.2222")).count() == 100


def test_marking_pending_keeps_one_row_per_whale_and_queues_one_debounced_recompute(
        broker_queue, settings, django_capture_on_commit_callbacks):
    settings.WHALE_METRICS_DEBOUNCE_S = 30
    cache.delete(COALESCE_KEY.format(name="whales.recompute_pending_metrics"))
    w1, w3 = WhaleFactory(), WhaleFactory()
    with django_capture_on_commit_callbacks(execute=True):
        metrics_mark_pending(whale_ids=[w3.pk, w1.pk, w3.pk])
        metrics_mark_pending(whale_ids=[])
        first = dict(MetricsPending.objects.values_list("whale_id", "first_marked_at"))
        assert broker_queue() == []  # nothing before the commit
    with django_capture_on_commit_callbacks(execute=True):
        metrics_mark_pending(whale_ids=[w1.pk])  # a second batch within the window: coalesced
    rows = {row.whale_id: row for row in MetricsPending.objects.all()}
    assert set(rows) == {w1.pk, w3.pk}
    assert rows[w1.pk].first_marked_at == first[w1.pk] < rows[w1.pk].last_marked_at
    assert broker_queue() == ["whales.recompute_pending_metrics"]


def test_pending_recompute_takes_marks_older_than_the_debounce_and_keeps_the_rest():
    due, fresh = _whales_with_trades(2)
    MetricsPending.objects.create(whale=due, first_marked_at=NOW - timedelta(seconds=31),
                                  last_marked_at=NOW - timedelta(seconds=5))
    MetricsPending.objects.create(whale=fresh, first_marked_at=NOW - timedelta(seconds=29),
                                  last_marked_at=NOW - timedelta(seconds=29))
    assert metrics_recompute_pending(debounce_s=30, now=NOW) == 1
    assert list(WalletMetrics.objects.values_list("whale_id", flat=True)) == [due.pk]
    assert list(MetricsPending.objects.values_list("whale_id", flat=True)) == [fresh.pk]


def test_a_whale_marked_again_during_its_recompute_stays_pending(monkeypatch):
    [whale] = _whales_with_trades(1)
    MetricsPending.objects.create(whale=whale, first_marked_at=NOW - timedelta(minutes=5),
                                  last_marked_at=NOW - timedelta(minutes=5))
    real = metrics.metrics_recompute

    def recompute_while_new_trades_land(**kwargs):
        done = real(**kwargs)
        MetricsPending.objects.filter(whale=whale).update(last_marked_at=NOW)  # another ingest commits
        return done

    monkeypatch.setattr(metrics, "metrics_recompute", recompute_while_new_trades_land)
    assert metrics_recompute_pending(debounce_s=30, now=NOW) == 1
    assert MetricsPending.objects.get().last_marked_at == NOW


def test_ingest_reorg_and_confirmation_mark_the_whales_they_touch(django_capture_on_commit_callbacks):
    whale = WhaleFactory()
    trade = TradeFactory(whale=whale, block_number=None, block_hash="")
    MetricsPending.objects.all().delete()
    trades_confirm(chain=trade.chain, tx_hash=trade.tx_hash, block_number=5, block_hash="0x5", block_time=NOW)
    assert list(MetricsPending.objects.values_list("whale_id", flat=True)) == [whale.pk]
    MetricsPending.objects.all().delete()
    trades_retract(chain=trade.chain, block_hashes=["0x5"])
    assert list(MetricsPending.objects.values_list("whale_id", flat=True)) == [whale.pk]


def test_tasks_call_the_services():
    from whales.analytics import tasks

    with (mock.patch.object(tasks, "metrics_recompute") as one,
          mock.patch.object(tasks, "metrics_recompute_all") as full,
          mock.patch.object(tasks, "metrics_recompute_pending") as pending):
        tasks.recompute_metrics(whale_ids=[1, 2])
        tasks.recompute_all_metrics()
        tasks.recompute_pending_metrics()
    one.assert_called_once_with(whale_ids=[1, 2])
    full.assert_called_once_with()
    pending.assert_called_once_with(debounce_s=30.0)


def test_the_full_recompute_is_scheduled_hourly_and_the_pending_sweep_every_minute():
    task = PeriodicTask.objects.get(name="whales: recompute all wallet metrics")
    assert (task.task, task.interval.every, task.interval.period, task.enabled) == (
        "whales.recompute_all_metrics", 1, "hours", True)
    sweep = PeriodicTask.objects.get(task="whales.recompute_pending_metrics")
    assert (sweep.interval.every, sweep.interval.period, sweep.expire_seconds, sweep.enabled) == (
        1, "minutes", 60, True)
