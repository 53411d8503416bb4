"""CoinGeckoClient against the ledgers.replay node (real sockets; recorded CoinGecko answers)."""

import json
import socket
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.conf import settings

from ledgers.exchange.market.client import CoinGeckoClient, PriceSourceError, PriceSourceUnavailable, _chart_point
from tests.ledgers.exchange.market.factories import BTC_LONG_CSV, ETH_CSV, csv_prices

CASSETTES = Path(settings.REPLAY_DATA_DIR) / "rotki-test-caching-cassettes"
SIMPLE_PRICE = "/coingecko/api/v3/simple/price"


def recorded_simple_prices() -> list[tuple[list[str], str, dict[str, Decimal]]]:
    """Every recorded ``simple/price`` call in the rotki cassettes: (ids, vs_currency, prices in the body)."""
    found = []
    for path in sorted(CASSETTES.rglob("*.yaml")):
        for item in yaml.safe_load(path.read_text())["interactions"]:
            url = urlsplit(item["request"]["uri"])
            if url.hostname == "api.coingecko.com" and url.path.rstrip("/").endswith("/simple/price"):
                query = parse_qs(url.query)
                (vs_currency,) = query["vs_currencies"]
                body = json.loads(item["response"]["body"]["string"], parse_float=Decimal)
                found.append((query["ids"][0].split(","), vs_currency,
                              {coin: quotes[vs_currency] for coin, quotes in body.items()}))
    return found


RECORDED = recorded_simple_prices()


@pytest.fixture
def client(replay):
    replay.stats.reset()
    client = CoinGeckoClient(replay.coingecko_url, timeout_s=5, retries=3, backoff_factor_s=0.01)
    yield client
    client.close()


def requests_to(replay, path: str) -> int:
    return replay.stats.snapshot()["paths"].get(path, 0)


def test_the_cassettes_hold_three_simple_price_calls():
    assert [(ids, vs) for ids, vs, _ in RECORDED] == [
        (["bitcoin", "dai", "binancecoin"], "eth"), (["usd-coin"], "eur"), (["hyperliquid"], "eur")]


@pytest.mark.parametrize(("ids", "vs_currency", "expected"), RECORDED, ids=[",".join(r[0]) for r in RECORDED])
def test_simple_price_returns_the_recorded_prices_exactly(client, ids, vs_currency, expected):
    prices = client.simple_price(ids=ids, vs_currency=vs_currency)

    assert prices == expected
    assert all(type(p) is Decimal for p in prices.values())


def test_simple_price_keeps_every_printed_digit(client):
    prices = client.simple_price(ids=["bitcoin", "dai", "binancecoin"], vs_currency="eth")
    # body: {"binancecoin":{"eth":0.21387074},"bitcoin":{"eth":31.906046},"dai":{"eth":0.0003068}}
    assert {k: str(v) for k, v in prices.items()} == {
        "binancecoin": "0.21387074", "bitcoin": "31.906046", "dai": "0.0003068"}


def test_simple_price_of_no_ids_makes_no_request(client, replay):
    assert client.simple_price(ids=[]) == {}
    assert replay.stats.snapshot()["paths"] == {}


@pytest.mark.parametrize(("coin_id", "path", "days"), [("ethereum", ETH_CSV, 30), ("bitcoin", BTC_LONG_CSV, 7)])
def test_market_chart_returns_the_csv_rows_of_the_last_days(client, coin_id, path, days):
    rows = csv_prices(path)
    last = max(rows)
    expected = sorted((day, price) for day, price in rows.items() if day >= last - timedelta(days=days))

    chart = client.market_chart(coin_id=coin_id, days=days)

    assert chart == expected
    assert len(chart) == days + 1
    assert chart[-1] == (last, rows[last])
    assert all(t.tzinfo is UTC for t, _ in chart)


def test_market_chart_eth_last_day_is_exact(client):
    chart = client.market_chart(coin_id="ethereum", days=1)
    assert chart == [(datetime(2025, 6, 4, tzinfo=UTC), Decimal("2595.4689570062997")),
                     (datetime(2025, 6, 5, tzinfo=UTC), Decimal("2610.343189828259"))]
    assert (chart[-1].timestamp, chart[-1].price_usd) == (datetime(2025, 6, 5, tzinfo=UTC),
                                                          Decimal("2610.343189828259"))


def test_a_429_is_retried_then_the_answer_returned(client, replay):
    replay.faults.add(SIMPLE_PRICE, status=429, times=2)
    ids, vs_currency, expected = RECORDED[0]

    assert client.simple_price(ids=ids, vs_currency=vs_currency) == expected
    assert requests_to(replay, SIMPLE_PRICE) == 3


def test_a_503_that_outlasts_the_retries_is_unavailable(client, replay):
    replay.faults.add("/coingecko/api/v3/coins/ethereum", status=503)

    with pytest.raises(PriceSourceUnavailable, match="HTTP 503 after retries"):
        client.market_chart(coin_id="ethereum", days=2)
    assert requests_to(replay, "/coingecko/api/v3/coins/ethereum/market_chart") == 1 + 3


def test_a_404_is_a_terminal_error_and_not_retried(client, replay):
    with pytest.raises(PriceSourceError, match="HTTP 404"):
        client.market_chart(coin_id="no-such-coin", days=2)
    assert requests_to(replay, "/coingecko/api/v3/coins/no-such-coin/market_chart") == 1


def test_a_400_is_a_terminal_error(client):
    with pytest.raises(PriceSourceError, match="HTTP 400"):
        client.market_chart(coin_id="ethereum", days=2, vs_currency="eur")  # the CSVs are USD only


@pytest.mark.parametrize("call", [
    lambda c: c.simple_price(ids=["bitcoin", "dai", "binancecoin"], vs_currency="eth"),
    lambda c: c.market_chart(coin_id="ethereum", days=3),
], ids=["simple_price", "market_chart"])
def test_a_malformed_body_is_a_terminal_error(client, replay, call):
    replay.faults.add("/coingecko/api/v3/", malformed=True, times=1)

    with pytest.raises(PriceSourceError, match="body is not JSON"):
        call(client)


@pytest.mark.parametrize(("point", "parsed"), [
    ([1717545600000, Decimal("3800.5")], (datetime(2024, 6, 5, tzinfo=UTC), Decimal("3800.5"))),
    ([1717545600000, 3800], (datetime(2024, 6, 5, tzinfo=UTC), Decimal(3800))),
    ([1717545600000, None], None),  # CoinGecko sends null for a missing value
    ([1717545600000, float("nan")], None),
    ([1717545600000, True], None),
    ([1717545600000, Decimal("-1")], None),
    ([1717545600000], None),
    ("1717545600000,3800", None),
])
def test_chart_points_that_are_not_ms_and_a_number_are_rejected(point, parsed):
    assert _chart_point(point) == parsed


def test_a_slow_answer_times_out_as_unavailable(replay):
    replay.stats.reset()
    replay.faults.add(SIMPLE_PRICE, delay_s=0.5, times=2)
    client = CoinGeckoClient(replay.coingecko_url, timeout_s=0.1, retries=1, backoff_factor_s=0)

    with pytest.raises(PriceSourceUnavailable):
        client.simple_price(ids=["usd-coin"], vs_currency="eur")
    assert requests_to(replay, SIMPLE_PRICE) == 2


def test_a_refused_connection_is_unavailable():
    with socket.socket() as sock:  # a loopback port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = CoinGeckoClient(f"http://127.0.0.1:{port}/api/v3", timeout_s=1, retries=1, backoff_factor_s=0)

    with pytest.raises(PriceSourceUnavailable, match="ConnectionError"):
        client.simple_price(ids=["bitcoin"])


def test_from_settings_uses_the_coingecko_settings(settings):
    settings.COINGECKO_API_URL = "http://127.0.0.1:9/api/v3/"
    settings.COINGECKO_API_KEY = "demo-key"
    settings.COINGECKO_TIMEOUT_S = 7.5

    client = CoinGeckoClient.from_settings()

    assert (client.base_url, client.timeout_s) == ("http://127.0.0.1:9/api/v3", 7.5)
    assert client.session.headers["x-cg-demo-api-key"] == "demo-key"
    assert "x-cg-demo-api-key" not in CoinGeckoClient("http://127.0.0.1:9").session.headers
