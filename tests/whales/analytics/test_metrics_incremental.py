"""Incremental wallet metrics (whales.analytics.metrics, WalletFifoState): a compute that carries on from the stored
FIFO books gives exactly what rebuilding them from every trade gives, whatever arrives between two
computes (trades in order, a late trade from before the books' end, a deleted trade, a trade moved by a
confirmation); and with trades in order it really does carry on (it applies only the new trades)."""

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from tests.whales.factories import WhaleFactory
from whales.analytics import metrics
from whales.analytics.metrics import METRIC_FIELDS, metrics_recompute
from whales.models import Holding, Trade, TradeSource, WalletFifoLot, WalletFifoState, WalletMetrics
from whales.services import trades_confirm, trades_retract, trades_withdraw_unconfirmed

pytestmark = pytest.mark.django_db

D = Decimal
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
_tx = itertools.count(1)


def new_trade(rng: random.Random, whale, *, when: datetime) -> Trade:
    direction = rng.choice(["buy", "buy", "sell", "sell", "receive", "send", "deposit", "withdraw"])
    amount = D(rng.randint(1, 4000)) / 100
    value = None if rng.random() < 0.05 else D(rng.randint(1, 5_000_000)) / 100
    fee = D(rng.randint(0, 300)) / 100 if rng.random() < 0.5 else None
    return Trade(whale=whale, chain=whale.chain, block_time=when, block_number=None, tx_hash=f"0x{next(_tx):064x}",
                 log_index=0, source=TradeSource.ONCHAIN, direction=direction, base_asset=rng.choice(["ETH", "PEPE"]),
                 amount_base=amount, value_usd=value, fee_usd=fee)


def stored_metrics(whale_ids) -> dict:
    return {row.whale_id: tuple(getattr(row, name) for name in METRIC_FIELDS if name != "computed_at")
            for row in WalletMetrics.objects.filter(whale_id__in=whale_ids)}


def stored_lots(whale_ids) -> dict:
    """{(whale, asset): [(amount, cost), ...] oldest first}; also checks that each book's stored lots are
    exactly the seqs its header names (head_seq .. head_seq + count - 1)."""
    lots: dict = {}
    seqs: dict = {}
    for whale_id, asset, seq, amount, cost in (WalletFifoLot.objects.filter(whale_id__in=whale_ids)
                                               .order_by("whale_id", "asset", "seq")
                                               .values_list("whale_id", "asset", "seq", "amount", "cost_usd")):
        lots.setdefault((whale_id, asset), []).append((amount, cost))
        seqs.setdefault((whale_id, asset), []).append(seq)
    for state in WalletFifoState.objects.filter(whale_id__in=whale_ids):
        for asset, book in state.books.items():
            head, count = book["lots"]["head_seq"], book["lots"]["count"]
            assert seqs.get((state.whale_id, asset), []) == list(range(head, head + count))
    return lots


def assert_resumed_equals_rebuilt(whale_ids) -> None:
    """Recompute and store (carrying on from the stored books where they can be trusted), then compare with
    books rebuilt from every trade, computed but not stored: the stored state carries on to the next round,
    so each round's trust check covers only what the previous round applied."""
    metrics_recompute(whale_ids=whale_ids, now=NOW)
    values, writes = metrics.metrics_compute(whale_ids=whale_ids, now=NOW, resume=False)
    assert stored_metrics(whale_ids) == {
        whale_id: tuple(v[name] for name in METRIC_FIELDS if name != "computed_at") for whale_id, v in values.items()}
    rebuilt_lots = {(w.state.whale_id, asset): [(lot.amount, lot.cost) for lot in book.lots.lots()]
                    for w in writes for asset, book in w.books.items() if len(book.lots)}
    assert stored_lots(whale_ids) == rebuilt_lots


@pytest.mark.parametrize("seed", range(25))
def test_resuming_from_the_stored_books_equals_rebuilding_them(seed):
    rng = random.Random(seed)
    whales = [WhaleFactory() for _ in range(3)]
    ids = [w.pk for w in whales]
    Holding.objects.bulk_create([Holding(whale=w, asset="ETH", amount=D(5), value_usd=D(15000)) for w in whales])
    clock = NOW - timedelta(days=60)
    for _round in range(6):
        batch = []
        for _ in range(rng.randint(1, 25)):
            clock += timedelta(minutes=rng.randint(0, 600))  # 0: several trades in one block time
            batch.append(new_trade(rng, rng.choice(whales), when=clock))
        Trade.objects.bulk_create(batch)
        happening = rng.random()
        if happening < 0.25:  # a late trade from before the books' end (an out-of-order ingest)
            Trade.objects.create(**{f.name: getattr(new_trade(rng, rng.choice(whales), when=clock - timedelta(
                days=rng.randint(1, 50))), f.name) for f in Trade._meta.concrete_fields if f.name != "id"})
        elif happening < 0.45 and Trade.objects.exists():  # a trade deleted, as a reorg retraction does it
            victim = Trade.objects.get(pk=rng.choice(list(Trade.objects.values_list("pk", flat=True))))
            victim.delete()
            metrics.metrics_books_forget(whale_ids=[victim.whale_id])
        elif happening < 0.6:  # a pending trade confirmed at another time
            pending = Trade.objects.create(**{f.name: getattr(new_trade(rng, rng.choice(whales), when=clock),
                                                               f.name) for f in Trade._meta.concrete_fields
                                              if f.name != "id"})
            assert_resumed_equals_rebuilt(ids)
            trades_confirm(chain=pending.chain, tx_hash=pending.tx_hash, block_number=1, block_hash="0x1",
                           block_time=clock - timedelta(days=rng.randint(1, 30)))
        assert_resumed_equals_rebuilt(ids)


def test_with_trades_in_order_a_compute_applies_only_the_new_ones(monkeypatch):
    rng = random.Random(1)
    whale = WhaleFactory()
    first = [new_trade(rng, whale, when=NOW - timedelta(days=10, minutes=n)) for n in range(40, 0, -1)]
    Trade.objects.bulk_create(first)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    state = WalletFifoState.objects.get(whale=whale)
    assert (state.trades_applied, state.max_trade_id) == (40, max(t.pk for t in first))

    applied = []
    real = metrics._apply_rows
    monkeypatch.setattr(metrics, "_apply_rows", lambda rows, *args: real(
        [applied.append(row) or row for row in rows], *args))
    later = [new_trade(rng, whale, when=NOW - timedelta(days=1, minutes=n)) for n in range(3, 0, -1)]
    Trade.objects.bulk_create(later)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    assert [row[1] for row in applied] == [t.pk for t in later]  # the 40 older trades were not read again
    assert WalletFifoState.objects.get(whale=whale).trades_applied == 43


def buys(whale, count: int, *, days_ago: int) -> list[Trade]:
    return Trade.objects.bulk_create([
        Trade(whale=whale, chain=whale.chain, block_time=NOW - timedelta(days=days_ago, minutes=count - n),
              block_number=None, tx_hash=f"0x{next(_tx):064x}", log_index=0, source=TradeSource.ONCHAIN,
              direction="buy", base_asset="ETH", amount_base=D(1), value_usd=D(10), fee_usd=None)
        for n in range(count)])


def sell(whale, amount: str, value: str, *, days_ago: int) -> Trade:
    return Trade.objects.create(whale=whale, chain=whale.chain, block_time=NOW - timedelta(days=days_ago),
                                block_number=None, tx_hash=f"0x{next(_tx):064x}", log_index=0,
                                source=TradeSource.ONCHAIN, direction="sell", base_asset="ETH",
                                amount_base=D(amount), value_usd=D(value), fee_usd=None)


def test_a_resumed_compute_reads_and_writes_only_the_lots_its_trades_reach():
    whale = WhaleFactory()
    buys(whale, 500, days_ago=10)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    assert WalletFifoLot.objects.filter(whale=whale).count() == 500
    sell(whale, "1.5", "30", days_ago=1)
    with CaptureQueriesContext(connection) as ctx:
        metrics_recompute(whale_ids=[whale.pk], now=NOW)
    lot_sql = [q["sql"] for q in ctx.captured_queries if "whales_walletfifolot" in q["sql"]]
    # one read of the first 64 lots, the consumed lot deleted, the half-consumed one overwritten
    assert [sql.split()[0] for sql in lot_sql] == ["SELECT", "DELETE", "INSERT"]
    assert WalletFifoState.objects.get(whale=whale).books["ETH"]["lots"] == {  # a header, not 499 lots
        "head_seq": 1, "count": 499, "amount": "498.500000000000000000000000000000", "known_cost": "4985.00000000",
        "unknown_lots": 0}  # 500 - 1.5 held, at 5,000 - 15
    assert stored_lots([whale.pk])[(whale.pk, "ETH")][:2] == [(D("0.5"), D("5.00000000")), (D(1), D("10.00000000"))]
    assert len(stored_lots([whale.pk])[(whale.pk, "ETH")]) == 499
    metrics = WalletMetrics.objects.get(whale=whale)
    assert metrics.realized_pnl_usd == D("15.00000000")  # 30 - (10 + 5)


def test_books_written_meanwhile_are_not_overwritten_by_an_older_compute():
    whale = WhaleFactory()
    buys(whale, 3, days_ago=10)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    sell(whale, "2", "40", days_ago=2)
    values, writes = metrics.metrics_compute(whale_ids=[whale.pk], now=NOW)  # computed from version 1 ...
    sell(whale, "1", "25", days_ago=1)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)                           # ... another stores version 2
    with transaction.atomic():
        assert metrics._store(values, writes, NOW.date()) == 0                   # the first one is skipped
    state = WalletFifoState.objects.get(whale=whale)
    assert (state.version, state.trades_applied) == (2, 5)
    assert stored_lots([whale.pk]) == {}
    assert WalletMetrics.objects.get(whale=whale).realized_pnl_usd == D(35)   # 40 - 20 + 25 - 10


def test_a_forget_during_a_compute_wins_and_the_next_compute_rebuilds():
    whale = WhaleFactory()
    buys(whale, 3, days_ago=10)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    values, writes = metrics.metrics_compute(whale_ids=[whale.pk], now=NOW)
    metrics.metrics_books_forget(whale_ids=[whale.pk])
    with transaction.atomic():
        assert metrics._store(values, writes, NOW.date()) == 0
    state = WalletFifoState.objects.get(whale=whale)
    assert (state.version, state.max_trade_id, state.books) == (2, 0, {})
    assert not WalletFifoLot.objects.filter(whale=whale).exists()
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    assert [amount for amount, _ in stored_lots([whale.pk])[(whale.pk, "ETH")]] == [D(1), D(1), D(1)]


def test_lots_deleted_under_a_resuming_compute_make_it_rebuild():
    whale = WhaleFactory()
    buys(whale, 3, days_ago=10)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    WalletFifoLot.objects.filter(whale=whale, seq=0).delete()  # as a concurrent forget would
    sell(whale, "2", "40", days_ago=1)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    assert WalletMetrics.objects.get(whale=whale).realized_pnl_usd == D(20)
    assert stored_lots([whale.pk]) == {(whale.pk, "ETH"): [(D(1), D("10.00000000"))]}


def test_books_stored_in_the_earlier_format_are_rebuilt():
    whale = WhaleFactory()
    buys(whale, 2, days_ago=10)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    state = WalletFifoState.objects.get(whale=whale)
    state.books["ETH"]["lots"] = [["1", "10"], ["1", "10"]]  # the lots themselves, as before WalletFifoLot
    state.save()
    sell(whale, "1", "30", days_ago=1)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    assert WalletMetrics.objects.get(whale=whale).realized_pnl_usd == D(20)
    assert stored_lots([whale.pk]) == {(whale.pk, "ETH"): [(D(1), D("10.00000000"))]}


def test_a_trade_committed_out_of_id_order_is_caught_by_the_next_check():
    whale, other = WhaleFactory(), WhaleFactory()
    buys(whale, 2, days_ago=10)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    reserved = buys(other, 1, days_ago=9)[0].pk       # an id a slow transaction holds ...
    buys(whale, 1, days_ago=8)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)  # ... while a later one is applied
    state = WalletFifoState.objects.get(whale=whale)
    assert (state.checked_trades, state.trades_applied) == (2, 3) and state.max_trade_id > reserved
    Trade.objects.filter(pk=reserved).delete()         # the slow transaction commits the id for the whale
    sell(whale, "3", "60", days_ago=1)
    Trade.objects.filter(pk=Trade.objects.latest("id").pk).update(id=reserved)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    assert WalletMetrics.objects.get(whale=whale).realized_pnl_usd == D(30)  # 60 - 3 x 10: the sell counted
    assert WalletFifoState.objects.get(whale=whale).checked_trades == 0      # rebuilt


def test_a_reorg_retraction_and_a_withdrawn_trade_forget_the_books():
    whale = WhaleFactory()
    buys(whale, 2, days_ago=10)
    pending = Trade.objects.create(whale=whale, chain=whale.chain, block_time=NOW - timedelta(days=1),
                                   block_number=None, tx_hash=f"0x{next(_tx):064x}", log_index=0,
                                   source=TradeSource.ONCHAIN, direction="buy", base_asset="ETH", amount_base=D(1),
                                   value_usd=D(10), fee_usd=None)
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    assert trades_withdraw_unconfirmed(chain=pending.chain, tx_hash=pending.tx_hash, whale_id=whale.pk) == 1
    assert WalletFifoState.objects.get(whale=whale).max_trade_id == 0
    assert not WalletFifoLot.objects.filter(whale=whale).exists()
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    Trade.objects.filter(whale=whale).update(block_hash="0xdead")
    trades_retract(chain=whale.chain, block_hashes=["0xdead"])
    assert WalletFifoState.objects.get(whale=whale).max_trade_id == 0
    assert not WalletFifoLot.objects.filter(whale=whale).exists()
