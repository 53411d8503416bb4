"""The simulated Hyperliquid venue (POST /hyperliquid/exchange and the simulated users' /info answers).

Part 1 checks the simulator's own signing code against the published test vectors of the official SDK:
hyperliquid-dex/hyperliquid-python-sdk, ``tests/signing_test.py`` at commit
7ee976d123b1e04295e4a1e37a424ca6a13bef88 (the values only: private key, actions, nonces, vault address and the
expected connectionId / r, s, v; the SDK's code is not called there). Part 2 drives the node with the REAL SDK
(``hyperliquid-python-sdk`` 0.24.0) over loopback HTTP; expected values are computed here from the raw cassettes
(read with yaml.safe_load) and Hyperliquid's tier-0 perp fees (taker 0.045 %, maker 0.015 %), in Decimal.
"""

import json
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import requests
import yaml
from django.conf import settings
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info
from hyperliquid.utils.error import ClientError
from hyperliquid.utils.signing import sign_l1_action
from hyperliquid.utils.types import Cloid

from ledgers.replay.hyperliquid import HyperliquidIndex
from ledgers.replay.hyperliquid_exchange import (
    MAINNET_SOURCE,
    TESTNET_SOURCE,
    HyperliquidExchange,
    l1_action_hash,
    l1_signer,
    l1_typed_data,
    user_signed_signer,
)

SDK_CASSETTES = "hyperliquid-python-sdk-cassettes"

# --- part 1: the SDK's published signing vectors (values from tests/signing_test.py @ 7ee976d) ---------------------
VECTOR_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
VAULT = "0x1719884eb866cb12b2287399b15f7db5e7d775ea"
DUMMY = {"type": "dummy", "num": 100000000000}  # float_to_int_for_hashing(1000) = 1000 * 10**8
ORDER = {"type": "order", "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False,
                                      "t": {"limit": {"tif": "Gtc"}}}], "grouping": "na"}
ORDER_CLOID = {"type": "order", "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False,
                                            "t": {"limit": {"tif": "Gtc"}},
                                            "c": "0x00000000000000000000000000000001"}], "grouping": "na"}
ORDER_TPSL = {"type": "order", "orders": [{"a": 1, "b": True, "p": "100", "s": "100", "r": False,
                                           "t": {"trigger": {"isMarket": True, "triggerPx": "103", "tpsl": "sl"}}}],
              "grouping": "na"}
SUB_ACCOUNT = {"type": "createSubAccount", "name": "example"}
SUB_TRANSFER = {"type": "subAccountTransfer", "subAccountUser": "0x1d9470d4b963f552e6f671a81619d395877bf409",
                "isDeposit": True, "usd": 10}
SCHEDULE_CANCEL = {"type": "scheduleCancel"}
SCHEDULE_CANCEL_TIME = {"type": "scheduleCancel", "time": 123456789}

# (test name in signing_test.py, action, vault, source, r, s, v); nonce 0, no expiresAfter
L1_VECTORS = [
    ("l1_action_signing_matches", DUMMY, None, MAINNET_SOURCE,
     "0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
     "0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8", 27),
    ("l1_action_signing_matches", DUMMY, None, TESTNET_SOURCE,
     "0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
     "0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613", 28),
    ("l1_action_signing_order_matches", ORDER, None, MAINNET_SOURCE,
     "0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
     "0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e", 28),
    ("l1_action_signing_order_matches", ORDER, None, TESTNET_SOURCE,
     "0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
     "0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5", 27),
    ("l1_action_signing_order_with_cloid_matches", ORDER_CLOID, None, MAINNET_SOURCE,
     "0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
     "0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da", 27),
    ("l1_action_signing_order_with_cloid_matches", ORDER_CLOID, None, TESTNET_SOURCE,
     "0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
     "0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988", 28),
    ("l1_action_signing_matches_with_vault", DUMMY, VAULT, MAINNET_SOURCE,
     "0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239",
     "0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c", 28),
    ("l1_action_signing_matches_with_vault", DUMMY, VAULT, TESTNET_SOURCE,
     "0xe281d2fb5c6e25ca01601f878e4d69c965bb598b88fac58e475dd1f5e56c362b",
     "0x7ddad27e9a238d045c035bc606349d075d5c5cd00a6cd1da23ab5c39d4ef0f60", 27),
    ("l1_action_signing_tpsl_order_matches", ORDER_TPSL, None, MAINNET_SOURCE,
     "0x98343f2b5ae8e26bb2587daad3863bc70d8792b09af1841b6fdd530a2065a3f9",
     "0x6b5bb6bb0633b710aa22b721dd9dee6d083646a5f8e581a20b545be6c1feb405", 27),
    ("l1_action_signing_tpsl_order_matches", ORDER_TPSL, None, TESTNET_SOURCE,
     "0x971c554d917c44e0e1b6cc45d8f9404f32172a9d3b3566262347d0302896a2e4",
     "0x206257b104788f80450f8e786c329daa589aa0b32ba96948201ae556d5637eac", 28),
    ("create_sub_account_action", SUB_ACCOUNT, None, MAINNET_SOURCE,
     "0x51096fe3239421d16b671e192f574ae24ae14329099b6db28e479b86cdd6caa7",
     "0xb71f7d293af92d3772572afb8b102d167a7cef7473388286bc01f52a5c5b423", 27),
    ("create_sub_account_action", SUB_ACCOUNT, None, TESTNET_SOURCE,
     "0xa699e3ed5c2b89628c746d3298b5dc1cca604694c2c855da8bb8250ec8014a5b",
     "0x53f1b8153a301c72ecc655b1c315d64e1dcea3ee58921fd7507e35818fcc1584", 28),
    ("sub_account_transfer_action", SUB_TRANSFER, None, MAINNET_SOURCE,
     "0x43592d7c6c7d816ece2e206f174be61249d651944932b13343f4d13f306ae602",
     "0x71a926cb5c9a7c01c3359ec4c4c34c16ff8107d610994d4de0e6430e5cc0f4c9", 28),
    ("sub_account_transfer_action", SUB_TRANSFER, None, TESTNET_SOURCE,
     "0xe26574013395ad55ee2f4e0575310f003c5bb3351b5425482e2969fa51543927",
     "0xefb08999196366871f919fd0e138b3a7f30ee33e678df7cfaf203e25f0a4278", 28),
    ("schedule_cancel_action", SCHEDULE_CANCEL, None, MAINNET_SOURCE,
     "0x6cdfb286702f5917e76cd9b3b8bf678fcc49aec194c02a73e6d4f16891195df9",
     "0x6557ac307fa05d25b8d61f21fb8a938e703b3d9bf575f6717ba21ec61261b2a0", 27),
    ("schedule_cancel_action", SCHEDULE_CANCEL, None, TESTNET_SOURCE,
     "0xc75bb195c3f6a4e06b7d395acc20bbb224f6d23ccff7c6a26d327304e6efaeed",
     "0x342f8ede109a29f2c0723bd5efb9e9100e3bbb493f8fb5164ee3d385908233df", 28),
    ("schedule_cancel_action", SCHEDULE_CANCEL_TIME, None, MAINNET_SOURCE,
     "0x609cb20c737945d070716dcc696ba030e9976fcf5edad87afa7d877493109d55",
     "0x16c685d63b5c7a04512d73f183b3d7a00da5406ff1f8aad33f8ae2163bab758b", 28),
    ("schedule_cancel_action", SCHEDULE_CANCEL_TIME, None, TESTNET_SOURCE,
     "0x4e4f2dbd4107c69783e251b7e1057d9f2b9d11cee213441ccfa2be63516dc5bc",
     "0x706c656b23428c8ba356d68db207e11139ede1670481a9e01ae2dfcdb0e1a678", 27),
]


@pytest.mark.parametrize(("name", "action", "vault", "source", "r", "s", "v"), L1_VECTORS,
                         ids=[f"{v[0]}-{v[3]}-{n}" for n, v in enumerate(L1_VECTORS)])
def test_published_l1_vectors_recover_the_signer_and_resign_identically(name, action, vault, source, r, s, v):
    signer = Account.from_key(VECTOR_KEY).address.lower()
    assert l1_signer(action, 0, {"r": r, "s": s, "v": v}, vault, None, source) == signer
    # Signing our typed data with eth-account (deterministic RFC 6979 nonces) gives the published signature.
    signed = Account.sign_message(
        encode_typed_data(full_message=l1_typed_data(l1_action_hash(action, 0, vault, None), source)), VECTOR_KEY)
    assert (signed.r, signed.s, signed.v) == (int(r, 16), int(s, 16), v)


def test_published_l1_vector_fails_with_the_other_source():
    _, action, vault, _, r, s, v = L1_VECTORS[0]  # a mainnet signature
    signer = Account.from_key(VECTOR_KEY).address.lower()
    assert l1_signer(action, 0, {"r": r, "s": s, "v": v}, vault, None, TESTNET_SOURCE) != signer


def test_phantom_agent_connection_id_matches_production():
    """signing_test.py::test_phantom_agent_creation_matches_production: ETH (asset 4) Ioc buy 0.0147 @ 1670.1."""
    action = {"type": "order", "orders": [{"a": 4, "b": True, "p": "1670.1", "s": "0.0147", "r": False,
                                           "t": {"limit": {"tif": "Ioc"}}}], "grouping": "na"}
    connection_id = l1_action_hash(action, 1677777606040, None, None)
    assert "0x" + connection_id.hex() == "0x0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908"


def test_published_user_signed_vector_recovers_the_signer():
    """signing_test.py::test_sign_usd_transfer_action (testnet): UsdSend of 1 USDC, time 1687816341423; the SDK
    adds signatureChainId 0x66eee and hyperliquidChain "Testnet" before signing."""
    action = {"destination": "0x5e9ee1089755c3435139848e47e6635505d5a13a", "amount": "1", "time": 1687816341423,
              "signatureChainId": "0x66eee", "hyperliquidChain": "Testnet"}
    fields = [{"name": "hyperliquidChain", "type": "string"}, {"name": "destination", "type": "string"},
              {"name": "amount", "type": "string"}, {"name": "time", "type": "uint64"}]
    signature = {"r": "0x637b37dd731507cdd24f46532ca8ba6eec616952c56218baeff04144e4a77073",
                 "s": "0x11a6a24900e6e314136d2592e2f8d502cd89b7c15b198e1bee043c9589f9fad7", "v": 27}
    signer = user_signed_signer(action, signature, "HyperliquidTransaction:UsdSend", fields)
    assert signer == Account.from_key(VECTOR_KEY).address.lower()


# --- part 2: the real SDK against the node -----------------------------------------------------------------------
USER_KEY = "0x" + "a1" * 32
AGENT_KEY = "0x" + "b2" * 32
TAKER = Decimal("0.00045")
MAKER = Decimal("0.00015")
USDC = Decimal(100000)
UNKNOWN_SIGNER = re.compile(r"^User or API Wallet (0x[0-9a-f]{40}) does not exist\.$")


@dataclass
class Venue:
    replay: object
    user: str
    agent: LocalAccount
    exchange: Exchange
    info: Info

    def control(self, verb: str, name: str, body: object = None) -> object:
        response = requests.request(verb, f"{self.replay.url}/_replay/hyperliquid/{name}", json=body, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def usdc(self) -> Decimal:
        balances = self.info.spot_user_state(self.user)["balances"]
        return Decimal(next(b["total"] for b in balances if b["coin"] == "USDC"))


def _fee(px: Decimal, sz: Decimal, rate: Decimal) -> Decimal:
    return (px * sz * rate).quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def _recorded(cassette: str, body: dict) -> object:
    doc = yaml.safe_load((settings.REPLAY_DATA_DIR / SDK_CASSETTES / cassette).read_text())
    return next(json.loads(item["response"]["body"]["string"]) for item in doc["interactions"]
                if json.loads(item["request"]["body"]) == body)


def _statuses(answer: dict) -> list:
    assert answer["status"] == "ok", answer
    return answer["response"]["data"]["statuses"]


@pytest.fixture
def venue(replay, monkeypatch):
    """A simulated user (100,000 USDC) with one agent, the SDK's Exchange signing as that agent and an Info.
    The SDK's nonce (``get_timestamp_ms``) is made strictly increasing, as a client's nonce manager would, so two
    calls in the same millisecond cannot collide (the duplicate-nonce test makes them collide on purpose)."""
    last = [0]
    lock = threading.Lock()

    def unique_ms() -> int:
        with lock:
            last[0] = max(int(time.time() * 1000), last[0] + 1)
            return last[0]

    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", unique_ms)
    user, agent = Account.from_key(USER_KEY), Account.from_key(AGENT_KEY)
    answer = requests.post(f"{replay.url}/_replay/hyperliquid/accounts", timeout=10,
                           json={"user": user.address, "agents": [agent.address], "usdc": str(USDC)})
    assert answer.json() == {"user": user.address.lower(), "agents": [agent.address.lower()], "usdc": "100000.0"}
    exchange = Exchange(agent, base_url=replay.hyperliquid_url, account_address=user.address, timeout=10)
    return Venue(replay, user.address.lower(), agent, exchange, Info(replay.hyperliquid_url, skip_ws=True, timeout=10))


def _post_exchange(replay, action: dict, nonce: int, signature: dict) -> dict:
    body = {"action": action, "nonce": nonce, "signature": signature, "vaultAddress": None, "expiresAfter": None}
    response = requests.post(replay.hyperliquid_exchange_url, json=body, timeout=10)
    assert response.status_code == 200
    return response.json()


BTC_BUY = {"type": "order", "orders": [{"a": 0, "b": True, "p": "29000", "s": "0.01", "r": False,
                                        "t": {"limit": {"tif": "Gtc"}}}], "grouping": "na"}


def test_ioc_buy_walks_the_recorded_dydx_book(venue):
    book = _recorded("test_get_l2_snapshot.yaml", {"type": "l2Book", "coin": "DYDX"})
    limit, size = Decimal("2.1128"), Decimal(1000)
    expected, left = [], size
    for level in book["levels"][1]:  # asks, best first
        px, sz = Decimal(level["px"]), Decimal(level["sz"])
        if left == 0 or px > limit:
            break
        expected.append((px, min(left, sz)))
        left -= min(left, sz)
    assert [str(px) for px, _ in expected] == ["2.1124", "2.1125", "2.1128"]  # three levels are walked
    notional = sum(px * sz for px, sz in expected)
    avg_px = (notional / size).quantize(Decimal("0.00000001"), rounding=ROUND_HALF_EVEN)

    answer = venue.exchange.order("DYDX", True, 1000, 2.1128, {"limit": {"tif": "Ioc"}})

    assert _statuses(answer) == [{"filled": {"totalSz": "1000.0", "avgPx": str(avg_px.normalize()), "oid": 1}}]
    fills = venue.info.user_fills(venue.user)
    assert [(f["px"], f["sz"], f["side"], f["crossed"], f["dir"]) for f in reversed(fills)] == [
        (str(px), str(sz), "B", True, "Open Long") for px, sz in expected]
    fees = [_fee(px, sz, TAKER) for px, sz in expected]
    assert [Decimal(f["fee"]) for f in reversed(fills)] == fees
    assert venue.usdc() == USDC - sum(fees)
    position = venue.info.user_state(venue.user)["assetPositions"][0]["position"]
    assert (position["coin"], position["szi"], position["entryPx"]) == ("DYDX", "1000.0", str(avg_px.normalize()))


def test_liquidity_taken_from_the_recorded_book_stays_taken(venue):
    book = _recorded("test_get_l2_snapshot.yaml", {"type": "l2Book", "coin": "DYDX"})
    best, second = book["levels"][1][0], book["levels"][1][1]
    first = venue.exchange.order("DYDX", True, float(best["sz"]), float(best["px"]), {"limit": {"tif": "Ioc"}})
    assert _statuses(first) == [{"filled": {"totalSz": best["sz"], "avgPx": best["px"], "oid": 1}}]
    again = venue.exchange.order("DYDX", True, 10, float(best["px"]), {"limit": {"tif": "Ioc"}})
    assert _statuses(again) == [{"error": "Order could not immediately match against any resting orders."}]
    next_level = venue.exchange.order("DYDX", True, 10, float(second["px"]), {"limit": {"tif": "Ioc"}})
    assert _statuses(next_level) == [{"filled": {"totalSz": "10.0", "avgPx": second["px"], "oid": 3}}]


def test_a_booked_coin_whose_mid_is_overridden_fills_at_the_mid(venue):
    venue.control("POST", "mids", {"DYDX": "2.05"})
    answer = venue.exchange.order("DYDX", True, 5000, 2.06, {"limit": {"tif": "Ioc"}})  # more than the book holds
    assert _statuses(answer) == [{"filled": {"totalSz": "5000.0", "avgPx": "2.05", "oid": 1}}]
    assert venue.usdc() == USDC - _fee(Decimal("2.05"), Decimal(5000), TAKER)


def test_concurrent_orders_from_several_agents_are_all_booked(venue):
    agents = [Account.from_key("0x" + f"{n + 1:02x}" * 32) for n in range(6)]
    venue.control("POST", "accounts", {"user": venue.user, "agents": [a.address for a in agents], "usdc": "100000"})
    exchanges = [Exchange(a, base_url=venue.replay.hyperliquid_url, account_address=venue.user, timeout=10)
                 for a in agents]

    def place(exchange: Exchange) -> list:
        return [_statuses(exchange.order("ETH", True, 0.1, 2000, {"limit": {"tif": "Ioc"}}))[0] for _ in range(5)]

    with ThreadPoolExecutor(max_workers=len(exchanges)) as pool:
        statuses = [s for result in pool.map(place, exchanges) for s in result]
    assert sorted(s["filled"]["oid"] for s in statuses) == list(range(1, 31))
    mid = Decimal(_recorded("test_get_all_mids.yaml", {"type": "allMids"})["ETH"])
    fills = venue.info.user_fills(venue.user)
    assert sorted(f["tid"] for f in fills) == list(range(1, 31))
    assert venue.info.user_state(venue.user)["assetPositions"][0]["position"]["szi"] == "3.0"
    assert venue.usdc() == USDC - 30 * _fee(mid, Decimal("0.1"), TAKER)


def test_ioc_that_crosses_nothing_is_refused_and_changes_nothing(venue):
    answer = venue.exchange.order("DYDX", True, 100, 2.1, {"limit": {"tif": "Ioc"}})
    assert _statuses(answer) == [{"error": "Order could not immediately match against any resting orders."}]
    assert venue.info.user_fills(venue.user) == []
    assert venue.usdc() == USDC


def test_ioc_on_a_coin_without_a_book_fills_at_the_recorded_mid(venue):
    mid = Decimal(_recorded("test_get_all_mids.yaml", {"type": "allMids"})["ETH"])
    answer = venue.exchange.order("ETH", False, 0.5, 1800, {"limit": {"tif": "Ioc"}})
    assert _statuses(answer) == [{"filled": {"totalSz": "0.5", "avgPx": str(mid), "oid": 1}}]
    assert venue.usdc() == USDC - _fee(mid, Decimal("0.5"), TAKER)
    position = venue.info.user_state(venue.user)["assetPositions"][0]["position"]
    assert (position["szi"], position["entryPx"], position["unrealizedPnl"]) == ("-0.5", str(mid), "0.0")


def test_a_tampered_action_is_refused_as_an_unknown_wallet(venue):
    nonce = int(time.time() * 1000)
    signature = sign_l1_action(venue.agent, BTC_BUY, None, nonce, None, False)
    tampered = {**BTC_BUY, "orders": [{**BTC_BUY["orders"][0], "s": "0.02"}]}
    answer = _post_exchange(venue.replay, tampered, nonce, signature)
    assert answer["status"] == "err"
    recovered = UNKNOWN_SIGNER.match(answer["response"]).group(1)
    assert recovered not in (venue.agent.address.lower(), venue.user)
    assert venue.control("GET", "state")["orders"] == []
    # the untampered request with the same nonce still goes through: the refused one used no nonce
    assert _statuses(_post_exchange(venue.replay, BTC_BUY, nonce, signature)) == [{"resting": {"oid": 1}}]


def test_a_mainnet_signature_is_refused_the_sdk_signs_testnet_for_a_loopback_url(venue):
    nonce = int(time.time() * 1000)
    answer = _post_exchange(venue.replay, BTC_BUY, nonce, sign_l1_action(venue.agent, BTC_BUY, None, nonce, None, True))
    assert UNKNOWN_SIGNER.match(answer["response"]).group(1) != venue.agent.address.lower()


def test_an_unapproved_agent_is_refused(venue):
    stranger = Account.from_key("0x" + "c3" * 32)
    exchange = Exchange(stranger, base_url=venue.replay.hyperliquid_url, account_address=venue.user, timeout=10)
    answer = exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    assert answer == {"status": "err", "response": f"User or API Wallet {stranger.address.lower()} does not exist."}
    assert venue.info.open_orders(venue.user) == []


def test_the_user_itself_may_sign(venue):
    exchange = Exchange(Account.from_key(USER_KEY), base_url=venue.replay.hyperliquid_url, timeout=10)
    assert _statuses(exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})) == [{"resting": {"oid": 1}}]


def test_a_replayed_nonce_is_refused(venue, monkeypatch):
    nonce = int(time.time() * 1000)
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", lambda: nonce)
    first = venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    second = venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    assert _statuses(first) == [{"resting": {"oid": 1}}]
    assert second == {"status": "err", "response": f"Invalid nonce: duplicate nonce {nonce}"}
    assert [o["oid"] for o in venue.info.open_orders(venue.user)] == [1]


@pytest.mark.parametrize("offset_ms", [-3 * 24 * 3600 * 1000, 2 * 24 * 3600 * 1000])
def test_a_nonce_outside_the_window_is_refused(venue, monkeypatch, offset_ms):
    nonce = int(time.time() * 1000) + offset_ms
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", lambda: nonce)
    answer = venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    assert answer == {"status": "err", "response": f"Invalid nonce: nonce {nonce} is too far from the current time"}
    assert venue.info.open_orders(venue.user) == []


def test_a_duplicate_cloid_is_refused(venue):
    cloid = Cloid.from_int(42)
    first = venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}}, cloid=cloid)
    second = venue.exchange.order("BTC", True, 0.02, 28000, {"limit": {"tif": "Gtc"}}, cloid=cloid)
    assert _statuses(first) == [{"resting": {"oid": 1, "cloid": cloid.to_raw()}}]
    assert _statuses(second) == [{"error": "Duplicate cloid."}]
    assert [(o["oid"], o["sz"]) for o in venue.info.open_orders(venue.user)] == [(1, "0.01")]


def test_order_status_by_cloid_and_by_oid(venue):
    cloid = Cloid.from_int(7)
    venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}}, cloid=cloid)
    by_cloid = venue.info.query_order_by_cloid(venue.user, cloid)
    assert by_cloid["status"] == "order"
    assert by_cloid["order"]["status"] == "open"
    order = by_cloid["order"]["order"]
    assert (order["oid"], order["coin"], order["side"], order["limitPx"], order["sz"], order["origSz"],
            order["tif"], order["cloid"]) == (1, "BTC", "B", "29000.0", "0.01", "0.01", "Gtc", cloid.to_raw())
    assert venue.info.query_order_by_oid(venue.user, 1) == by_cloid
    assert venue.info.query_order_by_cloid(venue.user, Cloid.from_int(8)) == {"status": "unknownOid"}
    assert venue.info.query_order_by_oid(venue.user, 99) == {"status": "unknownOid"}


def test_cancel_by_oid_and_by_cloid(venue):
    cloid = Cloid.from_int(5)
    venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    venue.exchange.order("ETH", False, 0.01, 2000, {"limit": {"tif": "Gtc"}}, cloid=cloid)
    assert _statuses(venue.exchange.cancel("BTC", 1)) == ["success"]
    assert _statuses(venue.exchange.cancel("BTC", 1)) == [
        {"error": "Order was never placed, already canceled, or filled."}]
    assert _statuses(venue.exchange.cancel("BTC", 2)) == [  # oid 2 is an ETH order
        {"error": "Order was never placed, already canceled, or filled."}]
    assert _statuses(venue.exchange.cancel_by_cloid("ETH", cloid)) == ["success"]
    assert venue.info.open_orders(venue.user) == []
    assert venue.info.query_order_by_oid(venue.user, 1)["order"]["status"] == "canceled"
    assert venue.info.query_order_by_cloid(venue.user, cloid)["order"]["status"] == "canceled"
    assert venue.usdc() == USDC


def test_gtc_rests_then_fills_as_maker_when_the_mid_moves_across_it(venue):
    answer = venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    assert _statuses(answer) == [{"resting": {"oid": 1}}]
    assert venue.control("POST", "mids", {"BTC": "29000.5"}) == {"filled": []}
    assert venue.control("POST", "mids", {"BTC": "28999"}) == {"filled": [1]}
    assert venue.info.all_mids()["BTC"] == "28999.0"
    [fill] = venue.info.user_fills(venue.user)
    fee = _fee(Decimal(29000), Decimal("0.01"), MAKER)
    assert fee == Decimal("0.0435")
    assert {k: fill[k] for k in ("coin", "px", "sz", "side", "crossed", "fee", "oid", "dir", "startPosition",
                                 "closedPnl", "feeToken")} == {
        "coin": "BTC", "px": "29000.0", "sz": "0.01", "side": "B", "crossed": False, "fee": "0.0435", "oid": 1,
        "dir": "Open Long", "startPosition": "0.0", "closedPnl": "0.0", "feeToken": "USDC"}
    assert venue.info.query_order_by_oid(venue.user, 1)["order"]["status"] == "filled"
    assert venue.info.open_orders(venue.user) == []
    state = venue.info.user_state(venue.user)
    position = state["assetPositions"][0]["position"]
    value = Decimal("0.01") * Decimal(28999)
    upnl = Decimal("0.01") * (Decimal(28999) - Decimal(29000))
    assert (position["szi"], position["positionValue"], position["unrealizedPnl"]) == (
        "0.01", str(value.normalize()), str(upnl.normalize()))
    assert Decimal(state["marginSummary"]["accountValue"]) == USDC - fee + upnl


def test_reduce_only_never_opens_or_increases_and_is_cut_to_the_position(venue):
    mid = Decimal(_recorded("test_get_all_mids.yaml", {"type": "allMids"})["BTC"])
    refused = venue.exchange.order("BTC", False, 0.01, 29000, {"limit": {"tif": "Ioc"}}, reduce_only=True)
    assert _statuses(refused) == [{"error": "Reduce only order would increase position."}]
    venue.exchange.order("BTC", True, 0.01, 31000, {"limit": {"tif": "Ioc"}})  # long 0.01 at the mid
    increase = venue.exchange.order("BTC", True, 0.01, 31000, {"limit": {"tif": "Ioc"}}, reduce_only=True)
    assert _statuses(increase) == [{"error": "Reduce only order would increase position."}]
    venue.control("POST", "mids", {"BTC": "31000"})
    close = venue.exchange.order("BTC", False, 0.02, 30000, {"limit": {"tif": "Ioc"}}, reduce_only=True)
    assert _statuses(close) == [{"filled": {"totalSz": "0.01", "avgPx": "31000.0", "oid": 4}}]
    closed_pnl = (Decimal(31000) - mid) * Decimal("0.01")
    [close_fill, _open_fill] = venue.info.user_fills(venue.user)
    assert (close_fill["dir"], close_fill["closedPnl"], close_fill["startPosition"]) == (
        "Close Long", str(closed_pnl.normalize()), "0.01")
    fees = _fee(mid, Decimal("0.01"), TAKER) + _fee(Decimal(31000), Decimal("0.01"), TAKER)
    assert venue.usdc() == USDC + closed_pnl - fees
    assert venue.info.user_state(venue.user)["assetPositions"] == []


def test_an_order_costing_more_than_the_free_usdc_is_refused(venue):
    venue.control("POST", "accounts", {"user": venue.user, "agents": [venue.agent.address], "usdc": "300"})
    answer = venue.exchange.order("BTC", True, 0.01, 30135, {"limit": {"tif": "Gtc"}})  # 301.35 USDC at 1x
    assert _statuses(answer) == [{"error": "Insufficient margin to place order."}]
    assert _statuses(venue.exchange.order("BTC", True, 0.005, 30000, {"limit": {"tif": "Gtc"}})) == [
        {"resting": {"oid": 2}}]
    # the resting order holds 150 USDC of the 300: 0.006 at 30000 (180 USDC) no longer fits, 0.005 (150) does
    assert _statuses(venue.exchange.order("BTC", True, 0.006, 30000, {"limit": {"tif": "Gtc"}})) == [
        {"error": "Insufficient margin to place order."}]
    assert _statuses(venue.exchange.order("BTC", True, 0.005, 30000, {"limit": {"tif": "Gtc"}})) == [
        {"resting": {"oid": 4}}]
    assert venue.info.query_order_by_oid(venue.user, 1)["order"]["status"] == "rejected"


@pytest.mark.parametrize(("coin", "sz", "px", "error"), [
    ("BTC", 0.01, 30135.55, "Price must be divisible by tick size."),  # BTC: szDecimals 5, so 1 decimal at most
    ("DYDX", 10, 2.11245, "Price must be divisible by tick size."),  # 6 significant figures
    ("BTC", 0.000001, 30000, "Order has invalid size."),  # more than 5 decimals
    ("BTC", 0.0003, 30000, "Order must have minimum value of $10."),
])
def test_price_and_size_rules(venue, coin, sz, px, error):
    assert _statuses(venue.exchange.order(coin, True, sz, px, {"limit": {"tif": "Gtc"}})) == [{"error": error}]
    assert venue.info.open_orders(venue.user) == []


def test_an_integer_price_is_always_valid(venue):
    assert _statuses(venue.exchange.order("DYDX", True, 10, 2, {"limit": {"tif": "Gtc"}})) == [{"resting": {"oid": 1}}]


def test_alo_that_would_cross_is_refused_with_the_recorded_bbo(venue):
    book = _recorded("test_get_l2_snapshot.yaml", {"type": "l2Book", "coin": "DYDX"})
    bbo = f"{book['levels'][0][0]['px']}@{book['levels'][1][0]['px']}"
    answer = venue.exchange.order("DYDX", True, 10, 2.1124, {"limit": {"tif": "Alo"}})
    assert _statuses(answer) == [{"error": f"Post only order would have immediately matched, bbo was {bbo}."}]
    assert _statuses(venue.exchange.order("DYDX", True, 10, 2.11, {"limit": {"tif": "Alo"}})) == [
        {"resting": {"oid": 2}}]


def test_fills_by_time_window_and_spot_balance(venue):
    venue.exchange.order("ETH", True, 0.1, 2000, {"limit": {"tif": "Ioc"}})
    [fill] = venue.info.user_fills(venue.user)
    assert venue.info.user_fills_by_time(venue.user, fill["time"], fill["time"]) == [fill]
    assert venue.info.user_fills_by_time(venue.user, fill["time"] + 1) == []
    mid = Decimal(_recorded("test_get_all_mids.yaml", {"type": "allMids"})["ETH"])
    assert venue.info.spot_user_state(venue.user) == {"balances": [
        {"coin": "USDC", "token": 0, "total": str((USDC - _fee(mid, Decimal("0.1"), TAKER)).normalize()),
         "hold": "0.0", "entryNtl": "0.0"}]}


def test_the_sdks_meta_and_spot_meta_requests_are_answered_from_the_recordings(venue):
    rotki = settings.REPLAY_DATA_DIR / "rotki-test-caching-cassettes" / "hyperliquid"
    doc = yaml.safe_load((rotki / "test_refetch_hyperliquid_core_history_with_max_event__hyperliquid_accounts0.yaml")
                         .read_text())
    spot_meta = next(json.loads(item["response"]["body"]["string"]) for item in doc["interactions"]
                     if json.loads(item["request"]["body"]) == {"type": "spotMeta"})
    assert venue.info.spot_meta() == spot_meta
    assert venue.info.meta() == _recorded("test_get_info.yaml", {"type": "meta"})  # asked with "dex": ""


def test_spot_meta_is_derived_when_none_is_recorded(replay):
    index = HyperliquidIndex()
    for request_type, user in [("meta", None), ("allMids", None), ("spotMetaAndAssetCtxs", None)]:
        index.by_key[(request_type, user)] = replay.hyperliquid.index.by_key[(request_type, user)]
    venue = HyperliquidExchange.from_index(index)
    recorded = _recorded("test_spot_asset_ctx.yaml", {"type": "spotMetaAndAssetCtxs"})
    assert venue.info_answer({"type": "spotMeta"}) == recorded[0]


def test_approve_agent_with_the_users_signature(venue):
    user_exchange = Exchange(Account.from_key(USER_KEY), base_url=venue.replay.hyperliquid_url, timeout=10)
    answer, agent_key = user_exchange.approve_agent()
    assert answer == {"status": "ok", "response": {"type": "default"}}
    new_agent = Account.from_key(agent_key)
    exchange = Exchange(new_agent, base_url=venue.replay.hyperliquid_url, account_address=venue.user, timeout=10)
    assert _statuses(exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})) == [{"resting": {"oid": 1}}]
    assert venue.control("GET", "state")["users"][venue.user]["agents"] == sorted(
        [venue.agent.address.lower(), new_agent.address.lower()])


def test_an_agent_cannot_approve_agents(venue):
    answer, _ = venue.exchange.approve_agent()
    assert answer == {"status": "err", "response": f"User or API Wallet {venue.agent.address.lower()} does not exist."}


def test_accounts_are_reset_idempotently_and_state_is_deleted(venue):
    venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    body = {"user": venue.user, "agents": [venue.agent.address], "usdc": "5000"}
    assert venue.control("POST", "accounts", body) == venue.control("POST", "accounts", body)
    state = venue.control("GET", "state")
    assert state["users"] == {venue.user: {"agents": [venue.agent.address.lower()], "usdc": "5000.0", "spot": {},
                                                "positions": {}}}
    assert state["orders"] == []
    assert venue.control("DELETE", "state") == {"reset": True}
    assert venue.control("GET", "state") == {"users": {}, "orders": [], "fills": {}, "mids": {}}


# --- faults ------------------------------------------------------------------------------------------------------
def test_reject_fault_answers_the_given_error(venue):
    venue.control("POST", "faults", [{"kind": "reject", "error": "Order price too far from oracle"}])
    answer = venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}}, cloid=Cloid.from_int(1))
    assert _statuses(answer) == [{"error": "Order price too far from oracle"}]
    assert venue.info.query_order_by_cloid(venue.user, Cloid.from_int(1))["order"]["status"] == "rejected"
    assert venue.control("GET", "faults") == []
    # the fault is used up and a rejected order's cloid may be sent again
    retry = venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}}, cloid=Cloid.from_int(1))
    assert _statuses(retry) == [{"resting": {"oid": 2, "cloid": Cloid.from_int(1).to_raw()}}]


def test_partial_fill_fault_rests_a_gtc_remainder(venue):
    venue.control("POST", "faults", [{"kind": "partial_fill", "fraction": "0.4"}])
    answer = venue.exchange.order("ETH", True, 1, 2000, {"limit": {"tif": "Gtc"}})
    assert _statuses(answer) == [{"resting": {"oid": 1}}]
    [fill] = venue.info.user_fills(venue.user)
    assert fill["sz"] == "0.4"
    [order] = venue.info.open_orders(venue.user)
    assert (order["sz"], order["origSz"]) == ("0.6", "1.0")


def test_partial_fill_fault_cancels_an_ioc_remainder(venue):
    venue.control("POST", "faults", [{"kind": "partial_fill", "fraction": "0.25"}])
    mid = _recorded("test_get_all_mids.yaml", {"type": "allMids"})["ETH"]
    answer = venue.exchange.order("ETH", True, 1, 2000, {"limit": {"tif": "Ioc"}})
    assert _statuses(answer) == [{"filled": {"totalSz": "0.25", "avgPx": mid, "oid": 1}}]
    assert venue.info.open_orders(venue.user) == []
    assert venue.info.query_order_by_oid(venue.user, 1)["order"]["status"] == "canceled"


def test_rate_limit_fault_is_a_429_before_anything_happens(venue):
    venue.control("POST", "faults", [{"kind": "rate_limit"}])
    with pytest.raises(ClientError) as raised:
        venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    assert raised.value.status_code == 429
    assert venue.info.open_orders(venue.user) == []


def test_drop_connection_fault_on_exchange_does_nothing(venue):
    venue.control("POST", "faults", [{"kind": "drop_connection"}])
    with pytest.raises(requests.ConnectionError):
        venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    assert venue.info.open_orders(venue.user) == []
    assert _statuses(venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})) == [
        {"resting": {"oid": 1}}]


def test_drop_connection_fault_on_one_info_type(venue):
    venue.exchange.order("ETH", True, 0.1, 2000, {"limit": {"tif": "Ioc"}})
    venue.control("POST", "faults", [{"kind": "drop_connection", "info_type": "userFills"}])
    assert venue.info.open_orders(venue.user) == []  # another type is not hit
    with pytest.raises(requests.ConnectionError):
        venue.info.user_fills(venue.user)
    assert [f["oid"] for f in venue.info.user_fills(venue.user)] == [1]


def test_accept_then_timeout_applies_the_order_and_holds_the_answer(venue):
    venue.control("POST", "faults", [{"kind": "accept_then_timeout", "delay_s": 1.5}])
    exchange = Exchange(venue.agent, base_url=venue.replay.hyperliquid_url, account_address=venue.user, timeout=0.3)
    with pytest.raises(requests.Timeout):
        exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}}, cloid=Cloid.from_int(3))
    assert venue.info.query_order_by_cloid(venue.user, Cloid.from_int(3))["order"]["status"] == "open"


def test_accept_then_timeout_without_delay_hangs_up_after_applying(venue):
    venue.control("POST", "faults", [{"kind": "accept_then_timeout"}])
    with pytest.raises(requests.ConnectionError):
        venue.exchange.order("BTC", True, 0.01, 29000, {"limit": {"tif": "Gtc"}})
    assert [o["oid"] for o in venue.info.open_orders(venue.user)] == [1]


def test_the_node_lists_the_exchange_url(replay):
    info = requests.get(f"{replay.url}/_replay/info", timeout=10).json()
    assert info["hyperliquid_exchange_url"] == replay.hyperliquid_url + "/exchange"


def test_faults_are_listed_validated_and_cleared(venue):
    assert venue.control("POST", "faults", [{"kind": "reject", "times": 2}, {"kind": "rate_limit"}]) == {"added": 2}
    assert [(f["kind"], f["remaining"]) for f in venue.control("GET", "faults")] == [("reject", 2), ("rate_limit", 1)]
    bad = requests.post(f"{venue.replay.url}/_replay/hyperliquid/faults", json=[{"kind": "partial_fill"}], timeout=10)
    assert bad.status_code == 400
    assert venue.control("DELETE", "faults") == {"cleared": True}
    assert venue.control("GET", "faults") == []


# --- spot: the served spotMeta (rotki's real answer) and the mids of test_spot_asset_ctx.yaml --------------------
SPOT_TAKER = Decimal("0.0007")  # Hyperliquid tier 0 spot fees (docs "Fees"; userFees userSpotCrossRate/AddRate)
SPOT_MAKER = Decimal("0.0004")
ROTKI_SPOT_META = ("rotki-test-caching-cassettes/hyperliquid/"
                   "test_refetch_hyperliquid_core_history_with_max_event__hyperliquid_accounts0.yaml")


def _served_spot_meta() -> dict:
    doc = yaml.safe_load((settings.REPLAY_DATA_DIR / ROTKI_SPOT_META).read_text())
    return next(json.loads(item["response"]["body"]["string"]) for item in doc["interactions"]
                if json.loads(item["request"]["body"]) == {"type": "spotMeta"})


def _spot_mids() -> dict[str, Decimal]:
    ctxs = _recorded("test_spot_asset_ctx.yaml", {"type": "spotMetaAndAssetCtxs"})[1]
    return {ctx["coin"]: Decimal(ctx["midPx"]) for ctx in ctxs if ctx.get("midPx")}


def _spot_pair(name: str) -> tuple[int, int, str]:
    """(asset id, szDecimals of the base token, base token name) of a pair of the served spotMeta."""
    meta = _served_spot_meta()
    pair = next(p for p in meta["universe"] if p["name"] == name)
    token = next(t for t in meta["tokens"] if t["index"] == pair["tokens"][0])
    return 10000 + pair["index"], token["szDecimals"], token["name"]


def _spot_balances(venue) -> dict[str, tuple[Decimal, Decimal]]:
    return {b["coin"]: (Decimal(b["total"]), Decimal(b["hold"])) for b in venue.info.spot_user_state(venue.user)[
        "balances"]}


def test_spot_asset_ids_and_mids_match_what_the_sdk_computes(venue):
    asset, sz_decimals, base = _spot_pair("PURR/USDC")
    assert (asset, sz_decimals, base) == (10000, 0, "PURR")
    assert venue.info.name_to_coin["PURR/USDC"] == "PURR/USDC" and venue.info.coin_to_asset["PURR/USDC"] == asset
    mids, all_mids = _spot_mids(), venue.info.all_mids()
    served = {p["name"] for p in _served_spot_meta()["universe"]}
    assert Decimal(all_mids["PURR/USDC"]) == mids["PURR/USDC"] and Decimal(all_mids["@1"]) == mids["@1"]
    tradable = {p["name"] for p in _served_spot_meta()["universe"] if p["tokens"][1] == 0 and p["name"] in mids}
    assert {c: Decimal(m) for c, m in all_mids.items() if c.startswith("@") or "/" in c} == {
        name: mids[name] for name in tradable}
    assert tradable <= served and len(tradable) > 100
    assert venue.info.coin_to_asset["@1"] == _spot_pair("@1")[0]


def test_spot_market_buy_then_sell_fills_at_the_recorded_mid_with_spot_taker_fees(venue):
    mid = _spot_mids()["PURR/USDC"]
    size = Decimal(1000)
    buy = venue.exchange.market_open("PURR/USDC", True, 1000)  # the SDK prices it from allMids
    assert _statuses(buy) == [{"filled": {"totalSz": "1000.0", "avgPx": str(mid), "oid": 1}}]
    [fill] = venue.info.user_fills(venue.user)
    buy_fee = _fee(mid, size, SPOT_TAKER)
    assert {k: fill[k] for k in ("coin", "px", "sz", "side", "dir", "startPosition", "crossed", "fee", "feeToken",
                                 "closedPnl", "tid")} == {
        "coin": "PURR/USDC", "px": str(mid), "sz": "1000.0", "side": "B", "dir": "Buy", "startPosition": "0.0",
        "crossed": True, "fee": str(buy_fee.normalize()), "feeToken": "USDC", "closedPnl": "0.0", "tid": 1}
    assert _spot_balances(venue) == {"USDC": (USDC - mid * size - buy_fee, Decimal(0)), "PURR": (size, Decimal(0))}
    assert venue.info.spot_user_state(venue.user)["balances"][1]["entryNtl"] == str((mid * size).normalize())
    assert venue.info.user_state(venue.user)["assetPositions"] == []  # spot is not a perp position

    sell = venue.exchange.market_open("PURR/USDC", False, 1000)
    assert _statuses(sell) == [{"filled": {"totalSz": "1000.0", "avgPx": str(mid), "oid": 2}}]
    sold = venue.info.user_fills(venue.user)[0]
    sell_fee = _fee(mid, size, SPOT_TAKER)
    assert (sold["side"], sold["dir"], sold["startPosition"], Decimal(sold["fee"])) == ("A", "Sell", "1000.0",
                                                                                        sell_fee)
    assert _spot_balances(venue) == {"USDC": (USDC - buy_fee - sell_fee, Decimal(0))}


def test_spot_needs_the_token_to_sell_and_usdc_to_buy(venue):
    assert _statuses(venue.exchange.market_open("PURR/USDC", False, 1000)) == [
        {"error": "Insufficient spot balance."}]
    venue.control("POST", "accounts", {"user": venue.user, "agents": [venue.agent.address], "usdc": "20",
                                       "spot": {"PURR": "200"}})
    assert _spot_balances(venue) == {"USDC": (Decimal(20), Decimal(0)), "PURR": (Decimal(200), Decimal(0))}
    mid = _spot_mids()["PURR/USDC"]
    # The SDK's market buy is a limit 5 % above the mid (its DEFAULT_SLIPPAGE, to 5 significant figures); the venue
    # wants that limit's notional plus the taker fee in free USDC: 200 PURR is too much, ``affordable`` is not.
    limit_px = Decimal(f"{float(mid) * 1.05:.5g}")
    affordable = int(Decimal(20) / (limit_px * (1 + SPOT_TAKER)))
    assert _statuses(venue.exchange.market_open("PURR/USDC", True, 200)) == [{"error": "Insufficient spot balance."}]
    assert "filled" in _statuses(venue.exchange.market_open("PURR/USDC", True, affordable))[0]
    # A resting sell holds its tokens: a second sell of more than what is left is refused.
    limit = (mid * 2).quantize(Decimal("0.0001"))
    assert _statuses(venue.exchange.order("PURR/USDC", False, 150, float(limit), {"limit": {"tif": "Gtc"}})) == [
        {"resting": {"oid": 4}}]
    total = Decimal(200 + affordable)
    assert _spot_balances(venue)["PURR"] == (total, Decimal(150))
    assert _statuses(venue.exchange.order("PURR/USDC", False, int(total) - 149, float(limit),
                                          {"limit": {"tif": "Gtc"}})) == [{"error": "Insufficient spot balance."}]
    [resting] = venue.info.open_orders(venue.user)
    assert (resting["coin"], resting["side"], resting["sz"]) == ("PURR/USDC", "A", "150.0")
    assert _statuses(venue.exchange.order("PURR/USDC", False, 100, float(mid), {"limit": {"tif": "Ioc"}},
                                          reduce_only=True)) == [
        {"error": "Reduce only is not simulated for spot orders."}]


def test_spot_price_and_size_rules_use_the_base_tokens_sz_decimals(venue):
    _, sz_decimals, _ = _spot_pair("PURR/USDC")
    assert sz_decimals == 0  # sizes are whole PURR; the SDK sends 100.5 as "100.5"
    statuses = _statuses(venue.exchange.bulk_orders([
        {"coin": "PURR/USDC", "is_buy": True, "sz": 100.5, "limit_px": 0.2, "order_type": {"limit": {"tif": "Gtc"}},
         "reduce_only": False},
        {"coin": "PURR/USDC", "is_buy": True, "sz": 100, "limit_px": 0.113111,
         "order_type": {"limit": {"tif": "Gtc"}}, "reduce_only": False},
        {"coin": "PURR/USDC", "is_buy": True, "sz": 50, "limit_px": 0.11311, "order_type": {"limit": {"tif": "Gtc"}},
         "reduce_only": False},
    ]))
    assert statuses == [{"error": "Order has invalid size."}, {"error": "Price must be divisible by tick size."},
                        {"error": "Order must have minimum value of $10."}]
    # 8 - szDecimals decimals: a pair whose base token has szDecimals d accepts 8 - d decimals, not 9 - d.
    name = next(n for n in _spot_mids() if n in {p["name"] for p in _served_spot_meta()["universe"]}
                and _spot_pair(n)[1] == 2)
    ok_px, bad_px = Decimal("0.000001"), Decimal("0.0000001")  # 6 = 8 - 2 decimals; 7 decimals
    assert _statuses(venue.exchange.order(name, True, 1, float(ok_px), {"limit": {"tif": "Gtc"}}))[0] == {
        "error": "Order must have minimum value of $10."}  # past the tick check
    assert _statuses(venue.exchange.order(name, True, 1, float(bad_px), {"limit": {"tif": "Gtc"}}))[0] == {
        "error": "Price must be divisible by tick size."}


def test_a_served_spot_pair_without_a_recorded_mid_cannot_be_traded(venue):
    mids = _spot_mids()
    name = next(p["name"] for p in _served_spot_meta()["universe"] if p["name"] not in mids)
    asset = venue.info.coin_to_asset[name]
    assert name not in venue.info.all_mids()
    assert _statuses(venue.exchange.order(name, True, 10, 1, {"limit": {"tif": "Gtc"}})) == [
        {"error": "Unsupported asset (the simulator trades the recorded perps and the USDC spot pairs with a "
                  "recorded mid only)."}]
    assert asset >= 10000


def test_a_resting_spot_buy_holds_usdc_and_fills_as_maker_when_the_mid_crosses(venue):
    mid = _spot_mids()["PURR/USDC"]
    limit = Decimal("0.1")
    assert limit < mid
    assert _statuses(venue.exchange.order("PURR/USDC", True, 500, float(limit), {"limit": {"tif": "Alo"}})) == [
        {"resting": {"oid": 1}}]
    assert _spot_balances(venue) == {"USDC": (USDC, limit * 500)}
    assert venue.control("POST", "mids", {"PURR/USDC": "0.099"}) == {"filled": [1]}
    [fill] = venue.info.user_fills(venue.user)
    fee = _fee(limit, Decimal(500), SPOT_MAKER)
    assert (fill["px"], fill["crossed"], Decimal(fill["fee"])) == ("0.1", False, fee)
    assert _spot_balances(venue) == {"USDC": (USDC - limit * 500 - fee, Decimal(0)), "PURR": (Decimal(500), Decimal(0))}
    assert venue.info.all_mids()["PURR/USDC"] == "0.099"
