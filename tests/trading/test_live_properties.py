"""Property tests of live trading (issue 18 §4): random signal streams on a live-mode account against the venue
simulators never break a limit, never double-place, and reconcile exactly.

Each hypothesis example starts from a clean venue (the simulator's state reset through its control endpoints) and
a fresh live account, runs a stream of steps -- signals (market or limit, sometimes a retry of an earlier
client_order_id), price moves that may fill resting orders, faults armed for the next request, reconciliations,
resolutions of ``unknown`` orders -- then clears the faults, resolves what is still unknown, reconciles once more
and checks the invariants. Every expected figure is computed here from the venue's own answers (Hyperliquid's
``/info`` and the simulators' control ``state``) and from our rows, never from the code under test.
"""

import json
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC
from decimal import ROUND_DOWN, Decimal

import pytest
import requests
from hypothesis import HealthCheck, event, example, given, note, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from tests.trading import live_fixtures
from tests.trading.live_fixtures import (
    KEY,
    MAIN,
    cs_control,
    cs_live_account,
    cs_venue_reset,
    hl_control,
    hl_info,
    hl_live_account,
    hl_venue_reset,
)
from trading.live import account_reconcile, order_resolve
from trading.models import Account, Fill, Order, OrderStatus, OrderType, Position, ReconcileStatus, Reconciliation
from trading.services import order_place

pytestmark = pytest.mark.django_db
hyperliquid = live_fixtures.hyperliquid  # the fixtures
coinspot = live_fixtures.coinspot

D = Decimal
BPS = D("0.0001")
NOT_PLACED = (OrderStatus.REJECTED, OrderStatus.FAILED)
EXAMPLES = int(os.environ.get("LIVE_PROPERTY_EXAMPLES", "25"))  # more for a longer hunt


# ---------------------------------------------------------------- steps


@dataclass(frozen=True)
class Signal:
    """An order signal. ``units``: the quantity in the venue's lot size; ``offset_bps``: the limit price (limit)
    or the signal's reference price (market) this far from the mid; ``repeat``: retry an earlier client_order_id
    (its index modulo how many there are) instead of a new one."""

    side: str
    units: int
    market: bool
    offset_bps: int
    repeat: int | None
    share: Decimal | None = None  # a sell of this share of the position we hold (units ignored)


@dataclass(frozen=True)
class Move:
    """The venue's price moves by ``bps`` (resting orders it crosses fill)."""

    bps: int


@dataclass(frozen=True)
class Fault:
    """A fault armed on the simulator for the next matching request; ``target``: an endpoint or info type (None
    = the next request of any kind the fault applies to)."""

    kind: str
    target: str | None
    fraction: str = "0.5"


@dataclass(frozen=True)
class Reconcile:
    pass


@dataclass(frozen=True)
class Resolve:
    pass


def steps_strategy(*, units: st.SearchStrategy[int], targets: list[str | None]) -> st.SearchStrategy[list]:
    # Buys outnumber sells so that sells find a position to sell; prices within 2.5 % of the mid put some market
    # orders outside the 2 % band and leave some limit orders resting.
    signal = st.builds(Signal, side=st.sampled_from(["buy", "buy", "sell"]), units=units, market=st.booleans(),
                       offset_bps=st.integers(-250, 250), repeat=st.none() | st.integers(0, 40),
                       share=st.none() | st.sampled_from([D("0.25"), D("0.5"), D(1)]))
    fault = st.builds(Fault, kind=st.sampled_from(["accept_then_timeout", "reject", "partial_fill", "rate_limit",
                                                   "drop_connection"]),
                      target=st.sampled_from(targets), fraction=st.sampled_from(["0.25", "0.5", "0.75"]))
    step = st.one_of(signal, signal, signal, st.builds(Move, bps=st.integers(-500, 500)), fault,
                     st.just(Reconcile()), st.just(Resolve()))
    return st.lists(step, min_size=10, max_size=40)


# ---------------------------------------------------------------- the venues, as the tests see them


@dataclass(frozen=True)
class VenueFillView:
    fill_id: str
    order_id: str
    side: str
    quantity: Decimal
    notional_usd: Decimal
    fee_usd: Decimal


@dataclass
class VenueView:
    """The venue's own account of things: fills oldest first, the ids of the orders it holds (and for Hyperliquid
    their cloids and states), the position and (spot) the quote balance."""

    fills: list[VenueFillView]
    order_ids: set[str]
    cloids: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # cloid -> [(oid, status)]
    position: Decimal = Decimal(0)
    quote_balance: Decimal | None = None


class HyperliquidDriver:
    symbol = "ETH"
    base_mid = D(2000)
    lot = D("0.0001")

    def __init__(self, node) -> None:
        self.node = node
        self.mid = self.base_mid

    def reset(self) -> Account:
        hl_venue_reset(self.node)
        self.mid = self.base_mid
        hl_control(self.node, "mids", {"ETH": str(self.mid)})
        return hl_live_account(max_order_notional_usd=D("4000"), max_daily_notional_usd=D("5000"))

    def move(self, bps: int) -> None:
        self.mid = (self.mid * (1 + bps * BPS)).quantize(D("0.1"))
        hl_control(self.node, "mids", {"ETH": str(self.mid)})

    def limit_price(self, offset_bps: int) -> Decimal:
        return (self.mid * (1 + offset_bps * BPS)).quantize(D(1))  # whole dollars: always on Hyperliquid's tick

    def arm(self, fault: Fault) -> None:
        spec: dict = {"kind": fault.kind, "times": 1}
        if fault.kind == "partial_fill":
            spec["fraction"] = fault.fraction
        if fault.target and fault.kind in ("drop_connection", "rate_limit"):
            spec["info_type"] = fault.target
        hl_control(self.node, "faults", [spec])

    def clear_faults(self) -> None:
        hl_control(self.node, "faults", verb="DELETE")

    def view(self) -> VenueView:
        user = MAIN.address.lower()
        fills = []
        for row in reversed(hl_info(self.node, {"type": "userFills", "user": MAIN.address})):  # oldest first
            px, sz = D(row["px"]), D(row["sz"])
            fills.append(VenueFillView(str(row["tid"]), str(row["oid"]), "buy" if row["side"] == "B" else "sell",
                                       sz, px * sz, D(row["fee"])))
        orders = [o for o in hl_control(self.node, "state", verb="GET")["orders"] if o["user"] == user]
        cloids: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for order in orders:
            if order["cloid"]:
                cloids[order["cloid"]].append((str(order["oid"]), order["status"]))
        state = hl_info(self.node, {"type": "clearinghouseState", "user": MAIN.address})
        position = sum((D(p["position"]["szi"]) for p in state["assetPositions"]
                        if p["position"]["coin"] == self.symbol), D(0))
        return VenueView(fills=fills, order_ids={str(o["oid"]) for o in orders if o["status"] != "rejected"},
                         cloids=dict(cloids), position=position)


class CoinspotDriver:
    symbol = "BTC"
    lot = D("0.00000001")
    spread = D(20)

    def __init__(self, node) -> None:
        self.node = node
        self.bid = D(50000)

    @property
    def mid(self) -> Decimal:
        return self.bid + self.spread / 2

    def reset(self) -> Account:
        cs_venue_reset(self.node)
        self.bid = D(50000)
        return cs_live_account(max_order_notional_usd=D("3000"), max_daily_notional_usd=D("4000"))

    def move(self, bps: int) -> None:
        # Cents, so that amount (8 decimals) x rate has more than 8 decimals and the venue's rounding shows.
        self.bid = (self.bid * (1 + bps * BPS)).quantize(D("0.01"))
        ask = self.bid + self.spread
        cs_control(self.node, "prices", {"btc": {"bid": str(self.bid), "ask": str(ask), "last": str(self.mid)}})

    def limit_price(self, offset_bps: int) -> Decimal:
        return (self.mid * (1 + offset_bps * BPS)).quantize(D("0.01"))

    def arm(self, fault: Fault) -> None:
        spec: dict = {"kind": fault.kind, "times": 1}
        if fault.kind == "partial_fill":
            spec["fraction"] = fault.fraction
        elif fault.target:
            spec["path"] = fault.target
        cs_control(self.node, "faults", [spec])

    def clear_faults(self) -> None:
        cs_control(self.node, "faults", verb="DELETE")

    def view(self) -> VenueView:
        response = requests.get(f"{self.node.url}/_replay/coinspot/state", timeout=10)
        assert response.status_code == 200, response.text
        mine = json.loads(response.text, parse_float=D)["accounts"][KEY]
        fills = []
        # The completed list is in fill order; the adapter's documented import key is <order id>:<solddate>:<amount>.
        for entry in mine["completed"]:
            amount = D(str(entry["amount"]))
            fills.append(VenueFillView(f"{entry['id']}:{entry['solddate']}:{amount:f}", entry["id"], entry["side"],
                                       amount, D(str(entry["total"])),
                                       D(str(entry["audfeeExGst"])) + D(str(entry["audGst"]))))
        ids = {o["id"] for o in mine["open_orders"]} | {e["id"] for e in mine["completed"]}
        balances = {coin: D(str(amount)) for coin, amount in mine["balances"].items()}
        return VenueView(fills=fills, order_ids=ids, position=balances.get(self.symbol, D(0)),
                         quote_balance=balances.get("USDT", D(0)))


# ---------------------------------------------------------------- the stream and the invariants


def say(text: str, *, tally: str | None = None) -> None:
    """A note printed with a failing example (and an event for --hypothesis-show-statistics), when in one."""
    if currently_in_test_context():
        note(text)
        if tally:
            event(tally)


def run_stream(driver, steps: list) -> None:
    account = driver.reset()
    placed: dict[str, Decimal] = {}  # client_order_id -> the venue mid when it was first placed
    ids: list[str] = []
    for n, step in enumerate(steps):
        say(f"step {n}: {step!r}")
        if isinstance(step, Signal):
            if step.repeat is not None and ids:
                client_order_id = ids[step.repeat % len(ids)]
            else:
                client_order_id = f"sig-{n}"
                ids.append(client_order_id)
            quantity = step.units * driver.lot
            if step.side == "sell" and step.share is not None:  # "sell half": sells that fit what we hold
                held = Position.objects.filter(account=account, symbol=driver.symbol).first()
                share = (held.quantity if held else D(0)) * step.share
                quantity = max(share.quantize(driver.lot, rounding=ROUND_DOWN), driver.lot)
            price = driver.limit_price(step.offset_bps)
            if step.market:
                order = order_place(account_id=account.pk, symbol=driver.symbol, side=step.side, quantity=quantity,
                                    client_order_id=client_order_id, reference_price_usd=price)
            else:
                order = order_place(account_id=account.pk, symbol=driver.symbol, side=step.side, quantity=quantity,
                                    client_order_id=client_order_id, order_type=OrderType.LIMIT,
                                    limit_price_usd=price)
            placed.setdefault(client_order_id, driver.mid)
            assert order.client_order_id == client_order_id
        elif isinstance(step, Move):
            driver.move(step.bps)
        elif isinstance(step, Fault):
            driver.arm(step)
        elif isinstance(step, Reconcile):
            account_reconcile(account_id=account.pk)
        else:
            for order in Order.objects.filter(account=account, status=OrderStatus.UNKNOWN):
                order_resolve(order_id=order.pk)
    driver.clear_faults()
    for order in Order.objects.filter(account=account, status=OrderStatus.UNKNOWN):
        order_resolve(order_id=order.pk)
    final = account_reconcile(account_id=account.pk)
    check_invariants(driver, account, placed, final)


def check_invariants(driver, account: Account, placed: dict[str, Decimal], final: Reconciliation) -> None:
    account.refresh_from_db()
    venue = driver.view()
    orders = list(Order.objects.filter(account=account).order_by("created_at", "id"))
    for order in orders:
        say(f"order {order.client_order_id}: {order.type} {order.side} {order.quantity} {order.status} "
            f"venue id {order.venue_order_id!r} filled {order.filled_quantity} {order.reject_reason!r}",
            tally=f"order {order.status} {order.reject_reason.split(':')[0]}".strip())
    say(f"venue: {venue!r}")
    say("reconciliations: " + repr(list(Reconciliation.objects.filter(account=account).values_list(
        "status", "drift", "detail"))))
    reached = [o for o in orders if o.status not in NOT_PLACED]

    # 1. Never double-placed: one row per client_order_id; the venue holds each order once.
    assert Counter(o.client_order_id for o in orders) == Counter(set(placed))
    assert not [o for o in orders if o.status in (OrderStatus.UNKNOWN, OrderStatus.PENDING)]
    if venue.cloids:  # Hyperliquid: at most one order per cloid, and only cloids of ours
        ours = {o.cloid: o for o in orders}
        for cloid, held in venue.cloids.items():
            assert len(held) == 1, (cloid, held)
            assert cloid in ours, cloid
        for order in orders:
            live = [oid for oid, status in venue.cloids.get(order.cloid, []) if status != "rejected"]
            assert live == ([order.venue_order_id] if order.status not in NOT_PLACED else []), (order, live)
    # Every venue (Coinspot: the only way to count, it has no cloid): the orders it holds are exactly the ones
    # of ours that reached it, each known by its own id.
    assert sorted(o.venue_order_id for o in reached) == sorted(venue.order_ids)

    # 2. Limits.
    daily: dict = defaultdict(lambda: D(0))
    for order in reached:
        assert order.expected_notional_usd <= account.max_order_notional_usd, order
        daily[order.created_at.astimezone(UTC).date()] += order.expected_notional_usd
        if order.type == OrderType.MARKET:
            reference, mid = order.reference_price_usd, placed[order.client_order_id]
            assert abs(mid - reference) / reference * 100 <= account.price_band_percent, (order, mid)
    for day, total in daily.items():
        assert total <= account.max_daily_notional_usd, (day, total)
    held = D(0)
    for fill in venue.fills:  # no sell beyond the position, at the venue, fill by fill
        held += fill.quantity if fill.side == "buy" else -fill.quantity
        assert held >= 0, fill

    # 3. Reconciled exactly, against the venue's own fills and position.
    ours = list(Fill.objects.filter(account=account).select_related("order"))
    assert Counter(f.venue_fill_id for f in ours) == Counter(f.fill_id for f in venue.fills)
    by_id = {f.fill_id: f for f in venue.fills}
    for fill in ours:
        assert fill.order.venue_order_id == by_id[fill.venue_fill_id].order_id, fill
        assert (fill.side, fill.quantity) == (by_id[fill.venue_fill_id].side, by_id[fill.venue_fill_id].quantity)
    venue_filled: dict[str, Decimal] = defaultdict(lambda: D(0))
    for fill in venue.fills:
        venue_filled[fill.order_id] += fill.quantity
    for order in reached:
        assert order.filled_quantity == venue_filled[order.venue_order_id] == sum(
            (f.quantity for f in ours if f.order_id == order.pk), D(0)), order
    position = Position.objects.filter(account=account, symbol=driver.symbol).first()
    assert (position.quantity if position else D(0)) == venue.position
    cash = account.starting_cash_usd
    for fill in venue.fills:
        cash += -(fill.notional_usd + fill.fee_usd) if fill.side == "buy" else fill.notional_usd - fill.fee_usd
    assert account.cash_usd == cash
    if venue.quote_balance is not None:  # a spot venue: our cash is its quote balance
        assert account.cash_usd == venue.quote_balance
    assert (final.status, final.drift) == (ReconcileStatus.OK, [])
    assert not Reconciliation.objects.filter(account=account, status=ReconcileStatus.DRIFT).exists()
    assert not account.halted, account.halted_reason


PROPERTY_SETTINGS = settings(max_examples=EXAMPLES, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# Holding 1 ETH: a resting limit sell of all of it, a market sell of all of it, then the mid reaches the resting
# sell. Hyperliquid (a perp venue) filled it into a short our book could not book (fixed in 6ea86cb: open sells
# count against the position). Random streams rarely build it, so it is always run.
RESTING_SELL_THEN_SELL = [Signal("buy", 10_000, True, 0, None), Signal("sell", 1, False, 100, None, D(1)),
                          Signal("sell", 1, True, 0, None, D(1)), Move(200), Reconcile()]


@PROPERTY_SETTINGS
@given(steps=steps_strategy(
    units=st.integers(100, 30_000) | st.integers(1, 99),  # 0.0001-3 ETH: Hyperliquid's ETH szDecimals is 4
    targets=[None, "userFillsByTime", "frontendOpenOrders", "orderStatus", "clearinghouseState", "allMids"]))
@example(steps=RESTING_SELL_THEN_SELL)
def test_random_signal_streams_on_hyperliquid_keep_the_limits_place_once_and_reconcile_exactly(hyperliquid, steps):
    run_stream(HyperliquidDriver(hyperliquid), steps)


@PROPERTY_SETTINGS
@given(steps=steps_strategy(
    units=st.integers(100_000, 10_000_000) | st.integers(1, 99_999),  # up to 0.1 BTC: Coinspot takes 8 decimals
    targets=[None, "my/buy/now", "my/sell/now", "my/buy", "my/sell", "ro/my/orders/completed",
             "ro/my/orders/market/open", "ro/my/balances"]))
@example(steps=[Signal("buy", 1_000_000, True, 0, None), *RESTING_SELL_THEN_SELL[1:]])
# The shrunk streams of the Coinspot bugs fixed in 5acbcbf (a refused read after the venue accepted a limit order),
# bac3c0c (two resting orders of one size: reconciliation gave both the same venue id) and 73ad218 (0.00100002
# BTC at 51255.25 = 51.256275105: the venue rounds half-up, q_usd half-even).
@example(steps=[Fault("reject", "ro/my/orders/market/open"), Signal("buy", 1_000_000, False, -44, None)])
@example(steps=[Signal("buy", 100_000, False, 0, None), Signal("buy", 100_000, False, 0, None), Move(-272),
                Reconcile()])
@example(steps=[Signal("buy", 100_002, False, 249, None)])
def test_random_signal_streams_on_coinspot_keep_the_limits_place_once_and_reconcile_exactly(coinspot, steps):
    run_stream(CoinspotDriver(coinspot), steps)
