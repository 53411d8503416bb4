"""rule_simulate: a rule replayed over stored events, cooldown and digests included.

Expected figures are worked out by hand in each test (the sent times listed below), and per-day counts
and the peak hour are counted from those lists here, not taken from the implementation.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from alerts.selectors import rule_simulate
from tests.alerts.factories import AlertRuleFactory
from tests.whales.factories import LabelFactory, WhaleEventFactory, WhaleFactory, WhaleLabelFactory
from whales.chains import Chain
from whales.models import Direction, EventType, TradeSource
from whales.services import trades_ingest
from whales.types import WhaleActivity

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
MILLION = Decimal("1000000")


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def expected_per_day(sent: list[datetime], since: datetime, until: datetime) -> list[dict]:
    counts = Counter(t.date() for t in sent)
    days, day = [], since.date()
    while day <= until.date():
        days.append({"date": day.isoformat(), "alerts": counts[day]})
        day += timedelta(days=1)
    return days


def expected_peak(sent: list[datetime]) -> dict | None:
    counts = Counter(t.hour for t in sent)
    if not counts:
        return None
    best = max(counts.values())
    hour = min(h for h, n in counts.items() if n == best)
    return {"hour": hour, "alerts": best}


def test_cooldown_digests_per_day_and_peak_hour():
    whale = WhaleFactory()
    rule = AlertRuleFactory(chains=["ethereum"], min_value_usd=Decimal("500000"), cooldown_seconds=3600)

    def event(when: datetime, **kwargs) -> None:
        WhaleEventFactory(**{"whale": whale, "chain": Chain.ETHEREUM, "value_usd": MILLION, "block_time": when,
                             **kwargs})

    event(at(3, 11, 59))  # before the 7-day window
    for when in (at(4, 10), at(4, 10, 20), at(4, 10, 50), at(4, 11, 30), at(5, 9), at(6, 23, 30), at(7, 0, 10),
                 at(10, 11, 30), at(10, 11, 45)):
        event(when)
    event(at(5, 10), chain=Chain.BITCOIN)  # another chain
    event(at(5, 10), value_usd=Decimal("100"))  # too small
    event(NOW + timedelta(minutes=1))  # after "now"

    # By hand, cooldown 1 h:            covers
    sent = [
        at(4, 10),       # event                                     1
        at(4, 11),       # digest: 10:20, 10:50 (cooldown ends 11:00)   2
        at(4, 12),       # digest: 11:30 (held by the 11:00 digest)      1
        at(5, 9),        # event                                     1
        at(6, 23, 30),   # event                                     1
        at(7, 0, 30),    # digest: 00:10                             1
        at(10, 11, 30),  # event                                     1
    ]                    # 11:45 still waiting at 12:00 (cooldown ends 12:30)
    result = rule_simulate(rule, days=7, now=NOW)
    assert result == {
        "days": 7,
        "since": "2025-03-03T12:00:00Z",
        "until": "2025-03-10T12:00:00Z",
        "events_matched": 9,
        "alerts": 7,
        "event_alerts": 4,
        "digests": 3,
        "suppressed": 4,
        "waiting": 1,
        "per_day": expected_per_day(sent, NOW - timedelta(days=7), NOW),
        "peak_hour": expected_peak(sent),
    }
    assert result["peak_hour"] == {"hour": 11, "alerts": 2}
    assert [d["alerts"] for d in result["per_day"]] == [0, 3, 1, 1, 1, 0, 0, 1]


def test_without_cooldown_every_match_is_an_alert():
    rule = AlertRuleFactory(event_types=["large_swap"])
    times = [at(9, 8), at(9, 8, 30), at(9, 14), at(10, 8, 5), at(10, 11, 59)]
    for when in times:
        WhaleEventFactory(type=EventType.LARGE_SWAP, block_time=when, value_usd=MILLION)
    WhaleEventFactory(type=EventType.LARGE_TRANSFER, block_time=at(9, 8), value_usd=MILLION)
    result = rule_simulate(rule, days=2, now=NOW)
    assert (result["events_matched"], result["alerts"], result["digests"], result["waiting"]) == (5, 5, 0, 0)
    assert result["per_day"] == expected_per_day(times, NOW - timedelta(days=2), NOW)
    assert result["peak_hour"] == expected_peak(times) == {"hour": 8, "alerts": 3}


def test_no_match_gives_zeros_and_no_peak_hour():
    rule = AlertRuleFactory(chains=["bitcoin"])
    WhaleEventFactory(chain=Chain.ETHEREUM, block_time=at(10, 9))
    result = rule_simulate(rule, days=1, now=NOW)
    assert (result["events_matched"], result["alerts"], result["peak_hour"]) == (0, 0, None)
    assert result["per_day"] == [{"date": "2025-03-09", "alerts": 0}, {"date": "2025-03-10", "alerts": 0}]


def test_an_inactive_rule_is_simulated_as_if_it_were_on():
    rule = AlertRuleFactory(active=False)
    WhaleEventFactory(block_time=at(10, 9))
    assert rule_simulate(rule, days=1, now=NOW)["alerts"] == 1


def test_labels_and_direction_apply_as_in_live_matching():
    label = LabelFactory()
    labelled, plain = WhaleFactory(chain=Chain.BITCOIN), WhaleFactory(chain=Chain.BITCOIN)
    WhaleLabelFactory(whale=labelled, label=label)

    def activity(whale, tx: str, direction: str, event_type: str, when: datetime) -> WhaleActivity:
        return WhaleActivity(
            whale_id=whale.pk, chain=Chain.BITCOIN, block_time=when, block_number=890_000, block_hash="00" * 32,
            tx_hash=tx * 64, log_index=-1, source=TradeSource.ONCHAIN, platform="", direction=direction,
            base_asset="BTC", amount_base=Decimal(100), value_usd=Decimal("9000000"), event_type=event_type,
            summary=f"{direction} 100 BTC")

    trades_ingest(activities=[
        activity(labelled, "a", Direction.DEPOSIT, EventType.EXCHANGE_FLOW, at(10, 9)),
        activity(labelled, "a", Direction.SEND, EventType.LARGE_TRANSFER, at(10, 9)),
        activity(labelled, "b", Direction.WITHDRAW, EventType.EXCHANGE_FLOW, at(10, 10)),
        activity(plain, "c", Direction.DEPOSIT, EventType.EXCHANGE_FLOW, at(10, 11)),
    ])
    rule = AlertRuleFactory(labels=[label], direction="deposit")
    result = rule_simulate(rule, days=1, now=NOW)
    assert (result["events_matched"], result["alerts"], result["peak_hour"]) == (1, 1, {"hour": 9, "alerts": 1})
