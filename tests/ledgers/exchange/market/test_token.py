"""``GET /api/v1/tokens/{symbol}`` and ``/tokens/{symbol}/``: the recorded CoinGecko ETH series (its last 30 days,
values from the CSV text), a whale move in WETH (ETH's) beside one in BTC (not ETH's), a catalyst and mood
readings of ETH, and the newest smart-money flows."""

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.core.management import call_command

from tests.ledgers.exchange.market.factories import ETH_CSV, csv_prices
from tests.whales.factories import TradeFactory, WhaleEventFactory, WhaleFactory
from whales.context import CatalystItem, MoodItem, catalysts_upsert, moods_upsert
from whales.models import SmartMoneyFlow

pytestmark = pytest.mark.django_db
D = Decimal
LAST_DAY = max(csv_prices(ETH_CSV))  # 2025-06-05 00:00 UTC: the recording's last ETH price


@pytest.fixture
def eth_world():
    call_command("import_prices", verbosity=0)
    whale = WhaleFactory(name="ETH whale")
    weth = TradeFactory(whale=whale, base_asset="WETH", block_time=LAST_DAY - timedelta(days=3),
                        tx_hash="0x" + "1" * 64,
                        value_usd=D("5200000.00"))
    btc = TradeFactory(whale=whale, base_asset="BTC", block_time=LAST_DAY - timedelta(days=2), tx_hash="0x" + "2" * 64)
    moved = WhaleEventFactory(whale=whale, chain=weth.chain, tx_hash=weth.tx_hash, log_index=weth.log_index,
                              block_time=weth.block_time, value_usd=D("5200000.00"),
                              summary="ETH whale sent 2,000 WETH")
    WhaleEventFactory(whale=whale, chain=btc.chain, tx_hash=btc.tx_hash, log_index=btc.log_index,
                      block_time=btc.block_time, summary="not ETH")
    catalysts_upsert(source="test", items=[CatalystItem(
        source_ref="eth-etf", type="listing", title="ETH staking ETF listed", url="https://x.test/etf",
        occurred_at=LAST_DAY - timedelta(days=1, hours=6), impact_score=70, coins=["ETH"])])
    moods_upsert(source="test", items=[
        MoodItem("p1", ["ETH"], LAST_DAY - timedelta(days=4, hours=1), D("0.5000"), D("2")),
        MoodItem("p2", ["ETH"], LAST_DAY - timedelta(days=4, hours=2), D("-0.2000"), D("1")),
        MoodItem("p3", ["ETH"], LAST_DAY - timedelta(days=1, hours=3), D("0.1000"), D("1")),
    ])
    SmartMoneyFlow.objects.create(token="ETH", window="24h", net_flow_usd=D("-1500.50"), bought_usd=D("100"),
                                  sold_usd=D("1600.50"), buying_wallets=1, selling_wallets=3, min_score=D("60"),
                                  collected_at=LAST_DAY)
    return moved


def test_the_token_api_puts_price_moves_catalysts_mood_and_flows_on_one_window(api_client, eth_world):
    answer = api_client.get("/api/v1/tokens/eth?days=30")  # any case
    assert answer.status_code == 200, answer.content
    body = answer.json()
    until = LAST_DAY + timedelta(seconds=1)  # the newest data is the last price (the moves are older)
    since = until - timedelta(days=30)
    assert (body["symbol"], body["name"], body["days"]) == ("ETH", "Ether", 30)
    assert (body["since"], body["until"]) == (since.isoformat().replace("+00:00", "Z"),
                                              until.isoformat().replace("+00:00", "Z"))
    recorded = sorted((day, price) for day, price in csv_prices(ETH_CSV).items() if since <= day < until)
    assert len(recorded) == 30
    assert [(p["at"], D(p["price_usd"])) for p in body["prices"]] == [
        (day.isoformat().replace("+00:00", "Z"), price) for day, price in recorded]
    first, last = recorded[0][1], recorded[-1][1]
    assert body["price"] == {"latest_usd": str(body["prices"][-1]["price_usd"]), "at": "2025-06-05T00:00:00Z",
                             "change_percent": str(((last - first) / first * 100).quantize(D("0.01"), ROUND_HALF_EVEN))}
    assert [(e["id"], e["summary"], e["value_usd"]) for e in body["events"]] == [
        (eth_world.pk, "ETH whale sent 2,000 WETH", "5200000.00000000")]  # as events/recent renders it
    assert [(c["title"], c["impact_score"]) for c in body["catalysts"]] == [("ETH staking ETF listed", 70)]
    day4, day1 = (LAST_DAY - timedelta(days=5)).date(), (LAST_DAY - timedelta(days=2)).date()
    assert body["sentiment"]["daily"] == [
        {"day": day4.isoformat(), "posts": 2, "weighted_compound": str(((D("0.5") * 2 - D("0.2")) / 3).quantize(
            D("0.0001"), ROUND_HALF_EVEN))},
        {"day": day1.isoformat(), "posts": 1, "weighted_compound": "0.1000"}]
    assert (body["sentiment"]["window"]["posts"], body["sentiment"]["window"]["bullish"]) == (3, 2)
    assert body["flows"] == [{"window": "24h", "net_flow_usd": "-1500.50000000", "bought_usd": "100.00000000",
                              "sold_usd": "1600.50000000", "buying_wallets": 1, "selling_wallets": 3,
                              "collected_at": "2025-06-05T00:00:00Z"}]


def test_an_explicit_until_and_a_short_window_narrow_every_list(api_client, eth_world):
    body = api_client.get("/api/v1/tokens/ETH?days=2&until=2025-06-05T00:00:00Z").json()
    assert [p["at"] for p in body["prices"]] == ["2025-06-03T00:00:00Z", "2025-06-04T00:00:00Z"]
    assert body["events"] == [] and body["sentiment"]["daily"][0]["posts"] == 1
    assert [c["title"] for c in body["catalysts"]] == ["ETH staking ETF listed"]


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/api/v1/tokens/NOPE", 404, "not_found"),
    ("/api/v1/tokens/ETH?days=0", 400, "invalid_parameter"),
    ("/api/v1/tokens/ETH?days=366", 400, "invalid_parameter"),
    ("/api/v1/tokens/ETH?until=soon", 400, "invalid_parameter"),
    (f"/api/v1/tokens/{'X' * 31}", 400, "invalid_parameter"),
])
def test_bad_requests_are_refused_clearly(api_client, path, status, code):
    answer = api_client.get(path)
    assert answer.status_code == status
    assert answer.json()["code"] == code and answer.json()["detail"]


def test_the_token_page_renders_the_same_window_and_is_404_for_an_unknown_coin(client, eth_world):
    page = client.get("/tokens/ETH/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("<tr data-event-id=") == 1 and f'data-event-id="{eth_world.pk}"' in html
    assert html.count("<tr data-catalyst-id=") == 1
    assert '<script id="token-data" type="application/json">' in html
    assert client.get("/tokens/NOPE/").status_code == 404


def test_a_token_with_no_data_ends_its_window_now(api_client):
    body = api_client.get("/api/v1/tokens/USDC?days=7").json()
    until = datetime.fromisoformat(body["until"].replace("Z", "+00:00"))
    assert abs((until - datetime.now(UTC)).total_seconds()) < 60
    assert (body["prices"], body["events"], body["catalysts"], body["flows"]) == ([], [], [], [])
