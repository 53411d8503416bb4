"""Incremental wallet metrics (whales.analytics.metrics, WalletFifoState): a compute that carries on from the stored
FIFO books gives exactly what rebuilding them from every trade gives, whatever arrives between two
computes (trades in order, a late trade from before the books' end, a deleted trade, a trade moved by a
confirmation); and with trades in order it really does carry on (it applies only the new trades)."""

import itertools
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.whales.factories import WhaleFactory
from whales.analytics import metrics
from whales.analytics.metrics import METRIC_FIELDS, metrics_recompute
from whales.models import Holding, Trade, TradeSource, WalletFifoState, WalletMetrics
from whales.services import trades_confirm

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


def assert_resumed_equals_rebuilt(whale_ids) -> None:
    metrics_recompute(whale_ids=whale_ids, now=NOW)
    resumed = stored_metrics(whale_ids)
    metrics_recompute(whale_ids=whale_ids, now=NOW, resume=False)
    assert resumed == stored_metrics(whale_ids)


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
        elif happening < 0.45 and Trade.objects.exists():  # a trade deleted (a reorg retraction)
            Trade.objects.filter(pk=rng.choice(list(Trade.objects.values_list("pk", flat=True)))).delete()
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
