from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.whales.factories import TradeFactory, WalletMetricsFactory, WhaleFactory
from whales.analytics.classification import whales_classify
from whales.models import TradeSource, Whale, WhaleType

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _whale(*, trades_30d: int, volume: str, portfolio: str | None, first_days: int | None,
           sale_days: int | None = None, **whale_kwargs) -> Whale:
    whale = WhaleFactory(**whale_kwargs)
    WalletMetricsFactory(whale=whale, trades_30d=trades_30d, volume_30d_usd=Decimal(volume),
                         portfolio_value_usd=None if portfolio is None else Decimal(portfolio))
    if first_days is not None:
        TradeFactory(whale=whale, direction="buy", block_time=NOW - timedelta(days=first_days))
    if sale_days is not None:
        TradeFactory(whale=whale, direction="sell", block_time=NOW - timedelta(days=sale_days))
    return whale


@pytest.mark.parametrize(("kwargs", "expected_type", "expected_reason"), [
    (dict(trades_30d=25, volume="500000", portfolio="1000000", first_days=200, sale_days=3), WhaleType.TRADER,
     "trader: 25 trades/30d (trader >= 20), turnover 0.50x (trader >= 1.0), 3 days since last sale (holder >= 90)"),
    (dict(trades_30d=2, volume="3000000", portfolio="1000000", first_days=200, sale_days=40), WhaleType.TRADER,
     "trader: 2 trades/30d (trader >= 20), turnover 3.00x (trader >= 1.0), 40 days since last sale (holder >= 90)"),
    (dict(trades_30d=1, volume="10000", portfolio="1000000", first_days=400), WhaleType.HOLDER,
     "holder: 1 trades/30d (trader >= 20), turnover 0.01x (trader >= 1.0), 400 days held without a sale "
     "(holder >= 90)"),
    (dict(trades_30d=30, volume="200000", portfolio="1000000", first_days=200, sale_days=120),
     WhaleType.HOLDER_TRADER,
     "holder_trader: 30 trades/30d (trader >= 20), turnover 0.20x (trader >= 1.0), 120 days since last sale "
     "(holder >= 90)"),
    (dict(trades_30d=5, volume="300000", portfolio="1000000", first_days=100, sale_days=10), WhaleType.HOLDER_TRADER,
     "holder_trader: 5 trades/30d (trader >= 20), turnover 0.30x (trader >= 1.0), 10 days since last sale "
     "(holder >= 90)"),
    (dict(trades_30d=1, volume="0", portfolio=None, first_days=120), WhaleType.HOLDER,
     "holder: 1 trades/30d (trader >= 20), turnover n/a (no portfolio value), 120 days held without a sale "
     "(holder >= 90)"),
    (dict(trades_30d=2, volume="1000", portfolio="1000000", first_days=10), WhaleType.UNCLASSIFIED,
     "unclassified: 10 days of history (< 30), 2 trades/30d, no clear pattern"),
    (dict(trades_30d=0, volume="0", portfolio="1000000", first_days=None), WhaleType.UNCLASSIFIED,
     "unclassified: no recorded trades"),
])
def test_classification_type_and_reason(kwargs, expected_type, expected_reason):
    whale = _whale(**kwargs)
    result = whales_classify(now=NOW)
    whale.refresh_from_db()
    assert (whale.type, whale.type_reason, whale.type_classified_at) == (expected_type, expected_reason, NOW)
    assert (result.seen, result.updated, result.manual, result.by_type) == (1, 1, 0, {expected_type: 1})


def test_whale_without_metrics_becomes_unclassified():
    whale = WhaleFactory(type=WhaleType.TRADER)
    whales_classify(now=NOW)
    whale.refresh_from_db()
    assert (whale.type, whale.type_reason) == (WhaleType.UNCLASSIFIED, "unclassified: no wallet metrics yet")


def test_mempool_sales_are_ignored():
    whale = _whale(trades_30d=1, volume="0", portfolio="1000000", first_days=100)
    TradeFactory(whale=whale, direction="sell", source=TradeSource.MEMPOOL, block_time=NOW - timedelta(days=1))
    whales_classify(now=NOW)
    whale.refresh_from_db()
    assert whale.type == WhaleType.HOLDER


def test_manual_type_is_kept_and_reported():
    manual = _whale(trades_30d=50, volume="5000000", portfolio="1000000", first_days=200, sale_days=1,
                    type=WhaleType.HOLDER, type_is_manual=True, type_reason="analyst: cold wallet")
    auto = _whale(trades_30d=50, volume="5000000", portfolio="1000000", first_days=200, sale_days=1)
    result = whales_classify(now=NOW)
    manual.refresh_from_db()
    auto.refresh_from_db()
    assert (manual.type, manual.type_is_manual, manual.type_reason, manual.type_classified_at) == (
        WhaleType.HOLDER, True, "analyst: cold wallet", None)
    assert auto.type == WhaleType.TRADER
    assert (result.seen, result.updated, result.manual) == (2, 1, 1)


def test_whale_ids_limit_the_run():
    one = _whale(trades_30d=25, volume="0", portfolio="1", first_days=50, sale_days=1)
    other = _whale(trades_30d=25, volume="0", portfolio="1", first_days=50, sale_days=1)
    whales_classify(whale_ids=[one.pk], now=NOW)
    one.refresh_from_db()
    other.refresh_from_db()
    assert (one.type, other.type) == (WhaleType.TRADER, WhaleType.UNCLASSIFIED)


def _queries(n: int) -> int:
    Whale.objects.all().delete()
    for i in range(n):
        _whale(trades_30d=i, volume="1000", portfolio="1000000", first_days=200, sale_days=i + 1)
    with CaptureQueriesContext(connection) as ctx:
        result = whales_classify(now=NOW)
    assert result.updated == n
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_whales():
    assert _queries(2) == _queries(30)
