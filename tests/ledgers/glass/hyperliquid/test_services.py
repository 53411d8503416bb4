"""The Hyperliquid collector against the replay node answering /info from the recorded cassettes."""

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db.models import Sum

from ledgers.glass.hyperliquid.services import COLLECTOR_NAME, fills_stream, whales_collect
from ledgers.models import CollectorRun, SyncCursor
from tests.ledgers.glass.hyperliquid import recorded
from whales.models import EventThreshold, EventType, Holding, RunStatus, Trade, Whale, WhaleEvent

pytestmark = pytest.mark.django_db


def snapshot() -> list[tuple]:
    return sorted(Trade.objects.values_list("tx_hash", "log_index", "direction", "amount_base", "pnl_usd"))


def test_recorded_fills_are_stored_once_with_the_exchange_realized_pnl(hl_client):
    whale = Whale.objects.create(chain="hyperliquid", address=recorded.FILLS_USER)
    result = whales_collect(client=hl_client)
    fills = recorded.fills()
    flips = sum(1 for f in fills if ">" in f["dir"])
    assert Trade.objects.filter(whale=whale, source="hyperliquid").count() == len(fills) + flips
    # Realized P&L per coin, aggregated in PostgreSQL, equals the recorded closedPnl sums exactly.
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for fill in fills:
        expected[fill["coin"]] += Decimal(fill["closedPnl"])
    stored = dict(Trade.objects.filter(whale=whale).values("base_asset").annotate(pnl=Sum("pnl_usd"))
                  .values_list("base_asset", "pnl"))
    assert {coin: stored[coin] for coin in expected} == dict(expected)
    assert SyncCursor.objects.get(stream=fills_stream(recorded.FILLS_USER)).position == max(f["time"] for f in fills)
    assert result.items_written == len(fills) + flips
    before = snapshot()
    again = whales_collect(client=hl_client)
    assert again.items_written == 0 and snapshot() == before


def test_recorded_positions_become_perp_holdings_with_the_account_value(hl_client):
    whale = Whale.objects.create(chain="hyperliquid", address=recorded.POSITIONS_USER)
    whales_collect(client=hl_client)
    state = recorded.clearinghouse_state()
    raw = {p["position"]["coin"]: p["position"] for p in state["assetPositions"]}
    perps = {h.asset: h for h in Holding.objects.filter(whale=whale, is_perp=True)}
    assert set(perps) == set(raw) and len(perps) == 12
    for coin, h in perps.items():
        r = raw[coin]
        assert (h.amount, h.value_usd, h.entry_price_usd) == (Decimal(r["szi"]), Decimal(r["positionValue"]),
                                                               Decimal(r["entryPx"]))
        assert (h.leverage, h.unrealized_pnl_usd) == (Decimal(r["leverage"]["value"]), Decimal(r["unrealizedPnl"]))
        assert h.liquidation_price_usd == (None if r["liquidationPx"] is None else Decimal(r["liquidationPx"]))
    account = Holding.objects.get(whale=whale, asset="USDC")
    assert account.value_usd == Decimal(state["marginSummary"]["accountValue"]) and not account.is_perp


def test_recorded_ledger_deposits_become_deposit_trades_with_exchange_flow_events(hl_client):
    whale = Whale.objects.create(chain="hyperliquid", address=recorded.LEDGER_USER)
    whales_collect(client=hl_client)
    deposits = list(Trade.objects.filter(whale=whale, direction="deposit").order_by("block_time")
                    .values_list("amount_base", "value_usd"))
    assert deposits == [(Decimal("2703997.4500000002"), Decimal("2703997.45")), (Decimal("1099994.98"),
                                                                                 Decimal("1099994.98"))]
    events = list(WhaleEvent.objects.filter(whale=whale, type=EventType.EXCHANGE_FLOW)
                  .values_list("value_usd", flat=True))
    assert sorted(events) == [Decimal("1099994.98"), Decimal("2703997.45")]  # both above the 100,000 USD default


def test_perp_trade_events_above_the_threshold(hl_client):
    EventThreshold.objects.update_or_create(event_type=EventType.PERP_TRADE, defaults={"min_value_usd": 1000})
    whale = Whale.objects.create(chain="hyperliquid", address=recorded.FILLS_USER)
    whales_collect(client=hl_client)
    big = Trade.objects.filter(whale=whale, value_usd__gte=1000).exclude(direction__in=["buy", "sell"]).count()
    assert big > 0 and WhaleEvent.objects.filter(whale=whale, type=EventType.PERP_TRADE).count() == big


def test_a_429_is_retried(replay, hl_client):
    Whale.objects.create(chain="hyperliquid", address=recorded.POSITIONS_USER)
    replay.faults.add("/hyperliquid/info", status=429, times=1)
    result = whales_collect(client=hl_client)
    assert result.status == RunStatus.OK and Holding.objects.filter(is_perp=True).count() == 12


def test_unavailable_api_fails_the_run_and_writes_nothing(replay, hl_client):
    Whale.objects.create(chain="hyperliquid", address=recorded.FILLS_USER)
    replay.faults.add("/hyperliquid/info", status=503)
    result = whales_collect(client=hl_client)
    assert result.status == RunStatus.FAILED and not Trade.objects.exists()
    assert CollectorRun.objects.get(collector=COLLECTOR_NAME).status == RunStatus.FAILED


def test_a_burst_never_exceeds_the_weight_budget_in_any_window_counted_at_the_replay_node(replay):
    """Ten whales at once. The exchange's limit here is 100 weight per second; the client budgets 80
    (the margin covers latency jitter between spending and arriving, as the default 1,100 of
    Hyperliquid's 1,200 per minute does). The replay node's own count of the weight it received
    (its published-weights table) stays within the limit in every 1 s window."""
    from ledgers.budget import RequestBudget
    from ledgers.glass.hyperliquid.client import HyperliquidClient
    from ledgers.replay.hyperliquid import info_request_weight

    for n in range(10):  # accounts unknown to the recordings: empty lists, no positions
        Whale.objects.create(chain="hyperliquid", address=f"0x{n + 1:040x}")
    budget = RequestBudget("test-hyperliquid-burst", "80/second", max_wait_s=10)
    budget.reset()
    replay.hyperliquid.reset()
    client = HyperliquidClient(replay.hyperliquid_url, retries=0, budget=budget)
    result = whales_collect(client=client)
    log = replay.hyperliquid.requests
    assert result.extra["whales_done"] == 10 and len(log) == 30
    weights = [(t, info_request_weight(kind, items)) for t, kind, _, items in log]
    assert sum(w for _, w in weights) == 10 * (2 + 20 + 20)
    for t, _ in weights:
        assert sum(w for u, w in weights if t - 1.0 < u <= t) <= 100
    assert log[-1][0] - log[0][0] >= 4.0  # 420 weight at 80 per second cannot go faster
    budget.reset()
