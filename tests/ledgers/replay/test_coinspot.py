"""The Coinspot simulator (ledgers.replay.coinspot) driven by real ccxt over loopback HTTP.

Expected values are computed here: default prices from the raw CoinGecko CSVs, balances and fees with
Decimal from the rule the simulator documents (total = amount x rate and fee = total x 0.1 %, each
rounded half-up to 8 decimals). ccxt parses JSON numbers to float, so numbers are compared as floats
of the expected Decimal.
"""

import csv
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

import ccxt
import pytest
import requests

FEE = Decimal("0.001")
E8 = Decimal("0.00000001")
KEY, SECRET = "cs-key-1", "cs-secret-1"


def q(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(E8, rounding=rounding)


def f(value: Decimal) -> float:
    """What ccxt's json.loads makes of the number the simulator writes for ``value``."""
    return float(value)


def _latest_close(data_dir, symbol: str) -> str:
    """The price text of the last row of the symbol's CoinGecko CSV whose series ends latest."""
    best: tuple[str, int, str] | None = None
    for path in sorted((data_dir / "prices-coingecko-daily-csv").glob(f"{symbol}-usd-*.csv")):
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        candidate = (rows[-1]["snapped_at"], len(rows), rows[-1]["price"])
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    assert best is not None
    return best[2]


@pytest.fixture
def venue(replay):
    """The session's replay node with the Coinspot simulator reset before and after the test."""
    replay.coinspot.reset()
    yield replay
    replay.coinspot.reset()


def control(node, name: str, body=None, verb: str = "POST") -> requests.Response:
    return requests.request(verb, f"{node.url}/_replay/coinspot/{name}", json=body, timeout=10)


def account(node, balances: dict[str, str], key: str = KEY, secret: str = SECRET, readonly: bool = False) -> None:
    response = control(node, "accounts", {"key": key, "secret": secret, "balances": balances, "readonly": readonly})
    assert response.status_code == 200, response.text


def client(node, key: str = KEY, secret: str = SECRET, timeout_ms: int = 5000) -> ccxt.coinspot:
    exchange = ccxt.coinspot({"apiKey": key, "secret": secret, "timeout": timeout_ms, "enableRateLimit": False})
    exchange.urls["api"] = {"public": node.url + "/coinspot/pubapi", "private": node.url + "/coinspot/api"}
    return exchange


def balances(exchange) -> dict[str, dict]:
    response = exchange.v2PrivatePostRoMyBalances()
    assert response["status"] == "ok"
    return {coin: entry for item in response["balances"] for coin, entry in item.items()}


def error_of(exc: ccxt.ExchangeError) -> dict:
    """The venue's JSON answer carried by a ccxt ExchangeError (``"coinspot {...}"``)."""
    return json.loads(str(exc).split(" ", 1)[1])


def buy_now(exchange, amount: str, amounttype: str = "coin", coin: str = "BTC") -> dict:
    return exchange.v2PrivatePostMyBuyNow(
        {"cointype": coin, "amounttype": amounttype, "amount": amount, "markettype": "USDT"})


# --- prices ---------------------------------------------------------------------------------------
def test_default_prices_are_the_latest_recorded_coingecko_close_with_no_spread(venue, replay_data_dir):
    btc, eth = _latest_close(replay_data_dir, "btc"), _latest_close(replay_data_dir, "eth")
    exchange = client(venue)
    assert exchange.v2PublicGetLatest() == {"status": "ok", "message": "ok", "prices": {
        "btc_usdt": {"bid": btc, "ask": btc, "last": btc}, "eth_usdt": {"bid": eth, "ask": eth, "last": eth}}}
    single = {"status": "ok", "message": "ok", "prices": {"bid": btc, "ask": btc, "last": btc}}
    assert exchange.v2PublicGetLatestCointype({"cointype": "btc"}) == single
    assert exchange.v2PublicGetLatestCointypeMarkettype({"cointype": "btc", "markettype": "usdt"}) == single
    assert exchange.v2PublicGetBuypriceCointype({"cointype": "eth"}) == {
        "status": "ok", "message": "ok", "rate": float(eth), "market": "ETH/USDT"}


def test_prices_control_moves_the_public_prices_and_unknown_coins_or_markets_are_refused(venue):
    assert control(venue, "prices", {"btc": {"bid": "60000", "ask": "60100.5", "last": "60050"}}).status_code == 200
    exchange = client(venue)
    assert exchange.v2PublicGetSellpriceCointype({"cointype": "BTC"})["rate"] == 60000
    assert exchange.v2PublicGetBuypriceCointype({"cointype": "BTC"})["rate"] == 60100.5
    with pytest.raises(ccxt.ExchangeError) as coin:
        exchange.v2PublicGetLatestCointype({"cointype": "doge"})
    assert error_of(coin.value) == {"status": "error", "message": "Coin not found"}
    with pytest.raises(ccxt.ExchangeError) as market:
        exchange.v2PublicGetLatestCointypeMarkettype({"cointype": "btc", "markettype": "aud"})
    assert error_of(market.value) == {"status": "error", "message": "Market not found"}


# --- auth -----------------------------------------------------------------------------------------
def test_a_bad_signature_or_unknown_key_is_refused_and_changes_nothing(venue):
    account(venue, {"USDT": "10000"})
    for exchange, message in ((client(venue, secret="wrong"), "Invalid signature"),
                              (client(venue, key="nobody"), "Invalid API key")):
        with pytest.raises(ccxt.ExchangeError) as refused:
            buy_now(exchange, "0.01")
        assert error_of(refused.value) == {"status": "error", "message": message}
    assert balances(client(venue)) == {"USDT": {"balance": 10000, "audbalance": 10000, "rate": 1}}
    assert venue.coinspot.state()["accounts"][KEY]["completed"] == []


def _signed_post(node, endpoint: str, params: dict, key: str = KEY, secret: str = SECRET) -> requests.Response:
    body = json.dumps(params).encode()
    sign = hmac.new(secret.encode(), body, hashlib.sha512).hexdigest()
    return requests.post(f"{node.url}/coinspot/api/v2/{endpoint}", data=body, timeout=10,
                         headers={"Content-Type": "application/json", "key": key, "sign": sign})


def test_a_nonce_not_above_the_last_accepted_is_refused(venue):
    account(venue, {"USDT": "10000"})
    first = _signed_post(venue, "ro/my/balances", {"nonce": 1000})
    assert first.status_code == 200 and first.json()["status"] == "ok"
    for nonce in (1000, 999):  # a replayed request, then an older nonce
        refused = _signed_post(venue, "ro/my/balances", {"nonce": nonce})
        assert (refused.status_code, refused.json()) == (400, {"status": "error", "message": "Invalid nonce"})
    assert _signed_post(venue, "ro/my/balances", {"nonce": 1001}).status_code == 200
    exchange = client(venue)
    exchange.v2PrivatePostRoStatus()  # ccxt's millisecond nonce is far above 1001
    exchange.nonce = lambda: 5  # a client whose counter went backwards
    exchange.options["lastNonce"] = 0
    with pytest.raises(ccxt.ExchangeError) as stale:
        exchange.v2PrivatePostRoStatus()
    assert error_of(stale.value) == {"status": "error", "message": "Invalid nonce"}


def test_a_read_only_key_reads_but_cannot_trade(venue):
    account(venue, {"USDT": "500", "BTC": "0.5"}, readonly=True)
    exchange = client(venue)
    assert exchange.v2PrivatePostRoStatus() == {"status": "ok", "message": "ok"}
    assert balances(exchange)["USDT"] == {"balance": 500, "audbalance": 500, "rate": 1}
    for call in (lambda: buy_now(exchange, "0.001"), exchange.v2PrivatePostStatus,
                 lambda: exchange.v2PrivatePostMySell({"cointype": "BTC", "amount": "0.1", "rate": "90000"})):
        with pytest.raises(ccxt.ExchangeError) as refused:
            call()
        assert error_of(refused.value) == {"status": "error", "message": "This API key is read only"}
    assert venue.coinspot.state()["accounts"][KEY]["balances"] == {"USDT": "500", "BTC": "0.5"}


# --- buy now / sell now ----------------------------------------------------------------------------
def test_buy_now_fills_at_the_ask_and_debits_amount_times_ask_plus_fee(venue, replay_data_dir):
    ask = Decimal(_latest_close(replay_data_dir, "btc"))
    account(venue, {"USDT": "10000"})
    exchange = client(venue)
    total = q(Decimal("0.1") * ask)
    fee = q(total * FEE)
    assert buy_now(exchange, "0.1") == {
        "status": "ok", "message": "ok", "coin": "BTC", "market": "BTC/USDT", "amount": 0.1, "total": f(total)}
    usdt = Decimal("10000") - total - fee
    assert balances(exchange) == {
        "BTC": {"balance": 0.1, "audbalance": f(q(Decimal("0.1") * ask)), "rate": f(ask)},
        "USDT": {"balance": f(usdt), "audbalance": f(usdt), "rate": 1}}
    [entry] = exchange.v2PrivatePostRoMyOrdersCompleted()["buyorders"]
    gst = q(fee / 11)
    assert {k: entry[k] for k in ("coin", "market", "type", "amount", "rate", "total", "audfeeExGst", "audGst",
                                  "audtotal")} == {
        "coin": "BTC", "market": "BTC/USDT", "type": "instant", "amount": 0.1, "rate": f(ask), "total": f(total),
        "audfeeExGst": f(fee - gst), "audGst": f(gst), "audtotal": f(total + fee)}


def test_buy_now_by_quote_amount_buys_amount_over_ask_rounded_down(venue):
    control(venue, "prices", {"eth": {"bid": "2999", "ask": "3001", "last": "3000"}})
    account(venue, {"USDT": "1000"})
    exchange = client(venue)
    coins = q(Decimal("250") / Decimal("3001"), ROUND_DOWN)
    assert buy_now(exchange, "250", amounttype="usdt", coin="ETH") == {
        "status": "ok", "message": "ok", "coin": "ETH", "market": "ETH/USDT", "amount": f(coins), "total": 250}
    assert balances(exchange)["USDT"]["balance"] == f(Decimal("1000") - 250 - q(250 * FEE))


def test_sell_now_fills_at_the_bid_and_credits_total_less_fee(venue):
    control(venue, "prices", {"btc": {"bid": "60000", "ask": "60100", "last": "60050"}})
    account(venue, {"BTC": "1", "USDT": "0"})
    exchange = client(venue)
    answer = exchange.v2PrivatePostMySellNow({"cointype": "btc", "amounttype": "coin", "amount": "0.25"})
    assert answer == {"status": "ok", "message": "ok", "coin": "BTC", "market": "BTC/USDT", "amount": 0.25,
                      "total": 15000, "rate": 60000}
    assert balances(exchange) == {"BTC": {"balance": 0.75, "audbalance": 45037.5, "rate": 60050},
                                  "USDT": {"balance": 14985, "audbalance": 14985, "rate": 1}}


def test_insufficient_balance_is_refused_and_changes_nothing(venue):
    control(venue, "prices", {"btc": {"bid": "60000", "ask": "60000", "last": "60000"}})
    account(venue, {"USDT": "600", "BTC": "0.001"})
    exchange = client(venue)
    calls = (lambda: buy_now(exchange, "0.01"),  # 600 + 0.6 fee > 600
             lambda: exchange.v2PrivatePostMySellNow({"cointype": "BTC", "amounttype": "coin", "amount": "0.002"}),
             lambda: exchange.v2PrivatePostMyBuy({"cointype": "BTC", "amount": "0.01", "rate": "59990"}))  # 600.4999
    for call in calls:
        with pytest.raises(ccxt.ExchangeError) as refused:
            call()
        assert error_of(refused.value) == {"status": "error", "message": "Insufficient funds"}
    state = venue.coinspot.state()["accounts"][KEY]
    assert (state["balances"], state["open_orders"], state["completed"]) == ({"USDT": "600", "BTC": "0.001"}, [], [])


# --- market orders (my/buy, my/sell) -------------------------------------------------------------------
def test_a_market_order_rests_holds_funds_and_fills_at_its_rate_when_the_price_crosses(venue):
    control(venue, "prices", {"btc": {"bid": "84000", "ask": "84100", "last": "84050"}})
    account(venue, {"USDT": "10000"})
    exchange = client(venue)
    placed = exchange.v2PrivatePostMyBuy({"cointype": "BTC", "amount": "0.01", "rate": "80000", "markettype": "USDT"})
    order_id = placed["id"]
    assert placed == {"status": "ok", "message": "ok", "coin": "BTC", "market": "BTC/USDT", "amount": 0.01,
                      "rate": 80000, "id": order_id}
    [open_order] = exchange.v2PrivatePostRoMyOrdersMarketOpen()["buyorders"]
    assert {k: v for k, v in open_order.items() if k != "created"} == {
        "id": order_id, "coin": "BTC", "market": "BTC/USDT", "amount": 0.01, "rate": 80000, "total": 800}
    assert exchange.v2PrivatePostRoMyOrdersLimitOpen() == {
        "status": "ok", "message": "ok", "buyorders": [], "sellorders": []}
    held = exchange.v2PrivatePostRoMyBalanceCointype({"cointype": "USDT", "available": "yes"})
    assert held["balance"]["USDT"] == {"balance": 10000, "audbalance": 10000, "rate": 1, "available": 9199.2}

    moved = control(venue, "prices", {"btc": {"ask": "79999"}}).json()
    assert moved["filled"] == [order_id]
    assert exchange.v2PrivatePostRoMyOrdersMarketOpen()["buyorders"] == []
    [done] = exchange.v2PrivatePostRoMyOrdersMarketCompleted()["buyorders"]
    assert (done["id"], done["created"], done["rate"], done["amount"], done["total"], done["audtotal"]) == (
        order_id, open_order["created"], 80000, 0.01, 800, 800.8)
    assert balances(exchange)["USDT"]["balance"] == f(Decimal("10000") - 800 - Decimal("0.8"))


def test_a_market_order_that_crosses_when_placed_fills_at_once(venue):
    control(venue, "prices", {"btc": {"bid": "70000", "ask": "70100", "last": "70050"}})
    account(venue, {"BTC": "0.5"})
    exchange = client(venue)
    order_id = exchange.v2PrivatePostMySell({"cointype": "BTC", "amount": "0.5", "rate": "69000"})["id"]
    [done] = exchange.v2PrivatePostRoMyOrdersCompleted()["sellorders"]
    assert (done["id"], done["rate"], done["total"], done["audtotal"]) == (order_id, 69000, 34500, 34465.5)
    assert balances(exchange)["USDT"]["balance"] == 34465.5


def test_cancel_removes_an_open_order_and_releases_its_funds(venue):
    account(venue, {"BTC": "1"})
    exchange = client(venue)
    order_id = exchange.v2PrivatePostMySell({"cointype": "BTC", "amount": "0.4", "rate": "999999"})["id"]
    held = exchange.v2PrivatePostRoMyBalanceCointype({"cointype": "btc", "available": "yes"})["balance"]["BTC"]
    assert (held["balance"], held["available"]) == (1, 0.6)
    with pytest.raises(ccxt.ExchangeError) as wrong_side:
        exchange.v2PrivatePostMyBuyCancel({"id": order_id})
    assert error_of(wrong_side.value)["message"] == "Order not found"
    assert exchange.v2PrivatePostMySellCancel({"id": order_id}) == {"status": "ok", "message": "ok"}
    assert exchange.v2PrivatePostRoMyOrdersMarketOpen()["sellorders"] == []
    released = exchange.v2PrivatePostRoMyBalanceCointype({"cointype": "btc", "available": "yes"})["balance"]["BTC"]
    assert (released["balance"], released["available"]) == (1, 1)
    control(venue, "prices", {"btc": {"bid": "1000000"}})  # a cancelled order never fills
    assert exchange.v2PrivatePostRoMyOrdersCompleted()["sellorders"] == []
    with pytest.raises(ccxt.ExchangeError):
        exchange.v2PrivatePostMySellCancel({"id": order_id})


def test_completed_orders_filter_on_startdate_enddate_and_limit(venue):
    control(venue, "prices", {"eth": {"bid": "2000", "ask": "2000", "last": "2000"}})
    account(venue, {"USDT": "10000"})
    exchange = client(venue)
    buy_now(exchange, "0.1", coin="ETH")
    time.sleep(0.02)
    between = datetime.now(UTC)
    time.sleep(0.02)
    buy_now(exchange, "0.2", coin="ETH")

    def amounts(**window) -> list[float]:
        return [o["amount"] for o in exchange.v2PrivatePostRoMyOrdersCompleted(window)["buyorders"]]

    today = between.strftime("%Y-%m-%d")
    tomorrow = (between + timedelta(days=1)).strftime("%Y-%m-%d")
    assert amounts() == [0.2, 0.1]  # newest first
    assert amounts(startdate=between.isoformat()) == [0.2]
    assert amounts(enddate=between.isoformat()) == [0.1]
    assert amounts(startdate=today, enddate=today) == [0.2, 0.1]
    assert amounts(startdate=int(between.timestamp() * 1000)) == [0.2]
    assert amounts(startdate=tomorrow) == []
    assert amounts(limit=1) == [0.2]
    assert amounts(cointype="BTC") == []


# --- faults ---------------------------------------------------------------------------------------
def test_accept_then_timeout_applies_the_order_and_the_client_times_out(venue):
    control(venue, "prices", {"btc": {"bid": "50000", "ask": "50000", "last": "50000"}})
    account(venue, {"USDT": "1000"})
    control(venue, "faults", [{"kind": "accept_then_timeout", "times": 1, "delay_s": 1.5}])
    impatient = client(venue, timeout_ms=400)
    with pytest.raises(ccxt.RequestTimeout):
        buy_now(impatient, "0.01")
    exchange = client(venue)
    [done] = exchange.v2PrivatePostRoMyOrdersCompleted()["buyorders"]  # the reconciliation a client would do
    assert (done["amount"], done["total"]) == (0.01, 500)
    assert balances(exchange)["USDT"]["balance"] == 499.5


def test_accept_then_timeout_without_delay_closes_the_connection_after_applying(venue):
    account(venue, {"BTC": "1"})
    control(venue, "faults", [{"kind": "accept_then_timeout", "path": "my/sell"}])
    exchange = client(venue)
    with pytest.raises(ccxt.NetworkError) as dropped:
        exchange.v2PrivatePostMySell({"cointype": "BTC", "amount": "0.1", "rate": "999999"})
    assert not isinstance(dropped.value, ccxt.RequestTimeout)
    [open_order] = client(venue).v2PrivatePostRoMyOrdersMarketOpen()["sellorders"]
    assert (open_order["amount"], open_order["rate"]) == (0.1, 999999)


def test_reject_answers_the_given_message_and_applies_nothing(venue):
    account(venue, {"USDT": "1000"})
    control(venue, "faults", [{"kind": "reject", "times": 1, "message": "Market is closed", "path": "my/buy/now"}])
    exchange = client(venue)
    exchange.v2PrivatePostRoStatus()  # another endpoint: not hit
    with pytest.raises(ccxt.ExchangeError) as rejected:
        buy_now(exchange, "0.001")
    assert error_of(rejected.value) == {"status": "error", "message": "Market is closed"}
    assert exchange.v2PrivatePostRoMyOrdersCompleted()["buyorders"] == []
    assert buy_now(exchange, "0.001")["status"] == "ok"  # times=1: used up


def test_partial_fill_fills_only_the_fraction_when_the_order_crosses(venue):
    control(venue, "prices", {"btc": {"bid": "90000", "ask": "90000", "last": "90000"}})
    account(venue, {"USDT": "10000"})
    control(venue, "faults", [{"kind": "partial_fill", "fraction": "0.25"}])
    exchange = client(venue)
    order_id = exchange.v2PrivatePostMyBuy({"cointype": "BTC", "amount": "0.04", "rate": "80000"})["id"]
    assert control(venue, "prices", {"btc": {"ask": "80000"}}).json()["filled"] == [order_id]
    [rest] = exchange.v2PrivatePostRoMyOrdersMarketOpen()["buyorders"]
    assert (rest["id"], rest["amount"], rest["total"]) == (order_id, 0.03, 2400)
    [part] = exchange.v2PrivatePostRoMyOrdersCompleted()["buyorders"]
    assert (part["id"], part["amount"], part["total"], part["audtotal"]) == (order_id, 0.01, 800, 800.8)
    control(venue, "prices", {"btc": {"ask": "79000"}})  # the fault is used up: the rest fills
    assert exchange.v2PrivatePostRoMyOrdersMarketOpen()["buyorders"] == []
    assert [o["amount"] for o in exchange.v2PrivatePostRoMyOrdersCompleted()["buyorders"]] == [0.03, 0.01]
    assert balances(exchange)["USDT"]["balance"] == f(Decimal("10000") - Decimal("3200") - Decimal("3.2"))


def test_rate_limit_answers_429_before_auth_then_serves(venue):
    account(venue, {"USDT": "1000"})
    control(venue, "faults", [{"kind": "rate_limit", "times": 2}])
    response = _signed_post(venue, "ro/my/balances", {"nonce": 7})
    assert (response.status_code, response.headers["Retry-After"]) == (429, "0")
    exchange = client(venue)
    with pytest.raises(ccxt.RateLimitExceeded):
        exchange.v2PublicGetLatest()
    assert _signed_post(venue, "ro/my/balances", {"nonce": 7}).status_code == 200  # the 429 used no nonce


def test_drop_connection_closes_without_answer_and_applies_nothing(venue):
    account(venue, {"USDT": "1000"})
    control(venue, "faults", [{"kind": "drop_connection", "path": "/coinspot/api/v2/my/buy/now"}])
    exchange = client(venue)
    assert balances(exchange)["USDT"]["balance"] == 1000  # another endpoint: not dropped
    with pytest.raises(ccxt.NetworkError) as dropped:
        buy_now(exchange, "0.001")
    assert not isinstance(dropped.value, ccxt.RequestTimeout)
    assert exchange.v2PrivatePostRoMyOrdersCompleted()["buyorders"] == []
    assert control(venue, "faults", verb="GET").json() == []


def test_faults_are_listed_validated_and_cleared(venue):
    added = control(venue, "faults", [{"kind": "reject", "times": 2}, {"kind": "partial_fill", "fraction": 0.5}])
    assert added.json() == {"added": 2}
    assert [(x["kind"], x["remaining"]) for x in control(venue, "faults", verb="GET").json()] == [
        ("reject", 2), ("partial_fill", 1)]
    for bad in ({"kind": "explode"}, {"kind": "partial_fill", "fraction": 1}, {"kind": "reject", "times": 0},
                {"kind": "reject", "delay_s": 1}):
        assert control(venue, "faults", [bad]).status_code == 400
    assert len(control(venue, "faults", verb="GET").json()) == 2
    assert control(venue, "faults", verb="DELETE").json() == {"cleared": True}
    assert control(venue, "faults", verb="GET").json() == []


# --- control --------------------------------------------------------------------------------------
def test_accounts_control_is_idempotent_and_state_reset_restores_defaults(venue, replay_data_dir):
    account(venue, {"USDT": "100"})
    buy_now(client(venue), "0.0001", coin="ETH")
    account(venue, {"USDT": "100"})  # the same key again: fresh balances, no history, nonce forgotten
    state = venue.coinspot.state()["accounts"][KEY]
    assert (state["balances"], state["completed"], state["last_nonce"]) == ({"USDT": "100"}, [], None)
    control(venue, "prices", {"btc": {"bid": "1", "ask": "1", "last": "1"}})
    assert control(venue, "state", verb="DELETE").json() == {"reset": True}
    btc = _latest_close(replay_data_dir, "btc")
    after = control(venue, "state", verb="GET").json()
    assert (after["accounts"], after["prices"]["btc"], after["fee_rate"]) == (
        {}, {"bid": btc, "ask": btc, "last": btc}, "0.001")
