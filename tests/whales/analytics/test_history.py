"""Daily history (whales.analytics.history) on the recorded Hyperliquid fills: each past day's realized P&L is
the recorded closedPnl minus fees of the fills up to that day's end; the command's progress, bounds and
idempotence. (Portfolio and ROI per day are checked against a real node: tests/ledgers/glass/ethereum/
test_live_history.py.)"""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from ledgers.glass.hyperliquid.activity import fill_activities
from ledgers.glass.hyperliquid.client import fill_decode
from ledgers.history import metrics_backfill
from ledgers.refs import WhaleRef
from tests.ledgers.glass.hyperliquid import recorded
from whales.models import WalletMetricsDaily, Whale
from whales.services import trades_ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def trader():
    whale = Whale.objects.create(chain="hyperliquid", address=recorded.FILLS_USER)
    ref = WhaleRef(id=whale.pk, address=whale.address, name="")
    trades_ingest(activities=[a for fill in recorded.fills() for a in fill_activities(fill_decode(fill), ref)])
    return whale


def test_each_past_day_realizes_the_recorded_closed_pnl_of_the_fills_up_to_its_end(trader):
    fills = recorded.fills()
    realized_by_day: dict = defaultdict(Decimal)
    for fill in fills:
        day = datetime.fromtimestamp(fill["time"] / 1000, tz=UTC).date()
        realized_by_day[day] += Decimal(fill["closedPnl"]) - Decimal(fill["fee"])
    first, last = min(realized_by_day), max(realized_by_day)
    result = metrics_backfill(today=last + timedelta(days=1))
    days = (last - first).days + 1
    assert (result.whales_written, result.days_written) == (1, days)
    rows = {r.date: r for r in WalletMetricsDaily.objects.filter(whale=trader)}
    running = Decimal(0)
    for n in range(days):
        day = first + timedelta(days=n)
        running += realized_by_day.get(day, Decimal(0))
        assert rows[day].realized_pnl_usd == running.quantize(Decimal("0.00000001")), day
        assert rows[day].portfolio_value_usd is None and rows[day].roi_percent is None  # not rebuilt from fills


def test_the_command_shows_progress_writes_only_the_last_days_and_refuses_bad_input(trader, capsys):
    with pytest.raises(CommandError, match="--days must be between"):
        call_command("backfill_metrics", days=0)
    with pytest.raises(CommandError, match="no whale with id"):
        call_command("backfill_metrics", whale_ids=[trader.pk + 1000])
    assert not WalletMetricsDaily.objects.exists()
    call_command("backfill_metrics", days=3)
    out = capsys.readouterr().out
    assert "1/1 whales" in out and "daily rows written" in out
    today = datetime.now(UTC).date()
    written = sorted(WalletMetricsDaily.objects.values_list("date", flat=True))
    assert written == [today - timedelta(days=n) for n in (3, 2, 1)]
    first = list(WalletMetricsDaily.objects.order_by("date").values_list("date", "realized_pnl_usd", "trades_30d"))
    call_command("backfill_metrics", days=3)
    assert list(WalletMetricsDaily.objects.order_by("date").values_list(
        "date", "realized_pnl_usd", "trades_30d")) == first
