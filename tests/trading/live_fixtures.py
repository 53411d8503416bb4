"""Shared fixtures and helpers of the live-trading tests over the replay node's venue simulators
(``ledgers.replay.hyperliquid_exchange`` and ``ledgers.replay.coinspot``).

Import what a test module uses: ``from tests.trading.live_fixtures import hyperliquid, hl_control, ...``
(pytest finds a fixture imported into a test module). The Hyperliquid helpers speak for the simulated user
``MAIN`` traded by the agent ``AGENT``; the Coinspot ones for the key ``KEY`` / ``SECRET``.
"""

from decimal import ROUND_HALF_UP, Decimal

import pytest
import requests
from cryptography.fernet import Fernet
from eth_account import Account as EthAccount

from tests.trading.factories import AccountFactory, UserFactory
from trading.live import credential_set, live_confirm, live_mode_set
from trading.services import live_trading_set

D = Decimal
E8 = D("0.00000001")
MAIN = EthAccount.from_key("0x" + "a1" * 32)  # keys made for these tests; eth-account derives the addresses
AGENT = EthAccount.from_key("0x" + "b2" * 32)
STRANGER = EthAccount.from_key("0x" + "c3" * 32)
KEY, SECRET = "live-key-0001", "live-secret-0001"


def q8(value: Decimal) -> Decimal:
    return value.quantize(E8, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- Hyperliquid


def hl_control(node, name: str, body=None, verb: str = "POST"):
    """A call of the simulator's control endpoint ``/_replay/hyperliquid/<name>``; its JSON answer."""
    response = requests.request(verb, f"{node.url}/_replay/hyperliquid/{name}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def hl_info(node, body: dict):
    """The simulated venue's own ``/info`` answer to ``body``."""
    response = requests.post(f"{node.hyperliquid_url}/info", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def hl_venue_reset(node, usdc: str = "100000") -> None:
    """A clean venue: no orders, fills, nonces, mid overrides or faults; ``MAIN`` with ``usdc`` and ``AGENT``."""
    hl_control(node, "state", verb="DELETE")
    hl_control(node, "faults", verb="DELETE")
    hl_control(node, "accounts", {"user": MAIN.address, "agents": [AGENT.address], "usdc": usdc})


@pytest.fixture
def hyperliquid(replay, settings):
    settings.HYPERLIQUID_API_URL = replay.hyperliquid_url
    settings.HYPERLIQUID_WEIGHT_BUDGET = "1000000/minute"
    settings.TRADING_LIVE_ENABLED = True
    settings.TRADING_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    settings.TRADING_VENUE_TIMEOUT_S = 2.0
    hl_control(replay, "accounts", {"user": MAIN.address, "agents": [AGENT.address], "usdc": "100000"})
    return replay


def hl_live_account(agent=AGENT, **fields):
    """A new owner's account, live on Hyperliquid with ``agent``'s key for ``MAIN``, limits confirmed."""
    staff = UserFactory(is_staff=True)
    live_trading_set(enabled=True, by_user=staff, reason="test")
    defaults = {"starting_cash_usd": D("100000"), "cash_usd": D("100000"), "fee_bps": D("4.5"),
                "max_order_notional_usd": D("50000"), "max_daily_notional_usd": D("100000")}
    account = AccountFactory(**(defaults | fields))
    credential_set(account_id=account.pk, owner=account.owner, venue="hyperliquid", api_key=MAIN.address,
                   secret=agent.key.hex())
    live_mode_set(account_id=account.pk, live=True, venue="hyperliquid", by_user=staff)
    live_confirm(account_id=account.pk, by_user=account.owner)
    account.refresh_from_db()
    return account


def hl_venue_fills(node) -> list[dict]:
    return hl_info(node, {"type": "userFills", "user": MAIN.address})


def hl_venue_position(node, coin: str) -> Decimal:
    state = hl_info(node, {"type": "clearinghouseState", "user": MAIN.address})
    return sum((D(p["position"]["szi"]) for p in state["assetPositions"] if p["position"]["coin"] == coin), D(0))


def hl_venue_spot_balance(node, token: str) -> Decimal:
    """``MAIN``'s spot balance of ``token`` (e.g. "PURR") from the venue's ``spotClearinghouseState``; 0 if unlisted."""
    state = hl_info(node, {"type": "spotClearinghouseState", "user": MAIN.address})
    return sum((D(b["total"]) for b in state["balances"] if b["coin"] == token), D(0))


# ---------------------------------------------------------------- Coinspot


def cs_control(node, name: str, body=None, verb: str = "POST") -> dict:
    """A call of the simulator's control endpoint ``/_replay/coinspot/<name>``; its JSON answer."""
    response = requests.request(verb, f"{node.url}/_replay/coinspot/{name}", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def cs_venue_reset(node, usdt: str = "10000") -> None:
    """A clean venue: default prices, no orders, fills or faults; ``KEY`` holding ``usdt``; BTC at 50000/50020."""
    cs_control(node, "state", verb="DELETE")
    cs_control(node, "accounts", {"key": KEY, "secret": SECRET, "balances": {"USDT": usdt}})
    cs_control(node, "prices", {"btc": {"bid": "50000", "ask": "50020", "last": "50010"}})


@pytest.fixture
def coinspot(replay, settings):
    replay.coinspot.reset()
    settings.COINSPOT_API_URL = replay.url + "/coinspot"
    settings.TRADING_LIVE_ENABLED = True
    settings.TRADING_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    settings.TRADING_VENUE_TIMEOUT_S = 2.0
    cs_venue_reset(replay)
    yield replay
    replay.coinspot.reset()


def cs_live_account(**fields):
    """A new owner's account, live on Coinspot with ``KEY``, limits confirmed."""
    staff = UserFactory(is_staff=True)
    live_trading_set(enabled=True, by_user=staff, reason="test")
    defaults = {"fee_bps": D("10"), "max_order_notional_usd": D("10000"), "max_daily_notional_usd": D("20000")}
    account = AccountFactory(**(defaults | fields))
    credential_set(account_id=account.pk, owner=account.owner, venue="coinspot", api_key=KEY, secret=SECRET)
    live_mode_set(account_id=account.pk, live=True, venue="coinspot", by_user=staff)
    live_confirm(account_id=account.pk, by_user=account.owner)
    account.refresh_from_db()
    return account


def cs_venue_state(node) -> dict:
    """The simulator's view of ``KEY``: balances, open orders and completed entries."""
    return cs_control(node, "state", verb="GET")["accounts"][KEY]


def cs_venue_balances(node) -> dict[str, Decimal]:
    return {coin: D(amount) for coin, amount in cs_venue_state(node)["balances"].items() if D(amount) != 0}
