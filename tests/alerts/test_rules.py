"""Rule matching (alerts.selectors.rules_matching / RuleCriteria.matches), one condition at a time."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from alerts.selectors import event_directions, rules_matching
from tests.alerts.factories import AlertRuleFactory
from tests.whales.factories import EntityFactory, LabelFactory, WhaleEventFactory, WhaleFactory, WhaleLabelFactory
from whales.chains import Chain
from whales.models import Direction, EventType, TradeSource, WhaleEvent
from whales.services import trades_ingest
from whales.types import WhaleActivity

pytestmark = pytest.mark.django_db

MILLION = Decimal("1000000")


def matched(event: WhaleEvent) -> list[int]:
    """Ids of the rules ``event`` matches (the event reloaded as publishing loads it)."""
    return [r.pk for r in rules_matching(WhaleEvent.objects.select_related("whale").get(pk=event.pk))]


def test_rule_without_conditions_matches_any_event_even_without_whale_or_value():
    rule = AlertRuleFactory()
    events = [WhaleEventFactory(value_usd=MILLION), WhaleEventFactory(whale=None, value_usd=None,
                                                                      type=EventType.REORG_RETRACTION)]
    assert [matched(e) for e in events] == [[rule.pk], [rule.pk]]


@pytest.mark.parametrize(("chains", "event_chain", "expected"), [
    ([], Chain.BITCOIN, True),
    (["bitcoin"], Chain.BITCOIN, True),
    (["ethereum", "bitcoin"], Chain.BITCOIN, True),
    (["ethereum"], Chain.BITCOIN, False),
])
def test_chains(chains, event_chain, expected):
    rule = AlertRuleFactory(chains=chains)
    event = WhaleEventFactory(chain=event_chain, value_usd=MILLION)
    assert matched(event) == ([rule.pk] if expected else [])


@pytest.mark.parametrize(("types", "event_type", "expected"), [
    ([], EventType.LARGE_SWAP, True),
    (["large_swap", "perp_trade"], EventType.LARGE_SWAP, True),
    (["large_transfer"], EventType.LARGE_SWAP, False),
])
def test_event_types(types, event_type, expected):
    rule = AlertRuleFactory(event_types=types)
    event = WhaleEventFactory(type=event_type, value_usd=MILLION)
    assert matched(event) == ([rule.pk] if expected else [])


@pytest.mark.parametrize(("min_value", "value", "expected"), [
    (None, None, True),
    (Decimal("500000"), Decimal("500000.00000001"), True),
    (Decimal("500000"), Decimal("500000"), True),
    (Decimal("500000"), Decimal("499999.99999999"), False),
    (Decimal("500000"), None, False),  # not priced: value unknown, never "at least"
    (Decimal("0"), None, False),
])
def test_min_value_usd(min_value, value, expected):
    rule = AlertRuleFactory(min_value_usd=min_value)
    event = WhaleEventFactory(value_usd=value)
    assert matched(event) == ([rule.pk] if expected else [])


def test_whales():
    followed, other = WhaleFactory(), WhaleFactory()
    rule = AlertRuleFactory(whales=[followed])
    results = [matched(WhaleEventFactory(whale=w, value_usd=MILLION)) for w in (followed, other, None)]
    assert results == [[rule.pk], [], []]


def test_labels_match_when_the_whale_has_any_of_them():
    fund, exchange, other = LabelFactory(slug="fund"), LabelFactory(slug="exchange"), LabelFactory(slug="other")
    labelled, other_labelled, unlabelled = WhaleFactory(), WhaleFactory(), WhaleFactory()
    WhaleLabelFactory(whale=labelled, label=exchange, source="etherscan")
    WhaleLabelFactory(whale=labelled, label=exchange, source="analyst")  # same label, second source
    WhaleLabelFactory(whale=other_labelled, label=other)
    rule = AlertRuleFactory(labels=[fund, exchange])
    results = [matched(WhaleEventFactory(whale=w, value_usd=MILLION))
               for w in (labelled, other_labelled, unlabelled, None)]
    assert results == [[rule.pk], [], [], []]


def test_entities():
    binance, jump = EntityFactory(slug="binance"), EntityFactory(slug="jump")
    whales = [WhaleFactory(entity=binance), WhaleFactory(entity=jump), WhaleFactory(entity=None)]
    rule = AlertRuleFactory(entities=[binance])
    results = [matched(WhaleEventFactory(whale=w, value_usd=MILLION)) for w in whales]
    assert results == [[rule.pk], [], []]


def test_inactive_rule_matches_nothing():
    AlertRuleFactory(active=False)
    assert matched(WhaleEventFactory(value_usd=MILLION)) == []


def test_every_condition_must_hold():
    label, entity = LabelFactory(), EntityFactory()
    whale = WhaleFactory(chain=Chain.ETHEREUM, entity=entity)
    WhaleLabelFactory(whale=whale, label=label)
    rule = AlertRuleFactory(chains=["ethereum"], event_types=["large_transfer"], min_value_usd=Decimal("100"),
                            whales=[whale], labels=[label], entities=[entity])
    good = WhaleEventFactory(whale=whale, chain=Chain.ETHEREUM, type=EventType.LARGE_TRANSFER, value_usd=MILLION)
    cheap = WhaleEventFactory(whale=whale, chain=Chain.ETHEREUM, type=EventType.LARGE_TRANSFER,
                              value_usd=Decimal("99"))
    swap = WhaleEventFactory(whale=whale, chain=Chain.ETHEREUM, type=EventType.LARGE_SWAP, value_usd=MILLION)
    assert [matched(e) for e in (good, cheap, swap)] == [[rule.pk], [], []]


def test_several_rules_of_several_owners_in_id_order():
    rules = [AlertRuleFactory(), AlertRuleFactory(chains=["bitcoin"]), AlertRuleFactory()]
    assert matched(WhaleEventFactory(chain=Chain.ETHEREUM, value_usd=MILLION)) == [rules[0].pk, rules[2].pk]


def test_matching_costs_a_fixed_number_of_queries(django_assert_num_queries):
    whale = WhaleFactory()
    for _ in range(5):
        AlertRuleFactory(whales=[whale], labels=[LabelFactory()], entities=[EntityFactory()], direction="send")
    event = WhaleEvent.objects.select_related("whale").get(pk=WhaleEventFactory(whale=whale, value_usd=MILLION).pk)
    # rules, their whales/labels/entities, the whale's labels, the event's trade
    with django_assert_num_queries(6):
        rules_matching(event)


# --- direction -----------------------------------------------------------------------------------


def _activity(whale, *, tx_hash: str, direction: str, event_type: str, log_index: int = -1,
              source: str = TradeSource.ONCHAIN, chain: str = Chain.BITCOIN, details: dict | None = None):
    return WhaleActivity(
        whale_id=whale.pk, chain=chain, block_time=datetime(2025, 3, 1, 12, tzinfo=UTC), block_number=890_000,
        block_hash="00" * 32, tx_hash=tx_hash, log_index=log_index, source=source, platform="", direction=direction,
        base_asset="BTC", amount_base=Decimal(100), value_usd=Decimal("9000000"), event_type=event_type,
        summary=f"{direction} 100 BTC", details=details or {},
    )


@pytest.fixture
def bitcoin_batch_payout():
    """A Bitcoin payout stored the way ledgers.glass.bitcoin stores it: one tx, one whale, a ``send`` leg
    (large_transfer) and a ``deposit`` leg (exchange_flow), both log_index -1; plus a received tx."""
    whale = WhaleFactory(chain=Chain.BITCOIN, address="bc1qwhale0000000000000000000000000000000")
    result = trades_ingest(activities=[
        _activity(whale, tx_hash="a" * 64, direction=Direction.SEND, event_type=EventType.LARGE_TRANSFER),
        _activity(whale, tx_hash="a" * 64, direction=Direction.DEPOSIT, event_type=EventType.EXCHANGE_FLOW,
                  source=TradeSource.EXCHANGE_FLOW),
        _activity(whale, tx_hash="b" * 64, direction=Direction.RECEIVE, event_type=EventType.LARGE_TRANSFER),
    ])
    events = {(e.tx_hash[0], e.type): e for e in WhaleEvent.objects.all()}
    assert len(result.event_ids) == 3
    return events


@pytest.mark.parametrize(("direction", "expected"), [
    ("", {("a", "large_transfer"), ("a", "exchange_flow"), ("b", "large_transfer")}),
    ("send", {("a", "large_transfer")}),
    ("deposit", {("a", "exchange_flow")}),
    ("receive", {("b", "large_transfer")}),
    ("withdraw", set()),
    ("buy", set()),
])
def test_direction_is_the_direction_of_the_events_trade(bitcoin_batch_payout, direction, expected):
    rule = AlertRuleFactory(direction=direction)
    hits = {key for key, event in bitcoin_batch_payout.items() if matched(event) == [rule.pk]}
    assert hits == expected


@pytest.mark.parametrize(("details", "expected"), [
    ({"dir": "Open Long", "movement": "opened"}, {"long"}),
    ({"dir": "Close Short", "movement": "closed"}, {"close_short"}),
    ({"dir": "Long > Short", "movement": "closed"}, {"close_long"}),  # a flip's closing leg
    ({"dir": "Long > Short", "movement": "opened"}, {"short"}),  # and its opening leg
    ({"dir": "Liquidation"}, set()),
])
def test_perp_direction_from_hyperliquid_details_when_no_trade_is_stored(details, expected):
    event = WhaleEventFactory(chain=Chain.HYPERLIQUID, type=EventType.PERP_TRADE, value_usd=MILLION,
                              details=details)
    assert event_directions([event]) == {event.pk: frozenset(expected)}


def test_perp_flip_legs_each_match_their_own_direction_through_their_trades():
    """A Hyperliquid flip stored by the ledger: two legs with distinct log indexes, same details."""
    whale = WhaleFactory(chain=Chain.HYPERLIQUID)
    details = {"dir": "Long > Short", "movement": "closed"}
    trades_ingest(activities=[
        _activity(whale, tx_hash="0x" + "c" * 64, direction=Direction.CLOSE_LONG, event_type=EventType.PERP_TRADE,
                  log_index=7, chain=Chain.HYPERLIQUID, source=TradeSource.HYPERLIQUID, details=details),
        _activity(whale, tx_hash="0x" + "c" * 64, direction=Direction.SHORT, event_type=EventType.PERP_TRADE,
                  log_index=8, chain=Chain.HYPERLIQUID, source=TradeSource.HYPERLIQUID, details=details),
    ])
    short_rule, close_rule = AlertRuleFactory(direction="short"), AlertRuleFactory(direction="close_long")
    by_index = {e.log_index: matched(e) for e in WhaleEvent.objects.all()}
    assert by_index == {7: [close_rule.pk], 8: [short_rule.pk]}


def test_hyperliquid_ledger_deposit_direction_from_details():
    event = WhaleEventFactory(chain=Chain.HYPERLIQUID, type=EventType.EXCHANGE_FLOW, value_usd=MILLION,
                              details={"ledger_type": "deposit", "nonce": 1})
    deposit, withdraw = AlertRuleFactory(direction="deposit"), AlertRuleFactory(direction="withdraw")
    assert matched(event) == [deposit.pk]
    assert withdraw.pk not in matched(event)


def test_events_without_a_direction_never_match_a_direction_rule():
    AlertRuleFactory(direction="send")
    mempool = WhaleEventFactory(chain=Chain.BITCOIN, type=EventType.MEMPOOL_WHALE, value_usd=MILLION,
                                details={"value_sat": 10**10})
    retraction = WhaleEventFactory(whale=None, type=EventType.REORG_RETRACTION)
    ethereum_without_trade = WhaleEventFactory(type=EventType.LARGE_TRANSFER, value_usd=MILLION,
                                               details={"counterparty": "0x" + "1" * 40})
    assert [matched(e) for e in (mempool, retraction, ethereum_without_trade)] == [[], [], []]
