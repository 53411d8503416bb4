"""ROI (whales.analytics.metrics, module docstring "ROI"): the worked example of the docstring, the opening
position of an Ethereum wallet, and every reason the ROI is unavailable."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.whales.factories import WhaleFactory
from whales.analytics.metrics import metrics_recompute
from whales.models import Holding, OpeningStatus, Trade, TradeSource, WalletMetrics, WalletOpening

pytestmark = pytest.mark.django_db

D = Decimal
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
OPENING_BLOCK = 21_000_000
_tx = itertools.count(1)


def flow(whale, direction, asset, amount, value, *, block):
    return Trade.objects.create(
        whale=whale, chain=whale.chain, block_number=block, block_time=NOW - timedelta(days=1),
        tx_hash=f"0x{next(_tx):064x}", log_index=0, source=TradeSource.ONCHAIN, direction=direction,
        base_asset=asset, amount_base=D(amount), value_usd=None if value is None else D(value))


def metrics_of(whale) -> WalletMetrics:
    metrics_recompute(whale_ids=[whale.pk], now=NOW)
    return WalletMetrics.objects.get(whale=whale)


@pytest.fixture
def worked_example():
    """The docstring's example: opening 10 ETH at 2,000 USD; receives 5,000 USD of USDC; deposits 3,000 USD of
    it at an exchange; now holds 10 ETH and 2,000 USDC worth 25,000 USD."""
    whale = WhaleFactory(chain="ethereum")
    WalletOpening.objects.create(
        whale=whale, block_number=OPENING_BLOCK, block_time=NOW - timedelta(days=2), status=OpeningStatus.OK,
        value_usd=D(10 * 2000), balances={"ETH": {"token_address": "", "amount": "10", "price_usd": "2000",
                                                  "value_usd": "20000"}})
    flow(whale, "receive", "USDC", "5000", "5000", block=OPENING_BLOCK + 1)
    flow(whale, "deposit", "USDC", "3000", "3000", block=OPENING_BLOCK + 2)
    Holding.objects.create(whale=whale, asset="ETH", amount=D(10), value_usd=D(23000))
    Holding.objects.create(whale=whale, asset="USDC", amount=D(2000), value_usd=D(2000))
    return whale


def test_the_worked_example_of_the_docstring(worked_example):
    m = metrics_of(worked_example)
    # (current value + withdrawals - deposits) / deposits x 100, the opening position a deposit:
    # (25,000 + 3,000 - (20,000 + 5,000)) / 25,000 x 100 = 12 %
    assert m.roi_percent == D("12.0000")
    assert m.portfolio_value_usd == D(25000)
    assert m.details["opening_value_usd"] == "20000.00000000"
    assert m.details["opening_block_number"] == OPENING_BLOCK
    assert (m.details["deposits_usd"], m.details["withdrawals_usd"]) == ("5000.00000000", "3000.00000000")
    assert m.details["roi_unavailable"] == ""


def test_a_wallet_that_only_swaps_has_an_roi_from_its_opening(worked_example):
    # No transfer at all: only the opening position was put in.
    Trade.objects.filter(whale=worked_example).delete()
    flow(worked_example, "buy", "PEPE", "1000000", "1000", block=OPENING_BLOCK + 5)
    m = metrics_of(worked_example)
    assert m.roi_percent == D("25.0000")  # (25,000 + 0 - 20,000) / 20,000 x 100


def test_without_an_opening_the_roi_says_it_has_not_been_read(worked_example):
    WalletOpening.objects.filter(whale=worked_example).delete()
    m = metrics_of(worked_example)
    assert m.roi_percent is None
    assert m.details["roi_unavailable"] == (
        "the opening position (balances when tracking started) has not been read yet")
    assert m.details["opening_value_usd"] is None


def test_a_node_without_the_state_makes_the_roi_unavailable_with_its_reason(worked_example):
    reason = f"the node keeps no state at block {OPENING_BLOCK} (an archive node would): missing trie node"
    WalletOpening.objects.filter(whale=worked_example).update(status=OpeningStatus.UNAVAILABLE, value_usd=None,
                                                              reason=reason)
    m = metrics_of(worked_example)
    assert (m.roi_percent, m.details["roi_unavailable"]) == (None, reason)


def test_a_trade_at_the_opening_block_invalidates_the_opening(worked_example):
    flow(worked_example, "receive", "ETH", "1", "2000", block=OPENING_BLOCK)
    m = metrics_of(worked_example)
    assert m.roi_percent is None
    assert m.details["roi_unavailable"].startswith(f"a trade at block {OPENING_BLOCK} is at or before the opening")


def test_an_unpriced_flow_and_an_unknown_portfolio_are_named(worked_example):
    flow(worked_example, "receive", "JUNK", "5", None, block=OPENING_BLOCK + 3)
    assert metrics_of(worked_example).details["roi_unavailable"] == "1 deposits or withdrawals have no price"
    Trade.objects.filter(base_asset="JUNK").delete()
    Holding.objects.filter(whale=worked_example).update(value_usd=None)
    m = metrics_of(worked_example)
    assert (m.roi_percent, m.details["roi_unavailable"]) == (
        None, "no priced holding: the current value is unknown")


def test_a_chain_whose_collector_sees_the_whole_history_needs_no_opening():
    # A Bitcoin address: its collector reads every transaction since the address first received.
    whale = WhaleFactory(chain="bitcoin")
    flow(whale, "receive", "BTC", "1", "60000", block=800_000)
    Holding.objects.create(whale=whale, asset="BTC", amount=D(1), value_usd=D(90000))
    m = metrics_of(whale)
    assert m.roi_percent == D("50.0000")  # (90,000 - 60,000) / 60,000 x 100
    assert (m.details["opening_value_usd"], m.details["roi_unavailable"]) == (None, "")
