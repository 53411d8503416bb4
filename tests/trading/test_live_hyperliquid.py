"""Live trading on Hyperliquid, proven offline (issue 18 §3-§4): the adapter signs through the official SDK and
talks over loopback HTTP to the replay node's Hyperliquid simulator (ledgers.replay.hyperliquid_exchange), which
recovers each action's EIP-712 signer and refuses one that is not the user's approved agent.

Expected figures come from the recordings (the recorded allMids, read here from the raw cassette) and from the
venue itself: its own ``userFills`` / ``clearinghouseState`` answers, asked here with plain HTTP.
"""

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings

from tests.trading import live_fixtures
from tests.trading.live_fixtures import AGENT, MAIN, STRANGER
from tests.trading.live_fixtures import hl_control as control
from tests.trading.live_fixtures import hl_info as info
from tests.trading.live_fixtures import hl_live_account as live_account
from tests.trading.live_fixtures import hl_venue_fills as venue_fills
from tests.trading.live_fixtures import hl_venue_position as venue_position
from tests.trading.live_fixtures import hl_venue_spot_balance as venue_spot_balance
from trading.live import (
    account_emergency_stop,
    account_reconcile,
    credential_test,
    live_order_cancel,
    order_resolve,
)
from trading.models import Fill, OrderStatus, ReconcileStatus, VenueCall
from trading.services import order_place

pytestmark = pytest.mark.django_db
hyperliquid = live_fixtures.hyperliquid  # the fixture

D = Decimal


def recorded_mid(coin: str) -> Decimal:
    path = Path(django_settings.REPLAY_DATA_DIR) / "hyperliquid-python-sdk-cassettes" / "test_get_all_mids.yaml"
    [interaction] = yaml.safe_load(path.read_text())["interactions"]
    return D(json.loads(interaction["response"]["body"]["string"])[coin])


def place(account, client_order_id: str, side: str, quantity: str, **kwargs):
    return order_place(account_id=account.pk, symbol="ETH", side=side, quantity=D(quantity),
                       client_order_id=client_order_id, **kwargs)


def test_test_connection_reads_the_main_wallets_balances(hyperliquid):
    account = live_account()
    row = credential_test(account_id=account.pk, owner=account.owner)
    assert row.tested_ok is True, row.tested_detail
    assert "100000" in row.tested_detail


def test_a_market_buy_is_signed_by_the_agent_filled_at_the_recorded_mid_and_booked_from_the_venues_fill(
        hyperliquid):
    account = live_account()
    mid = recorded_mid("ETH")
    order = place(account, "m1", "buy", "2", reference_price_usd=mid)
    assert order.status == OrderStatus.FILLED, order.reject_reason
    [venue_fill] = venue_fills(hyperliquid)
    assert venue_fill["cloid"] == order.cloid and str(venue_fill["oid"]) == order.venue_order_id
    assert (venue_fill["side"], D(venue_fill["sz"]), D(venue_fill["px"])) == ("B", D(2), mid)
    [fill] = Fill.objects.filter(order=order)
    assert (fill.price_usd, fill.quantity, fill.fee_usd) == (D(venue_fill["px"]), D(2), D(venue_fill["fee"]))
    assert fill.venue == "hyperliquid" and fill.venue_fill_id == str(venue_fill["tid"])
    account.refresh_from_db()
    assert account.cash_usd == D(100000) - D(2) * mid - D(venue_fill["fee"])
    assert venue_position(hyperliquid, "ETH") == D(2)
    # The IOC price sent: the mid moved by the band (2 %) toward the trader, to 5 significant figures (the venue's
    # tick rule; here computed the way the SDK's own market orders do, with a float and "%.5g").
    [call] = VenueCall.objects.filter(order=order, action="place")
    assert call.ok and call.request["reference_price_usd"] == f"{mid:f}"
    status = info(hyperliquid, {"type": "orderStatus", "user": MAIN.address, "oid": order.cloid})
    assert D(status["order"]["order"]["limitPx"]) == D(f"{float(mid * D('1.02')):.5g}")
    recon = account_reconcile(account_id=account.pk)
    assert (recon.status, recon.fills_imported, recon.drift) == (ReconcileStatus.OK, 0, [])


def test_an_unapproved_agent_is_refused_by_the_venue(hyperliquid):
    account = live_account(agent=STRANGER)
    order = place(account, "s1", "buy", "1", reference_price_usd=recorded_mid("ETH"))
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason.startswith("venue_rejected: User or API Wallet ")
    assert venue_fills(hyperliquid) == []


def test_a_resting_order_fills_when_the_mid_crosses_and_reconciliation_imports_it(hyperliquid):
    account = live_account()
    order = place(account, "l1", "buy", "1", order_type="limit", limit_price_usd=D("1800"))
    assert order.status == OrderStatus.SUBMITTED and order.venue_order_id
    [resting] = info(hyperliquid, {"type": "openOrders", "user": MAIN.address})
    assert (str(resting["oid"]), D(resting["limitPx"])) == (order.venue_order_id, D(1800))
    assert control(hyperliquid, "mids", {"ETH": "1790"})["filled"] == [int(order.venue_order_id)]
    recon = account_reconcile(account_id=account.pk)
    assert (recon.status, recon.fills_imported) == (ReconcileStatus.OK, 1)
    order.refresh_from_db()
    [venue_fill] = venue_fills(hyperliquid)
    assert order.status == OrderStatus.FILLED and order.average_fill_price_usd == D(1800)
    assert order.fills.get().fee_usd == D(venue_fill["fee"])
    assert account_reconcile(account_id=account.pk).fills_imported == 0


def test_a_timeout_after_the_venue_accepted_is_resolved_by_cloid_and_nothing_is_placed_twice(hyperliquid):
    account = live_account()
    control(hyperliquid, "faults", [{"kind": "accept_then_timeout", "times": 1}])
    order = place(account, "t1", "buy", "1", reference_price_usd=recorded_mid("ETH"))
    assert order.status == OrderStatus.UNKNOWN and not order.fills.exists()
    resolved = order_resolve(order_id=order.pk)
    assert resolved.status == OrderStatus.FILLED and resolved.fills.count() == 1
    assert len(venue_fills(hyperliquid)) == 1  # placed once
    again = place(account, "t1", "buy", "1", reference_price_usd=recorded_mid("ETH"))
    assert again.pk == order.pk and len(venue_fills(hyperliquid)) == 1  # a retry of the same order sends nothing
    assert account_reconcile(account_id=account.pk).status == ReconcileStatus.OK


def test_a_timeout_before_the_venue_saw_the_order_resolves_to_not_placed(hyperliquid):
    account = live_account()
    control(hyperliquid, "faults", [{"kind": "drop_connection", "times": 1}])
    order = place(account, "t2", "buy", "1", reference_price_usd=recorded_mid("ETH"))
    assert order.status == OrderStatus.UNKNOWN
    resolved = order_resolve(order_id=order.pk)
    assert resolved.status == OrderStatus.FAILED
    assert resolved.reject_reason.startswith("not placed: after the submit timed out the venue has no order ")
    assert venue_fills(hyperliquid) == [] and venue_position(hyperliquid, "ETH") == 0


def test_429_and_reject_leave_nothing_at_the_venue(hyperliquid):
    account = live_account()
    control(hyperliquid, "faults", [{"kind": "rate_limit", "times": 1}])
    limited = place(account, "r1", "buy", "1", reference_price_usd=recorded_mid("ETH"))
    assert limited.status == OrderStatus.FAILED and limited.reject_reason.startswith("venue_unavailable: ")
    control(hyperliquid, "faults", [{"kind": "reject", "error": "Insufficient margin to place order.", "times": 1}])
    rejected = place(account, "r2", "buy", "1", reference_price_usd=recorded_mid("ETH"))
    assert rejected.status == OrderStatus.REJECTED
    assert rejected.reject_reason == "venue_rejected: Insufficient margin to place order."
    assert venue_fills(hyperliquid) == [] and info(hyperliquid, {"type": "openOrders", "user": MAIN.address}) == []


def test_a_partial_fill_of_a_market_order_books_what_filled(hyperliquid):
    account = live_account()
    control(hyperliquid, "faults", [{"kind": "partial_fill", "fraction": "0.5", "times": 1}])
    order = place(account, "p1", "buy", "2", reference_price_usd=recorded_mid("ETH"))
    assert order.status == OrderStatus.CANCELLED  # immediate-or-cancel: the rest was cancelled by the venue
    assert order.filled_quantity == D(1) == venue_position(hyperliquid, "ETH")
    assert account.positions.get().quantity == D(1)
    assert account_reconcile(account_id=account.pk).status == ReconcileStatus.OK


def test_a_dropped_connection_mid_reconcile_then_the_books_reconcile(hyperliquid):
    account = live_account()
    order = place(account, "l2", "buy", "1", order_type="limit", limit_price_usd=D("1800"))
    control(hyperliquid, "mids", {"ETH": "1790"})
    control(hyperliquid, "faults", [{"kind": "drop_connection", "info_type": "userFillsByTime", "times": 1}])
    assert account_reconcile(account_id=account.pk).status == ReconcileStatus.ERROR
    assert not Fill.objects.exists()
    ok = account_reconcile(account_id=account.pk)
    assert (ok.status, ok.fills_imported) == (ReconcileStatus.OK, 1)
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED


def test_cancel_a_resting_order_at_the_venue(hyperliquid):
    account = live_account()
    order = place(account, "c1", "buy", "1", order_type="limit", limit_price_usd=D("1800"))
    cancelled = live_order_cancel(account_id=account.pk, order_id=order.pk)
    assert cancelled.status == OrderStatus.CANCELLED
    assert info(hyperliquid, {"type": "openOrders", "user": MAIN.address}) == []


def test_the_emergency_stop_cancels_at_the_venue_and_flattens_with_reduce_only_orders(hyperliquid):
    account = live_account()
    place(account, "e1", "buy", "1.5", reference_price_usd=recorded_mid("ETH"))
    resting = place(account, "e2", "buy", "1", order_type="limit", limit_price_usd=D("1800"))
    report = account_emergency_stop(account_id=account.pk, by_user=account.owner, flatten=True, reason="test")
    assert report.cancelled == [resting.venue_order_id] and report.failures == []
    assert info(hyperliquid, {"type": "openOrders", "user": MAIN.address}) == []
    assert venue_position(hyperliquid, "ETH") == 0
    [flatten] = account.orders.filter(pk__in=report.flatten_orders)
    assert (flatten.side, flatten.quantity, flatten.reduce_only, flatten.status) == ("sell", D("1.5"), True,
                                                                                    OrderStatus.FILLED)
    assert not account.positions.exists()
    actions = list(VenueCall.objects.filter(account=account).order_by("at", "id").values_list("action", "ok"))
    assert actions == [("place", True), ("place", True), ("list_open_orders", True), ("cancel", True),
                       ("place", True)]
    resting.refresh_from_db()
    assert resting.status == OrderStatus.CANCELLED
    assert account_reconcile(account_id=account.pk).status == ReconcileStatus.OK


def test_a_strategy_run_on_a_live_account_sends_its_order_to_the_venue_and_records_the_signal(hyperliquid):
    from datetime import timedelta

    from django.utils import timezone

    from tests.whales.factories import TradeFactory, WhaleFactory
    from trading.models import SignalOutcome, StrategySignal
    from trading.strategies.services import strategy_create, strategy_run

    account = live_account()
    mid = recorded_mid("ETH")
    now = timezone.now()
    whale = WhaleFactory()
    strategy = strategy_create(account_id=account.pk, name="follow", kind="follow_whale",
                               params={"whale_id": whale.pk, "scale": "0.5"}, started_at=now - timedelta(hours=1))
    trade = TradeFactory(whale=whale, block_time=now - timedelta(minutes=1), direction="buy", amount_base=D(2),
                         price_usd=mid)
    result = strategy_run(strategy_id=strategy.pk, now=now)
    assert (result.generated, result.ordered, result.rejected, result.skipped) == (1, 1, 0, 0)
    record = StrategySignal.objects.get(strategy=strategy, key=f"fw:{trade.pk}")
    assert record.outcome == SignalOutcome.ORDERED and record.order.status == OrderStatus.FILLED
    [venue_fill] = venue_fills(hyperliquid)
    assert (venue_fill["cloid"], D(venue_fill["sz"]), D(venue_fill["px"])) == (record.order.cloid, D(1), mid)
    again = strategy_run(strategy_id=strategy.pk, now=now)  # the signal is recorded: nothing is sent twice
    assert (again.generated, again.ordered) == (0, 0) and len(venue_fills(hyperliquid)) == 1


def test_test_connection_fails_for_an_agent_the_main_wallet_did_not_approve(hyperliquid):
    account = live_account(agent=STRANGER)
    row = credential_test(account_id=account.pk, owner=account.owner)
    approved = [a["address"].lower() for a in info(hyperliquid, {"type": "extraAgents", "user": MAIN.address})]
    assert approved == [AGENT.address.lower()]
    assert row.tested_ok is False
    assert row.tested_detail.endswith(f"; agent {STRANGER.address.lower()} is not an approved, valid API wallet of "
                                      f"{MAIN.address.lower()} (approve it at Hyperliquid first)")


def test_a_limit_price_off_the_venues_tick_is_refused_not_moved(hyperliquid):
    account = live_account()
    order = place(account, "tick", "buy", "1", order_type="limit", limit_price_usd=D("1800.55"))  # 6 significant
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == ("venue_rejected: limit price 1800.55 is not on Hyperliquid's tick for ETH (5 "
                                   "significant figures, at most 2 decimals); the nearest is 1800.6")
    assert info(hyperliquid, {"type": "openOrders", "user": MAIN.address}) == []


def test_reconciliation_reads_back_the_fills_of_an_order_filled_before_its_window(hyperliquid):
    from datetime import timedelta

    from django.utils import timezone

    from trading.models import Account

    account = live_account()
    order = place(account, "old", "buy", "1", order_type="limit", limit_price_usd=D("1800"))
    control(hyperliquid, "mids", {"ETH": "1790"})  # fills at the venue
    # The fill window has moved past the order (e.g. the venue was down through its fill): its fills are older.
    Account.objects.filter(pk=account.pk).update(fills_synced_at=timezone.now() + timedelta(hours=1))
    recon = account_reconcile(account_id=account.pk)
    [venue_fill] = venue_fills(hyperliquid)
    assert (recon.status, recon.fills_imported, recon.drift) == (ReconcileStatus.OK, 1, [])
    order.refresh_from_db()
    assert order.status == OrderStatus.FILLED
    assert order.fills.get().venue_fill_id == str(venue_fill["tid"])


def recorded_spot_mid(pair: str) -> Decimal:
    """The recorded ``midPx`` of a spot pair (``spotMetaAndAssetCtxs``, test_spot_asset_ctx.yaml)."""
    path = Path(django_settings.REPLAY_DATA_DIR) / "hyperliquid-python-sdk-cassettes" / "test_spot_asset_ctx.yaml"
    [interaction] = yaml.safe_load(path.read_text())["interactions"]
    ctxs = json.loads(interaction["response"]["body"]["string"])[1]
    return D(next(ctx["midPx"] for ctx in ctxs if ctx["coin"] == pair))


def test_a_spot_token_is_bought_and_sold_on_its_usdc_pair_and_the_emergency_stop_sells_the_rest(hyperliquid):
    """PURR has no perp: it trades the spot pair PURR/USDC (asset 10000), fills at the recorded spot mid, and the
    books follow the venue's own userFills and spotClearinghouseState."""
    account = live_account()
    mid = recorded_spot_mid("PURR/USDC")
    buy = order_place(account_id=account.pk, symbol="PURR", side="buy", quantity=D(1000), client_order_id="sb1",
                      reference_price_usd=mid)
    assert buy.status == OrderStatus.FILLED, buy.reject_reason
    [venue_fill] = venue_fills(hyperliquid)
    assert (venue_fill["coin"], venue_fill["side"], D(venue_fill["px"]), D(venue_fill["sz"])) == (
        "PURR/USDC", "B", mid, D(1000))
    assert venue_fill["cloid"] == buy.cloid and str(venue_fill["oid"]) == buy.venue_order_id
    [fill] = Fill.objects.filter(order=buy)
    assert (fill.price_usd, fill.quantity, fill.fee_usd, fill.venue_fill_id) == (
        D(venue_fill["px"]), D(venue_fill["sz"]), D(venue_fill["fee"]), str(venue_fill["tid"]))
    assert D(venue_fill["fee"]) == (mid * 1000 * D("0.0007")).quantize(D("0.000001"))  # spot taker, tier 0
    assert account.positions.get(symbol="PURR").quantity == venue_spot_balance(hyperliquid, "PURR") == D(1000)
    recon = account_reconcile(account_id=account.pk)
    assert (recon.status, recon.fills_imported, recon.drift) == (ReconcileStatus.OK, 0, [])

    sell = order_place(account_id=account.pk, symbol="PURR", side="sell", quantity=D(400), client_order_id="ss1",
                       reference_price_usd=mid)
    assert sell.status == OrderStatus.FILLED, sell.reject_reason
    sold = venue_fills(hyperliquid)[0]
    [fill] = Fill.objects.filter(order=sell)
    assert (sold["coin"], sold["side"]) == ("PURR/USDC", "A")
    assert (fill.price_usd, fill.quantity, fill.fee_usd, fill.venue_fill_id) == (
        mid, D(400), D(sold["fee"]), str(sold["tid"]))
    assert account.positions.get(symbol="PURR").quantity == venue_spot_balance(hyperliquid, "PURR") == D(600)
    recon = account_reconcile(account_id=account.pk)
    assert (recon.status, recon.fills_imported, recon.drift) == (ReconcileStatus.OK, 0, [])

    report = account_emergency_stop(account_id=account.pk, by_user=account.owner, flatten=True, reason="test")
    assert report.failures == []
    [flatten] = account.orders.filter(pk__in=report.flatten_orders)
    assert (flatten.symbol, flatten.side, flatten.quantity, flatten.status) == ("PURR", "sell", D(600),
                                                                                OrderStatus.FILLED)
    assert venue_spot_balance(hyperliquid, "PURR") == 0 and not account.positions.filter(quantity__gt=0).exists()
    assert [f["side"] for f in venue_fills(hyperliquid)] == ["A", "A", "B"]
    assert account_reconcile(account_id=account.pk).status == ReconcileStatus.OK


def test_a_fill_whose_fee_was_paid_in_a_token_is_not_booked_but_reported(hyperliquid):
    """Hyperliquid names each fill's ``feeToken``; the simulator charges USDC, so the venue's own fill is taken and
    only its fee token changed here (a spot buy's fee may be taken in the coin bought)."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from django.db import transaction

    from trading.adapters.hyperliquid import HyperliquidVenue
    from trading.live import _fills_book, _lock_positions
    from trading.models import Account

    account = live_account()
    order = place(account, "ft", "buy", "1", order_type="limit", limit_price_usd=D("1800"))
    control(hyperliquid, "mids", {"ETH": "1790"})
    venue = HyperliquidVenue(base_url=hyperliquid.hyperliquid_url, account_address=MAIN.address,
                             agent_key=AGENT.key.hex(), timeout_s=2)
    [fill] = venue.fills_since(datetime(2020, 1, 1, tzinfo=UTC))
    assert fill.fee_asset == "" and fill.venue_order_id == order.venue_order_id
    with transaction.atomic():
        locked = Account.objects.select_for_update().get(pk=account.pk)
        result = _fills_book(locked, _lock_positions(locked), [replace(fill, fee_asset="ETH")])
    assert result.booked == 0
    assert result.refused == [(replace(fill, fee_asset="ETH"), f"its fee of {fill.fee_usd} was paid in ETH, not in "
                                                               "the quote: not booked, check the venue")]
    assert not order.fills.exists()
