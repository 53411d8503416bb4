"""The whales API under /api/v1/ and the dashboard page (PostgreSQL, real URLs, APIClient)."""

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.throttling import AnonRateThrottle

from tests.api import assert_error
from tests.whales.factories import (
    EntityFactory,
    HoldingFactory,
    LabelFactory,
    TradeFactory,
    WalletMetricsFactory,
    WhaleEventFactory,
    WhaleFactory,
    WhaleLabelFactory,
)
from whales.api.pagination import cursor_encode
from whales.chains import Chain
from whales.models import EntityKind, EventType, TradeSource, WhaleType

pytestmark = pytest.mark.django_db

API = "/api/v1"
EVM_MIXED = "0xAbCdEf0123456789aBcDeF0123456789AbCdEf01"
EVM_LOWER = EVM_MIXED.lower()
BTC_BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_throttle(only_test_collector):
    """Empty throttle history (Redis cache); the registry holds only ``test.collector``."""
    cache.clear()
    yield
    cache.clear()


def ids(response) -> list[int]:
    return [item["id"] for item in response.json()["items"]]


# --- whales -----------------------------------------------------------------------------------


def test_whale_list_item_has_every_field_with_exact_values(api_client, user):
    entity = EntityFactory(slug="jump", name="Jump Trading", kind=EntityKind.MARKET_MAKER)
    whale = WhaleFactory(address=EVM_LOWER, name="Jump 1", entity=entity, type=WhaleType.TRADER,
                         last_active_at=T0)
    smart = LabelFactory(slug="smart-money", name="Smart money")
    WhaleLabelFactory(whale=whale, label=smart, source="etherscan")
    WhaleLabelFactory(whale=whale, label=smart, source="analyst", added_by=user)  # same label, 2nd source
    WhaleLabelFactory(whale=whale, label=LabelFactory(slug="fund", name="Fund"))
    WalletMetricsFactory(
        whale=whale, roi_percent=Decimal("123.4567"), portfolio_value_usd=Decimal("98765432.12345678"),
        realized_pnl_usd=Decimal("-1.5"), unrealized_pnl_usd=None, volume_30d_usd=Decimal("0.00000001"),
        trades_30d=42, win_rate_percent=Decimal("55.5"), computed_at=T0,
    )

    response = api_client.get(f"{API}/whales")

    assert response.status_code == 200
    assert response.json() == {"total": 1, "items": [{
        "id": whale.id,
        "chain": "ethereum",
        "address": EVM_LOWER,
        "name": "Jump 1",
        "entity": {"slug": "jump", "name": "Jump Trading", "kind": "market_maker"},
        "type": "trader",
        "labels": ["fund", "smart-money"],
        "is_tracked": True,
        "last_active_at": "2026-11-20T12:00:00Z",
        "explorer_url": f"https://etherscan.io/address/{EVM_LOWER}",
        "metrics": {
            "roi_percent": "123.4567", "roi_unavailable": "", "opening_value_usd": None, "opening_block_number": None,
            "portfolio_value_usd": "98765432.12345678",
            "realized_pnl_usd": "-1.50000000",
            "realized_pnl_method": "",
            "unrealized_pnl_usd": None,
            "volume_30d_usd": "0.00000001",
            "trades_30d": 42,
            "win_rate_percent": "55.5000",
            "closed_round_trips": 0,
            "unknown_cost_sells": 0,
            "computed_at": "2026-11-20T12:00:00Z",
        },
    }]}


def test_whale_without_entity_or_metrics_has_nulls(api_client):
    WhaleFactory()
    item = api_client.get(f"{API}/whales").json()["items"][0]
    assert (item["entity"], item["metrics"], item["labels"], item["last_active_at"]) == (None, None, [], None)


@pytest.mark.parametrize(("query", "expected"), [
    ("chain=bitcoin", ["btc"]),
    ("chain=ethereum", ["eth-old", "eth-new"]),
    ("type=trader", ["eth-new"]),
    ("min_roi=10", ["eth-new", "btc"]),
    ("min_roi=10.5", ["btc"]),
    ("min_roi=-100", ["eth-old", "eth-new", "btc"]),
    ("activity_window=24h", ["eth-new"]),
    ("activity_window=7d", ["eth-new", "btc"]),
    ("activity_window=30d", ["eth-new", "btc", "eth-old"]),
    ("label=smart-money", ["eth-new"]),
    ("label=nobody", []),
    ("entity=binance", ["btc"]),
    ("entity=BINANCE%20inc", ["btc"]),
    ("entity=jump", ["eth-new", "eth-old"]),
    ("search=bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", ["btc"]),
    ("search=BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ", ["btc"]),
    (f"search={EVM_MIXED}", ["eth-new"]),
    ("search=0x0000000000000000000000000000000000000bad", []),
    ("search=NEW", ["eth-new"]),
    ("search=smart%20MON", ["eth-new"]),
    ("search=binance", ["btc"]),
    ("search=eth", ["eth-old", "eth-new"]),
    ("is_tracked=false", ["eth-old"]),
    ("chain=ethereum&type=holder", ["eth-old"]),
])
def test_whale_list_filters(api_client, query, expected):
    now = timezone.now()
    jump = EntityFactory(slug="jump", name="Jump Trading")
    binance = EntityFactory(slug="binance", name="Binance Inc")
    new = WhaleFactory(name="eth-new", address=EVM_LOWER, entity=jump, type=WhaleType.TRADER,
                       last_active_at=now - timedelta(hours=1))
    old = WhaleFactory(name="eth-old", entity=jump, is_tracked=False, type=WhaleType.HOLDER,
                       last_active_at=now - timedelta(days=20))
    btc = WhaleFactory(name="btc", chain=Chain.BITCOIN, address=BTC_BECH32, entity=binance, type=WhaleType.HOLDER,
                       last_active_at=now - timedelta(days=3))
    WhaleFactory(name="ancient", chain=Chain.ARBITRUM, type=WhaleType.HOLDER_TRADER,
                 last_active_at=now - timedelta(days=40))
    WalletMetricsFactory(whale=new, roi_percent=Decimal("10.0000"))
    WalletMetricsFactory(whale=btc, roi_percent=Decimal("10.5000"))
    WalletMetricsFactory(whale=old, roi_percent=Decimal("-5.0000"))
    label = LabelFactory(slug="smart-money", name="Smart money")
    WhaleLabelFactory(whale=new, label=label, source="a")
    WhaleLabelFactory(whale=new, label=label, source="b")  # two sources: still one row

    response = api_client.get(f"{API}/whales?{query}&sort_by=roi&order=asc&limit=500")

    assert response.status_code == 200, response.content
    by_id = {new.id: "eth-new", old.id: "eth-old", btc.id: "btc"}
    assert sorted(by_id.get(i, "ancient") for i in ids(response)) == sorted(expected)
    assert response.json()["total"] == len(expected)


@pytest.fixture
def sortable_whales():
    """Four whales: ``a``..``c`` with metrics, ``d`` with none (nulls always sort last)."""
    a = WhaleFactory(name="a", last_active_at=T0 - timedelta(days=1))
    b = WhaleFactory(name="b", last_active_at=T0)
    c = WhaleFactory(name="c", last_active_at=None)
    d = WhaleFactory(name="d", last_active_at=T0 - timedelta(days=2))
    WalletMetricsFactory(whale=a, roi_percent=Decimal("5"), portfolio_value_usd=Decimal("300"),
                         volume_30d_usd=Decimal("10"))
    WalletMetricsFactory(whale=b, roi_percent=Decimal("50"), portfolio_value_usd=None,
                         volume_30d_usd=Decimal("30"))
    WalletMetricsFactory(whale=c, roi_percent=None, portfolio_value_usd=Decimal("100"),
                         volume_30d_usd=Decimal("20"))
    return {"a": a, "b": b, "c": c, "d": d}


@pytest.mark.parametrize(("query", "expected"), [
    ("sort_by=roi", "bacd"),
    ("sort_by=roi&order=desc", "bacd"),
    ("sort_by=roi&order=asc", "abcd"),
    ("sort_by=portfolio_value", "acbd"),
    ("sort_by=portfolio_value&order=asc", "cabd"),
    ("sort_by=volume_30d", "bcad"),
    ("sort_by=volume_30d&order=asc", "acbd"),
    ("sort_by=last_active", "badc"),
    ("sort_by=last_active&order=asc", "dabc"),
    ("", "badc"),  # default: last_active desc
])
def test_whale_list_sorts_with_nulls_last(api_client, sortable_whales, query, expected):
    names = {w.id: name for name, w in sortable_whales.items()}
    response = api_client.get(f"{API}/whales?{query}")
    assert response.status_code == 200
    assert "".join(names[i] for i in ids(response)) == expected


def test_whale_list_limit_offset_and_total(api_client):
    whales = [WhaleFactory(last_active_at=T0 - timedelta(minutes=n)) for n in range(7)]
    response = api_client.get(f"{API}/whales?limit=3&offset=2")
    assert response.status_code == 200
    assert ids(response) == [w.id for w in whales[2:5]]
    assert response.json()["total"] == 7
    past_end = api_client.get(f"{API}/whales?limit=3&offset=7").json()
    assert past_end == {"items": [], "total": 7}


def test_whale_list_default_limit_is_50_and_max_500_accepted(api_client):
    WhaleFactory.create_batch(51)
    assert len(ids(api_client.get(f"{API}/whales"))) == 50
    assert len(ids(api_client.get(f"{API}/whales?limit=500"))) == 51


def test_whale_list_rejects_an_unknown_sort_listing_allowed_values(api_client):
    detail = assert_error(api_client.get(f"{API}/whales?sort_by=luck"), 400, "invalid_parameter")
    assert detail == (
        'sort_by: "luck" is not a valid sort_by; allowed: roi, portfolio_value, volume_30d, last_active, score.')


def test_whale_list_sorts_by_the_current_smart_money_score(api_client):
    from whales.models import WalletScore

    low, high, unscored = WhaleFactory(), WhaleFactory(), WhaleFactory()
    WalletScore.objects.create(whale=high, score=Decimal("90"), confidence="high", formula_version="v1",
                               is_current=False)  # an old score: not the current one
    WalletScore.objects.create(whale=high, score=Decimal("40"), confidence="high", formula_version="v1")
    WalletScore.objects.create(whale=low, score=Decimal("75.5"), confidence="low", formula_version="v1")
    assert ids(api_client.get(f"{API}/whales?sort_by=score")) == [low.id, high.id, unscored.id]
    assert ids(api_client.get(f"{API}/whales?sort_by=score&order=asc")) == [high.id, low.id, unscored.id]


@pytest.mark.parametrize(("query", "param"), [
    ("chain=solana", "chain"),
    ("type=whale", "type"),
    ("min_roi=abc", "min_roi"),
    ("min_roi=NaN", "min_roi"),
    ("min_roi=1e999999", "min_roi"),
    ("activity_window=1y", "activity_window"),
    ("sort_by=volume", "sort_by"),
    ("order=up", "order"),
    ("limit=0", "limit"),
    ("limit=501", "limit"),
    ("limit=ten", "limit"),
    ("offset=-1", "offset"),
    ("offset=x", "offset"),
    ("offset=99999999999999999999999", "offset"),
    ("search=a%00b", "search"),
    ("is_tracked=maybe", "is_tracked"),
])
def test_whale_list_bad_parameter_is_400(api_client, query, param):
    WhaleFactory()
    detail = assert_error(api_client.get(f"{API}/whales?{query}"), 400, "invalid_parameter")
    assert detail.startswith(f"{param}: ")


def test_whale_top_is_ten_by_roi_desc(api_client):
    whales = [WhaleFactory() for _ in range(12)]
    for n, whale in enumerate(whales):
        WalletMetricsFactory(whale=whale, roi_percent=Decimal(n))
    WhaleFactory()  # no metrics: would sort last anyway

    response = api_client.get(f"{API}/whales/top")
    refused = api_client.get(f"{API}/whales/top?sort_by=last_active&limit=2")  # top takes filters only

    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("Unknown parameter(s): limit, sort_by. Known: activity_window, chain")
    assert response.status_code == 200
    assert ids(response) == [w.id for w in reversed(whales[2:])]
    assert response.json()["total"] == 13


def test_whale_top_applies_filters(api_client):
    eth = WhaleFactory()
    btc = WhaleFactory(chain=Chain.BITCOIN, address=BTC_BECH32)
    WalletMetricsFactory(whale=eth, roi_percent=Decimal("1"))
    WalletMetricsFactory(whale=btc, roi_percent=Decimal("2"))
    assert ids(api_client.get(f"{API}/whales/top?chain=ethereum")) == [eth.id]
    assert_error(api_client.get(f"{API}/whales/top?chain=nope"), 400, "invalid_parameter")


def _make_rich_whales(count: int) -> None:
    label_a, label_b = LabelFactory(), LabelFactory()
    for _ in range(count):
        whale = WhaleFactory(entity=EntityFactory())
        WalletMetricsFactory(whale=whale)
        WhaleLabelFactory(whale=whale, label=label_a)
        WhaleLabelFactory(whale=whale, label=label_b, source="analyst")


@pytest.mark.parametrize("count", [5, 50])
def test_whale_list_query_count_does_not_grow_with_rows(api_client, django_assert_max_num_queries, count):
    _make_rich_whales(count)
    with django_assert_max_num_queries(3):  # page (entity + metrics joined), labels, count
        response = api_client.get(f"{API}/whales?limit=500&label=x")
    assert response.json()["total"] == 0
    with django_assert_max_num_queries(3):
        response = api_client.get(f"{API}/whales?limit=500")
    assert len(ids(response)) == count
    assert all(len(item["labels"]) == 2 and item["entity"] and item["metrics"] for item in response.json()["items"])


def test_whale_list_default_page_is_read_off_the_last_active_index_without_a_sort(api_client):
    for hours in (None, 1, 2, None, 3):
        WhaleFactory(last_active_at=None if hours is None else T0 - timedelta(hours=hours))
    with CaptureQueriesContext(connection) as captured:
        response = api_client.get(f"{API}/whales?limit=3")
    page_sql = next(q["sql"] for q in captured.captured_queries if "ORDER BY" in q["sql"] and "LIMIT 3" in q["sql"])
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a 5-row table would be scanned whole otherwise
        cursor.execute(f"EXPLAIN {page_sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert [item["last_active_at"] for item in response.json()["items"]] == [
        "2026-11-20T11:00:00Z", "2026-11-20T10:00:00Z", "2026-11-20T09:00:00Z"]
    assert "whale_last_active" in plan and "Sort" not in plan, plan


def test_a_read_answers_304_while_it_is_unchanged_and_200_once_it_changes(api_client):
    WhaleFactory(address=EVM_LOWER)
    first = api_client.get(f"{API}/whales?limit=50")
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"')
    again = api_client.get(f"{API}/whales?limit=50", HTTP_IF_NONE_MATCH=etag)
    assert (again.status_code, again.content, again["ETag"]) == (304, b"", etag)
    WhaleFactory()
    changed = api_client.get(f"{API}/whales?limit=50", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag and len(changed.json()["items"]) == 2


def test_whale_list_metrics_are_every_field_exactly_from_the_stored_row(api_client):
    whale = WhaleFactory(address=EVM_LOWER)
    WalletMetricsFactory(
        whale=whale, roi_percent=Decimal("-3.25"), portfolio_value_usd=Decimal("1000000"),
        realized_pnl_usd=Decimal("12.5"), realized_pnl_method="fifo", unrealized_pnl_usd=Decimal("-0.00000001"),
        volume_30d_usd=Decimal("7"), trades_30d=3, win_rate_percent=Decimal("50"), closed_round_trips=2,
        unknown_cost_sells=1, computed_at=T0,
        details={"roi_unavailable": "", "opening_value_usd": "250.5", "opening_block_number": 19433902})
    WhaleFactory()  # no metrics row: null

    items = {item["id"]: item["metrics"] for item in api_client.get(f"{API}/whales?limit=10").json()["items"]}

    assert items.pop(whale.id) == {
        "roi_percent": "-3.2500", "roi_unavailable": "", "opening_value_usd": "250.5",
        "opening_block_number": 19433902, "portfolio_value_usd": "1000000.00000000",
        "realized_pnl_usd": "12.50000000", "realized_pnl_method": "fifo", "unrealized_pnl_usd": "-0.00000001",
        "volume_30d_usd": "7.00000000", "trades_30d": 3, "win_rate_percent": "50.0000", "closed_round_trips": 2,
        "unknown_cost_sells": 1, "computed_at": "2026-11-20T12:00:00Z",
    }
    assert list(items.values()) == [None]


# --- wallets ----------------------------------------------------------------------------------


@pytest.fixture
def rich_wallet(user):
    entity = EntityFactory(slug="jump", name="Jump Trading", kind=EntityKind.MARKET_MAKER)
    whale = WhaleFactory(address=EVM_LOWER, name="Jump 1", entity=entity, type=WhaleType.HOLDER_TRADER,
                         first_seen_at=T0 - timedelta(days=100), last_active_at=T0, notes="watch this one")
    label = LabelFactory(slug="smart-money", name="Smart money")
    WhaleLabelFactory(whale=whale, label=label, source="etherscan", evidence_url="https://etherscan.io/x",
                      confidence="high", added_at=T0 - timedelta(days=1))
    WhaleLabelFactory(whale=whale, label=label, source="analyst", added_by=user, confidence="low", added_at=T0)
    WalletMetricsFactory(whale=whale, roi_percent=Decimal("-3.25"), computed_at=T0)
    HoldingFactory(whale=whale, asset="USDC", amount=Decimal("10"), value_usd=Decimal("10"))
    HoldingFactory(whale=whale, asset="ETH", amount=Decimal("1000.123456789012345678"),
                   value_usd=Decimal("3000000.5"), portfolio_percent=Decimal("99.9997"))
    HoldingFactory(whale=whale, asset="MYSTERY", amount=Decimal("5"), value_usd=None)
    return whale


def test_wallet_detail_has_wallet_provenance_metrics_and_holdings(api_client, rich_wallet):
    response = api_client.get(f"{API}/wallets/ethereum/{EVM_MIXED}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["wallet"] == {
        "id": rich_wallet.id,
        "address": EVM_LOWER,
        "chain": "ethereum",
        "name": "Jump 1",
        "entity": {"slug": "jump", "name": "Jump Trading", "kind": "market_maker"},
        "type": "holder_trader",
        "is_tracked": True,
        "labels": [
            {"slug": "smart-money", "name": "Smart money", "source": "etherscan",
             "evidence_url": "https://etherscan.io/x", "confidence": "high", "added_by": None,
             "added_at": "2026-11-19T12:00:00Z"},
            {"slug": "smart-money", "name": "Smart money", "source": "analyst", "evidence_url": "",
             "confidence": "low", "added_by": "analyst", "added_at": "2026-11-20T12:00:00Z"},
        ],
        "explorer_url": f"https://etherscan.io/address/{EVM_LOWER}",
        "first_seen_at": "2026-08-12T12:00:00Z",
        "last_active_at": "2026-11-20T12:00:00Z",
        "notes": "watch this one",
    }
    assert body["metrics"]["roi_percent"] == "-3.2500"
    assert body["metrics"]["portfolio_value_usd"] == "1000000.00000000"
    assert [(h["asset"], h["amount"], h["value_usd"], h["portfolio_percent"]) for h in body["holdings"]] == [
        ("ETH", "1000.123456789012345678000000000000", "3000000.50000000", "99.9997"),
        ("USDC", "10.000000000000000000000000000000", "10.00000000", None),
        ("MYSTERY", "5.000000000000000000000000000000", None, None),
    ]
    assert [(h["is_perp"], h["perp"]) for h in body["holdings"]] == [(False, None)] * 3


def test_wallet_detail_without_metrics_or_holdings(api_client):
    whale = WhaleFactory(chain=Chain.BITCOIN, address=BTC_BECH32)
    body = api_client.get(f"{API}/wallets/bitcoin/{BTC_BECH32.upper()}").json()
    assert (body["wallet"]["id"], body["metrics"], body["holdings"]) == (whale.id, None, [])
    assert body["wallet"]["explorer_url"] == f"https://mempool.space/address/{BTC_BECH32}"


@pytest.mark.parametrize(("path", "status", "code"), [
    (f"wallets/solana/{EVM_LOWER}", 404, "unknown_chain"),
    (f"wallets/Ethereum/{EVM_LOWER}", 404, "unknown_chain"),
    ("wallets/ethereum/0x123", 400, "invalid_address"),
    (f"wallets/bitcoin/{EVM_LOWER}", 400, "invalid_address"),
    ("wallets/ethereum/0x0000000000000000000000000000000000000bad", 404, "not_found"),
    (f"wallets/arbitrum/{EVM_LOWER}", 404, "not_found"),  # same address, other chain
    (f"wallets/solana/{EVM_LOWER}/trades", 404, "unknown_chain"),
    ("wallets/ethereum/nope/trades", 400, "invalid_address"),
    ("wallets/ethereum/0x0000000000000000000000000000000000000bad/trades", 404, "not_found"),
])
def test_wallet_errors(api_client, path, status, code):
    WhaleFactory(address=EVM_LOWER)
    assert_error(api_client.get(f"{API}/{path}"), status, code)


# --- wallet trades ----------------------------------------------------------------------------


def test_wallet_trade_item_has_every_field_with_exact_values(api_client):
    whale = WhaleFactory(address=EVM_LOWER)
    trade = TradeFactory(
        whale=whale, block_time=T0, block_number=21_000_000, tx_hash="0x" + "ab" * 32, log_index=7,
        source=TradeSource.ONCHAIN, platform="uniswap_v3", direction="sell", base_asset="WETH",
        base_token_address="0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", quote_asset="USDC",
        amount_base=Decimal("1234.567890123456789012345678901234"), amount_quote=Decimal("4000000.5"),
        price_usd=Decimal("3240.123456789012345678"), value_usd=Decimal("4000000.12345678"),
        fee_usd=Decimal("12.5"), pnl_usd=None, counterparty="0x" + "cd" * 20, counterparty_name="Uniswap V3: pool",
    )
    response = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/trades")
    assert response.status_code == 200
    assert response.json() == {"next_cursor": None, "items": [{
        "id": trade.id, "chain": "ethereum", "tx_hash": "0x" + "ab" * 32, "log_index": 7,
        "block_number": 21_000_000, "block_time": "2026-11-20T12:00:00Z", "source": "onchain",
        "platform": "uniswap_v3", "direction": "sell", "base_asset": "WETH",
        "base_token_address": "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "quote_asset": "USDC",
        "amount_base": "1234.567890123456789012345678901234",
        "amount_quote": "4000000.500000000000000000000000000000",
        "price_usd": "3240.123456789012345678", "value_usd": "4000000.12345678", "fee_usd": "12.50000000",
        "pnl_usd": None, "counterparty": "0x" + "cd" * 20, "counterparty_name": "Uniswap V3: pool",
        "is_internal": False, "external_url": "https://etherscan.io/tx/0x" + "ab" * 32,
    }]}


@pytest.mark.parametrize("limit", [1, 2, 3, 7, 50])
def test_wallet_trade_cursor_walks_every_row_once_with_equal_block_times(api_client, limit):
    whale = WhaleFactory(address=EVM_LOWER)
    other = WhaleFactory()
    times = [T0] * 4 + [T0 - timedelta(seconds=1)] * 3 + [T0 + timedelta(microseconds=1)]
    trades = [TradeFactory(whale=whale, block_time=t) for t in times]
    TradeFactory(whale=other, block_time=T0)  # another wallet's trade never appears
    expected = [t.id for t in sorted(trades, key=lambda t: (t.block_time, t.id), reverse=True)]

    seen, cursor, pages = [], None, 0
    while True:
        query = f"limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        response = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/trades?{query}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["items"]) <= limit
        seen += ids(response)
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    assert pages == -(-len(trades) // limit)


def test_wallet_trade_cursor_ignores_rows_added_before_it(api_client):
    whale = WhaleFactory(address=EVM_LOWER)
    first = TradeFactory(whale=whale, block_time=T0)
    second = TradeFactory(whale=whale, block_time=T0 - timedelta(hours=1))
    page = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/trades?limit=1").json()
    TradeFactory(whale=whale, block_time=T0 + timedelta(hours=1))  # newer row arrives meanwhile
    rest = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/trades?limit=1&cursor={page['next_cursor']}")
    assert [item["id"] for item in page["items"]] == [first.id]
    assert ids(rest) == [second.id]
    assert rest.json()["next_cursor"] is None


@pytest.mark.parametrize(("query", "expected"), [
    ("source=hyperliquid", ["perp"]),
    ("source=onchain", ["swap", "transfer"]),
    ("direction=long", ["perp"]),
    ("direction=send", ["transfer"]),
    ("source=onchain&direction=buy", ["swap"]),
    ("source=mempool", []),
])
def test_wallet_trade_filters(api_client, query, expected):
    whale = WhaleFactory(address=EVM_LOWER)
    names = {
        TradeFactory(whale=whale, block_time=T0, source=TradeSource.HYPERLIQUID, direction="long").id: "perp",
        TradeFactory(whale=whale, block_time=T0 - timedelta(1), direction="buy").id: "swap",
        TradeFactory(whale=whale, block_time=T0 - timedelta(2), direction="send").id: "transfer",
    }
    response = api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/trades?{query}")
    assert response.status_code == 200
    assert [names[i] for i in ids(response)] == expected


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


@pytest.mark.parametrize("cursor", [
    "not-base64!!",
    _b64("garbage"),
    _b64("2026-11-20T12:00:00+00:00|abc"),
    _b64("2026-11-20T12:00:00|5"),  # naive time
    _b64("yesterday|5"),
    _b64("2026-11-20T12:00:00+00:00|0"),
    _b64("2026-11-20T12:00:00+00:00|-5"),
    _b64("2026-11-20T12:00:00+00:00|99999999999999999999999"),
    _b64("2026-11-20T12:00:00+00:00|5|6"),
    _b64("0001-01-01T00:00:00+01:00|5"),
    base64.urlsafe_b64encode(b"\xff\xfe|1").decode(),
])
def test_wallet_trade_malformed_cursor_is_400_invalid_cursor(api_client, cursor):
    WhaleFactory(address=EVM_LOWER)
    assert_error(api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/trades?cursor={cursor}"), 400, "invalid_cursor")


def test_cursor_encodes_time_and_id():
    assert base64.urlsafe_b64decode(cursor_encode(T0, 42) + "==").decode() == "2026-11-20T12:00:00+00:00|42"


@pytest.mark.parametrize("query", ["limit=0", "limit=501", "limit=x", "source=dex", "direction=up"])
def test_wallet_trade_bad_parameter_is_400(api_client, query):
    WhaleFactory(address=EVM_LOWER)
    detail = assert_error(api_client.get(f"{API}/wallets/ethereum/{EVM_LOWER}/trades?{query}"), 400,
                        "invalid_parameter")
    assert detail.startswith(query.split("=")[0] + ": ")


# --- events -----------------------------------------------------------------------------------


def test_event_item_has_every_field_with_exact_values(api_client):
    whale = WhaleFactory(address=EVM_LOWER, name="Jump 1")
    event = WhaleEventFactory(
        whale=whale, type=EventType.LARGE_SWAP, block_time=T0, block_number=21_000_000,
        tx_hash="0x" + "ef" * 32, log_index=3, summary="Jump 1 sold 1,000 WETH", value_usd=Decimal("3000000.1"),
        details={"amount": "1000", "asset": "WETH"}, observed_at=T0 + timedelta(seconds=5),
    )
    retraction = WhaleEventFactory(whale=None, type=EventType.REORG_RETRACTION, block_time=T0 - timedelta(1),
                                   tx_hash="0x" + "01" * 32, log_index=-1, summary="reorg", observed_at=T0)
    response = api_client.get(f"{API}/events/recent")
    assert response.status_code == 200
    assert response.json()["items"] == [
        {"id": event.id, "chain": "ethereum", "type": "large_swap",
         "whale": {"chain": "ethereum", "address": EVM_LOWER, "name": "Jump 1"},
         "block_time": "2026-11-20T12:00:00Z", "block_number": 21_000_000, "tx_hash": "0x" + "ef" * 32,
         "log_index": 3, "summary": "Jump 1 sold 1,000 WETH", "value_usd": "3000000.10000000",
         "details": {"amount": "1000", "asset": "WETH"}, "observed_at": "2026-11-20T12:00:05Z",
         "external_url": "https://etherscan.io/tx/0x" + "ef" * 32},
        {"id": retraction.id, "chain": "ethereum", "type": "reorg_retraction", "whale": None,
         "block_time": "2026-11-19T12:00:00Z", "block_number": retraction.block_number,
         "tx_hash": "0x" + "01" * 32, "log_index": -1, "summary": "reorg", "value_usd": None, "details": {},
         "observed_at": "2026-11-20T12:00:00Z", "external_url": ""},
    ]


def test_events_recent_newest_first_with_limit(api_client):
    events = [WhaleEventFactory(block_time=T0 + timedelta(minutes=n)) for n in range(5)]
    tie = WhaleEventFactory(block_time=T0 + timedelta(minutes=4))  # same time as events[4], higher id
    assert ids(api_client.get(f"{API}/events/recent?limit=3")) == [tie.id, events[4].id, events[3].id]
    assert len(ids(api_client.get(f"{API}/events/recent"))) == 6


def test_events_recent_default_limit_is_50(api_client):
    WhaleEventFactory.create_batch(51, block_time=T0)
    assert len(ids(api_client.get(f"{API}/events/recent"))) == 50
    assert len(ids(api_client.get(f"{API}/events/recent?limit=500"))) == 51


def test_events_since_id_backfills_in_ascending_id_order(api_client):
    # Block times out of id order: backfill follows ids (arrival order), not block time.
    events = [WhaleEventFactory(block_time=T0 - timedelta(minutes=n)) for n in range(6)]
    first = api_client.get(f"{API}/events/recent?since_id={events[1].id}&limit=2")
    assert ids(first) == [events[2].id, events[3].id]
    rest = api_client.get(f"{API}/events/recent?since_id={ids(first)[-1]}&limit=2")
    assert ids(rest) == [events[4].id, events[5].id]
    assert ids(api_client.get(f"{API}/events/recent?since_id={events[5].id}")) == []
    assert ids(api_client.get(f"{API}/events/recent?since_id=0")) == [e.id for e in events]


@pytest.mark.parametrize(("query", "expected"), [
    ("chain=bitcoin", ["btc"]),
    ("chain=ethereum", ["swap", "small", "unpriced"]),
    ("type=large_swap", ["swap"]),
    ("min_value_usd=1000000", ["btc", "swap"]),
    ("min_value_usd=1000000.00000001", ["btc"]),
    ("chain=ethereum&min_value_usd=0", ["swap", "small"]),
])
def test_events_recent_filters(api_client, query, expected):
    names = {
        WhaleEventFactory(chain=Chain.BITCOIN, block_time=T0, value_usd=Decimal("2000000")).id: "btc",
        WhaleEventFactory(type=EventType.LARGE_SWAP, block_time=T0 - timedelta(1),
                          value_usd=Decimal("1000000")).id: "swap",
        WhaleEventFactory(block_time=T0 - timedelta(2), value_usd=Decimal("5")).id: "small",
        WhaleEventFactory(block_time=T0 - timedelta(3), value_usd=None).id: "unpriced",
    }
    response = api_client.get(f"{API}/events/recent?{query}")
    assert response.status_code == 200
    assert [names[i] for i in ids(response)] == expected


@pytest.mark.parametrize("query", [
    "limit=0", "limit=501", "limit=many", "since_id=abc", "since_id=-1", "since_id=99999999999999999999",
    "chain=solana", "type=big", "min_value_usd=lots", "min_value_usd=1e999999",
])
def test_events_recent_bad_parameter_is_400(api_client, query):
    detail = assert_error(api_client.get(f"{API}/events/recent?{query}"), 400, "invalid_parameter")
    assert detail.startswith(query.split("=")[0] + ": ")


# --- cross-cutting ----------------------------------------------------------------------------


def test_schema_documents_every_endpoint_and_its_parameters(api_client):
    response = api_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert set(paths) >= {
        "/api/v1/dashboard/summary", "/api/v1/whales", "/api/v1/whales/top",
        "/api/v1/wallets/{chain}/{address}", "/api/v1/wallets/{chain}/{address}/trades",
        "/api/v1/events/recent", "/api/v1/collectors/health", "/api/v1/collectors/{name}",
    }
    whale_params = {p["name"] for p in paths["/api/v1/whales"]["get"]["parameters"]}
    assert whale_params == {"chain", "type", "is_tracked", "min_roi", "activity_window", "label", "entity",
                            "search", "sort_by", "order", "limit", "offset", "watchlist"}
    event_params = {p["name"] for p in paths["/api/v1/events/recent"]["get"]["parameters"]}
    assert event_params == {"limit", "chain", "type", "min_value_usd", "since_id", "watchlist"}
    trade_params = {p["name"] for p in paths["/api/v1/wallets/{chain}/{address}/trades"]["get"]["parameters"]}
    assert trade_params == {"chain", "address", "source", "direction", "cursor", "limit"}
    assert set(paths["/api/v1/wallets/{chain}/{address}"]["get"]["responses"]) == {"200", "400", "404"}


def test_anonymous_reads_are_throttled(api_client, monkeypatch):
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "2/minute"})
    assert [api_client.get(f"{API}/whales").status_code for _ in range(2)] == [200, 200]
    assert_error(api_client.get(f"{API}/whales"), 429, "throttled")
