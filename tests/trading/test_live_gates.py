"""Live trading's gates, credentials and the paper book behind the venue interface (issue 18 §1-§2).

The venue itself is not needed here: an order blocked by a gate is refused before any venue call, and the paper
adapter's venue is our own database. Orders that reach a venue are in test_live_hyperliquid / test_live_coinspot.
"""

from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from eth_account import Account as EthAccount

from tests.trading.factories import T0, AccountFactory, UserFactory, set_price
from trading.adapters.base import cloid_for
from trading.adapters.paper import PaperVenue
from trading.crypto import credential_reveal
from trading.live import (
    LiveRefused,
    account_emergency_stop,
    credential_set,
    live_block_reason,
    live_confirm,
    live_gates,
    live_limits,
    live_mode_set,
)
from trading.models import (
    LIVE_LIMIT_FIELDS,
    AccountAudit,
    AccountMode,
    ExchangeCredential,
    Order,
    OrderStatus,
    VenueCall,
)
from trading.services import live_trading_set, order_place
from whales.errors import InvalidParameter, NotFound

pytestmark = pytest.mark.django_db

D = Decimal
# Two keys made for this test (eth-account derives their addresses): the main wallet and its agent.
MAIN = EthAccount.from_key("0x" + "11" * 32)
AGENT = EthAccount.from_key("0x" + "22" * 32)


@pytest.fixture
def keys(settings):
    settings.TRADING_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    return settings


def gates_of(account) -> dict[str, bool]:
    return {g.name: g.ok for g in live_gates(account)}


def test_each_gate_blocks_with_its_own_reason_until_all_four_hold(keys):
    staff = UserFactory(is_staff=True)
    account = AccountFactory()
    credential_set(account_id=account.pk, owner=account.owner, venue="hyperliquid", api_key=MAIN.address,
                   secret=AGENT.key.hex())
    account.refresh_from_db()
    assert gates_of(account) == {"setting": False, "admin_toggle": False, "live_mode": False,
                                 "confirmation": False, "credentials": True}
    assert live_block_reason(account) == "live_gate_setting: TRADING_LIVE_ENABLED is off"
    keys.TRADING_LIVE_ENABLED = True
    assert live_block_reason(account) == "live_gate_admin_toggle: the admin switch is off"
    live_trading_set(enabled=True, by_user=staff, reason="test")
    assert live_block_reason(account) == "live_gate_live_mode: staff have not set this account to live mode"
    live_mode_set(account_id=account.pk, live=True, venue="hyperliquid", by_user=staff)
    account.refresh_from_db()
    assert live_block_reason(account) == "live_gate_confirmation: the owner has not confirmed the limits"
    live_confirm(account_id=account.pk, by_user=account.owner)
    account.refresh_from_db()
    assert live_block_reason(account) is None
    assert all(gates_of(account).values())
    # Changing any confirmed limit voids the confirmation.
    account.max_order_notional_usd = D("2000")
    account.save()
    assert live_block_reason(account) == "live_gate_confirmation: the limits changed since the owner confirmed them"
    assert set(account.live_confirmed_limits) == set(LIVE_LIMIT_FIELDS)
    assert account.live_confirmed_limits["max_order_notional_usd"] == "1000.00000000"
    assert list(AccountAudit.objects.filter(account=account).order_by("at", "id").values_list("action", flat=True)) \
        == ["credentials_set", "live_mode_on", "live_confirm"]


def test_a_live_order_blocked_by_a_gate_is_stored_rejected_and_sends_nothing(keys):
    account = AccountFactory(mode=AccountMode.LIVE, live_venue="hyperliquid")
    set_price("ETH", "2000")
    order = order_place(account_id=account.pk, symbol="eth", side="buy", quantity=D(1), client_order_id="g1", now=T0)
    assert order.status == OrderStatus.REJECTED
    assert order.reject_reason == "live_gate_setting: TRADING_LIVE_ENABLED is off"
    assert order.venue == "hyperliquid" and order.symbol == "ETH"
    assert order.cloid == cloid_for("g1", account_id=account.pk)
    assert not VenueCall.objects.exists()
    # Idempotent on the client order id: the retry returns the stored order.
    again = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="g1", now=T0)
    assert again.pk == order.pk and Order.objects.count() == 1


def test_cloid_is_16_bytes_hex_and_deterministic_per_account():
    first = cloid_for("signal:7", account_id=1)
    assert first == cloid_for("signal:7", account_id=1)
    assert first != cloid_for("signal:7", account_id=2)
    assert first.startswith("0x") and len(first) == 34 and int(first, 16) >= 0


def test_credentials_are_sealed_and_only_a_hint_is_kept(keys):
    account = AccountFactory()
    row = credential_set(account_id=account.pk, owner=account.owner, venue="hyperliquid",
                         api_key=MAIN.address, secret=AGENT.key.hex())
    assert AGENT.key.hex().encode() not in bytes(row.secret_encrypted)
    assert credential_reveal(credential=row) == (MAIN.address, AGENT.key.hex())
    agent, main = AGENT.address.lower(), MAIN.address.lower()
    assert row.hint == f"agent {agent[:6]}…{agent[-4:]} for {main[:6]}…{main[-4:]}"
    account.refresh_from_db()
    assert account.live_venue == "hyperliquid"


@pytest.mark.parametrize(("venue", "api_key", "secret", "message"), [
    ("hyperliquid", "0x1234", "22" * 32, "api_key must be the main wallet's address"),
    ("hyperliquid", MAIN.address, "zz" * 32, "secret must be the agent (API) wallet's private key"),
    ("hyperliquid", MAIN.address, "11" * 32, "this is the main wallet's own key"),
    ("coinspot", "short", "secret-secret", "api_key and secret must be 8-200 characters"),
    ("binance", "k" * 10, "s" * 10, "venue must be one of hyperliquid, coinspot"),
])
def test_bad_credentials_are_refused_and_nothing_is_stored(keys, venue, api_key, secret, message):
    account = AccountFactory()
    with pytest.raises(InvalidParameter, match=message.replace("(", r"\(").replace(")", r"\)")):
        credential_set(account_id=account.pk, owner=account.owner, venue=venue, api_key=api_key, secret=secret)
    assert not ExchangeCredential.objects.exists()


def test_credentials_of_another_users_account_are_not_found(keys):
    account = AccountFactory()
    with pytest.raises(NotFound):
        credential_set(account_id=account.pk, owner=UserFactory(), venue="coinspot", api_key="k" * 10,
                       secret="s" * 10)


def test_only_staff_set_live_mode_and_never_on_a_busy_book(keys):
    account = AccountFactory()
    with pytest.raises(LiveRefused, match="only staff"):
        live_mode_set(account_id=account.pk, live=True, venue="coinspot", by_user=account.owner)
    set_price("ETH", "2000")
    order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="p", now=T0)
    with pytest.raises(LiveRefused, match="holds positions or open orders"):
        live_mode_set(account_id=account.pk, live=True, venue="coinspot", by_user=UserFactory(is_staff=True))
    account.refresh_from_db()
    assert account.mode == AccountMode.PAPER


def test_live_limits_are_the_confirmed_fields_as_strings():
    account = AccountFactory()
    assert live_limits(account)["price_band_percent"] == str(account.price_band_percent)
    assert list(live_limits(account)) == list(LIVE_LIMIT_FIELDS)


def test_paper_venue_speaks_the_interface_from_our_book(settings):
    settings.TRADING_PRICE_MAX_AGE_HOURS = 10 ** 6
    account = AccountFactory()
    set_price("ETH", "2000")
    filled = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(2), client_order_id="a", now=T0)
    resting = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="b",
                          order_type="limit", limit_price_usd=D(1500), now=T0)
    venue = PaperVenue(account_id=account.pk)
    [open_order] = venue.open_orders()
    assert (open_order.venue_order_id, open_order.status, open_order.quantity) == (str(resting.pk), "open", D(1))
    [fill] = venue.fills_since(T0)
    assert (fill.venue_order_id, fill.price_usd, fill.quantity) == (str(filled.pk), D(2000), D(2))
    [position] = venue.positions()
    assert (position.symbol, position.quantity) == ("ETH", D(2))
    [cash] = venue.balances()
    assert (cash.asset, cash.total) == ("USD", D(10000) - D(4000))
    assert venue.order_lookup(cloid="b", symbol="ETH", side="buy", quantity=D(1), placed_after=T0).status == "open"
    assert venue.order_lookup(cloid="nope", symbol="ETH", side="buy", quantity=D(1), placed_after=T0) is None
    assert venue.health().ok and venue.health().detail == "balances: USD 6000.00000000"


def test_emergency_stop_on_a_paper_account_halts_cancels_and_flattens(settings):
    settings.TRADING_PRICE_MAX_AGE_HOURS = 10 ** 6
    account = AccountFactory()
    set_price("ETH", "2000")
    order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(2), client_order_id="a", now=T0)
    resting = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=D(1), client_order_id="b",
                          order_type="limit", limit_price_usd=D(1500), now=T0)
    report = account_emergency_stop(account_id=account.pk, by_user=account.owner, flatten=True, reason="test")
    account.refresh_from_db()
    resting.refresh_from_db()
    assert account.halted and account.halted_reason == "emergency_stop: test"
    assert report.cancelled == [str(resting.pk)] and resting.status == OrderStatus.CANCELLED
    [flatten] = Order.objects.filter(pk__in=report.flatten_orders)
    assert (flatten.side, flatten.quantity, flatten.status) == ("sell", D(2), OrderStatus.FILLED)
    assert not account.positions.exists()
    assert list(VenueCall.objects.filter(account=account).order_by("at", "id").values_list("action", "ok")) == [
        ("list_open_orders", True), ("cancel", True)]
