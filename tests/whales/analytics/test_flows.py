"""Smart-money token flows (whales.analytics.flows) on hand-built trades and scores (PostgreSQL)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.whales.factories import TradeFactory, WhaleFactory
from whales.analytics.flows import flows_collect
from whales.chains import Chain
from whales.models import ScoreConfidence, SmartMoneyFlow, WalletScore

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def scored_whale(score: str | int, *, current: bool = True, **kwargs):
    whale = WhaleFactory(**kwargs)
    WalletScore.objects.create(whale=whale, score=Decimal(score), confidence=ScoreConfidence.HIGH,
                               formula_version="v1", is_current=current)
    return whale


def trade(whale, direction: str, usd: str, *, ago: timedelta = timedelta(minutes=10), asset: str = "ETH", **kwargs):
    return TradeFactory(whale=whale, direction=direction, value_usd=Decimal(usd), base_asset=asset,
                        block_time=NOW - ago, **kwargs)


def rows(window: str) -> dict[str, SmartMoneyFlow]:
    return {flow.token: flow for flow in SmartMoneyFlow.objects.filter(window=window)}


def test_net_flow_counts_and_top_lists_for_one_token():
    a, b, c = scored_whale(80, name="A"), scored_whale(70, name="B"), scored_whale(60, name="C")
    trade(a, "buy", "1000")
    trade(a, "sell", "300")        # a: +700
    trade(b, "sell", "500")        # b: -500
    trade(c, "buy", "200")
    trade(c, "sell", "200")        # c: 0 -> neither buying nor selling
    flows_collect(now=NOW, tokens=["ETH"])
    flow = rows("1h")["ETH"]
    assert (flow.bought_usd, flow.sold_usd, flow.net_flow_usd) == (Decimal("1200"), Decimal("1000"), Decimal("200"))
    assert (flow.buying_wallets, flow.selling_wallets) == (1, 1)
    assert flow.top_buyers == [{"whale_id": a.id, "chain": "ethereum", "address": a.address, "name": "A",
                                "net_usd": "700.00000000"}]
    assert flow.top_sellers == [{"whale_id": b.id, "chain": "ethereum", "address": b.address, "name": "B",
                                 "net_usd": "-500.00000000"}]
    assert flow.min_score == Decimal(60)
    assert flow.collected_at == NOW


def test_only_current_scores_at_or_above_the_threshold_count():
    smart = scored_whale(60)
    below = scored_whale("59.99")
    stale = scored_whale(90, current=False)  # an old score is not the whale's current one
    unscored = WhaleFactory()
    for whale in (smart, below, stale, unscored):
        trade(whale, "buy", "100")
    flows_collect(now=NOW)
    assert rows("1h")["ETH"].net_flow_usd == Decimal("100")
    assert rows("1h")["ETH"].buying_wallets == 1
    SmartMoneyFlow.objects.all().delete()
    flows_collect(now=NOW, min_score=50)
    assert rows("1h")["ETH"].net_flow_usd == Decimal("200")


def test_window_boundaries_are_open_at_the_start_and_closed_at_now():
    whale = scored_whale(99)
    trade(whale, "buy", "1", ago=timedelta(0))                    # at now: in every window
    trade(whale, "buy", "10", ago=timedelta(hours=1))             # exactly 1h ago: not in 1h
    trade(whale, "buy", "100", ago=timedelta(hours=23, minutes=59))
    trade(whale, "buy", "1000", ago=timedelta(days=7))            # exactly 7d ago: not in 7d
    trade(whale, "buy", "10000", ago=timedelta(days=29))
    trade(whale, "buy", "100000", ago=timedelta(days=31))         # in no window
    trade(whale, "buy", "5", ago=timedelta(seconds=-1))           # after now: in no window
    flows_collect(now=NOW)
    nets = {w: rows(w)["ETH"].net_flow_usd for w in ("1h", "24h", "7d", "30d")}
    assert nets == {"1h": Decimal("1"), "24h": Decimal("111"), "7d": Decimal("111"), "30d": Decimal("11111")}


def test_perps_count_by_exposure_and_transfers_unpriced_and_internal_rows_do_not():
    whale = scored_whale(90, chain=Chain.HYPERLIQUID)
    trade(whale, "long", "100")
    trade(whale, "close_short", "20")
    trade(whale, "short", "30")
    trade(whale, "close_long", "40")
    trade(whale, "receive", "5000")
    trade(whale, "deposit", "5000")
    trade(whale, "buy", "7000", is_internal=True)
    TradeFactory(whale=whale, direction="buy", value_usd=None, base_asset="ETH", block_time=NOW)
    flows_collect(now=NOW)
    flow = rows("1h")["ETH"]
    assert (flow.bought_usd, flow.sold_usd, flow.net_flow_usd) == (Decimal("120"), Decimal("70"), Decimal("50"))


def test_top_lists_keep_five_largest_sorted_with_ties_by_whale_id():
    buyers = [scored_whale(80) for _ in range(7)]
    sellers = [scored_whale(80) for _ in range(6)]
    for i, whale in enumerate(buyers):
        trade(whale, "buy", str(100 * (i % 4 + 1)))  # 100,200,300,400,100,200,300
    for i, whale in enumerate(sellers):
        trade(whale, "sell", str(10 * (i + 1)))
    flows_collect(now=NOW)
    flow = rows("24h")["ETH"]
    assert [(b["whale_id"], b["net_usd"]) for b in flow.top_buyers] == [
        (buyers[3].id, "400.00000000"), (buyers[2].id, "300.00000000"), (buyers[6].id, "300.00000000"),
        (buyers[1].id, "200.00000000"), (buyers[5].id, "200.00000000"),
    ]
    assert [s["whale_id"] for s in flow.top_sellers] == [w.id for w in reversed(sellers)][:5]
    assert (flow.buying_wallets, flow.selling_wallets) == (7, 6)


def test_one_row_per_token_and_window_per_collection():
    whale = scored_whale(80)
    trade(whale, "buy", "100", asset="ETH")
    trade(whale, "sell", "50", asset="PEPE", ago=timedelta(days=2))
    first = flows_collect(now=NOW)
    assert sorted((f.window, f.token) for f in first) == [
        ("1h", "ETH"), ("24h", "ETH"), ("30d", "ETH"), ("30d", "PEPE"), ("7d", "ETH"), ("7d", "PEPE")]
    flows_collect(now=NOW + timedelta(minutes=15))
    assert SmartMoneyFlow.objects.count() == 12
    assert SmartMoneyFlow.objects.filter(token="PEPE", window="7d").values_list("net_flow_usd", flat=True)[0] == (
        Decimal("-50"))


def test_tokens_argument_restricts_the_collection():
    whale = scored_whale(80)
    trade(whale, "buy", "100", asset="ETH")
    trade(whale, "buy", "100", asset="BTC")
    assert {f.token for f in flows_collect(now=NOW, tokens=["BTC"])} == {"BTC"}


def test_query_count_does_not_grow_with_whales_or_tokens():
    def collect_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            flows_collect(now=NOW)
        return len(ctx.captured_queries)

    whale = scored_whale(80)
    trade(whale, "buy", "1")
    small = collect_queries()
    for i in range(20):
        w = scored_whale(80)
        trade(w, "buy", "1", asset=f"T{i}")
        trade(w, "sell", "1", asset="ETH", ago=timedelta(days=3))
    assert collect_queries() == small
    assert small <= 7  # 4 aggregates + insert (+ savepoint pair)


def test_collect_flows_task_calls_the_service(monkeypatch, settings):
    import whales.analytics.tasks
    from whales.analytics.tasks import collect_flows

    calls = []
    monkeypatch.setattr(whales.analytics.tasks, "flows_collect", lambda **kw: calls.append(kw))
    collect_flows()
    settings.SMART_MONEY_FLOWS_ENABLED = False
    collect_flows()
    assert calls == [{}]


def test_beat_row_runs_collect_flows_every_15_minutes():
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="whales.collect_flows")
    assert (task.interval.every, task.interval.period, task.enabled) == (15, "minutes", True)
