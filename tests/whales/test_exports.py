"""Streamed exports ``/api/v1/exports/<list>.<csv|json>`` (PostgreSQL, the test client): every export is parsed
back (csv / json) and compared with the rows the test created, with expected cells written out here."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.http import StreamingHttpResponse

from tests.api import assert_error
from tests.whales.factories import (
    EntityFactory,
    LabelFactory,
    TradeFactory,
    WalletMetricsFactory,
    WhaleEventFactory,
    WhaleFactory,
    WhaleLabelFactory,
)
from whales.chains import Chain
from whales.exports import csv_cell
from whales.models import EventType, TradeSource

pytestmark = pytest.mark.django_db

API = "/api/v1/exports"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ADDRESS_A = "0x" + "a1" * 20
ADDRESS_B = "0x" + "b2" * 20


@pytest.fixture(autouse=True)
def _fresh_throttle():
    from django.core.cache import cache

    cache.clear()


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict[str, str]]:
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(body(response), newline="")))


def json_rows(response) -> list[dict]:
    assert response["Content-Type"] == "application/json"
    return json.loads(body(response))


@pytest.fixture
def trades():
    """Two whales, three trades: t1 (A, buy, newest), t2 (A, sell), t3 (B, deposit, oldest, unpriced)."""
    whale_a = WhaleFactory(address=ADDRESS_A)
    whale_b = WhaleFactory(chain=Chain.ETHEREUM, address=ADDRESS_B)
    t1 = TradeFactory(whale=whale_a, block_time=T0, block_number=21_000_002, tx_hash="0x" + "1" * 64, log_index=3,
                      direction="buy", base_asset="ETH", amount_base=Decimal("1.5"), value_usd=Decimal("4500.25"),
                      pnl_usd=Decimal("-12.5"), counterparty_name="Uniswap V3: Router")
    t2 = TradeFactory(whale=whale_a, block_time=T0 - timedelta(minutes=1), block_number=21_000_001,
                      tx_hash="0x" + "2" * 64, log_index=-1, direction="sell", base_asset="USDC",
                      amount_base=Decimal("100"), value_usd=Decimal("100"), source=TradeSource.EXCHANGE_FLOW)
    t3 = TradeFactory(whale=whale_b, block_time=T0 - timedelta(hours=1, microseconds=-250), block_number=None,
                      tx_hash="0x" + "3" * 64, log_index=0, direction="deposit", base_asset="ETH", value_usd=None)
    return t1, t2, t3


def test_trades_csv_parses_back_to_the_stored_rows_newest_first(client, trades):
    t1, t2, t3 = trades
    response = client.get(f"{API}/trades.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="trades-')
    rows = csv_rows(response)
    assert [row["tx_hash"] for row in rows] == [t1.tx_hash, t2.tx_hash, t3.tx_hash]
    first = rows[0]
    assert {k: first[k] for k in ("id", "chain", "address", "tx_hash", "log_index", "block_number", "block_time",
                                  "source", "direction", "base_asset", "amount_base", "value_usd", "pnl_usd",
                                  "fee_usd", "counterparty_name", "is_internal")} == {
        "id": str(t1.id), "chain": "ethereum", "address": ADDRESS_A, "tx_hash": "0x" + "1" * 64, "log_index": "3",
        "block_number": "21000002", "block_time": "2026-11-20T12:00:00Z", "source": "onchain", "direction": "buy",
        "base_asset": "ETH", "amount_base": "1.5" + "0" * 29, "value_usd": "4500.25000000",
        "pnl_usd": "-12.50000000", "fee_usd": "", "counterparty_name": "Uniswap V3: Router", "is_internal": "false",
    }
    assert rows[1]["log_index"] == "-1"
    assert rows[1]["source"] == "exchange_flow"
    assert rows[2]["block_number"] == "" and rows[2]["value_usd"] == ""
    assert rows[2]["block_time"] == "2026-11-20T11:00:00.000250Z"
    assert list(rows[0]) == ["id", "chain", "address", "tx_hash", "log_index", "block_number", "block_time", "source",
                             "platform", "direction", "base_asset", "base_token_address", "quote_asset",
                             "quote_token_address", "amount_raw", "amount_base", "amount_quote", "price_usd",
                             "value_usd", "fee_usd", "fee_amount", "pnl_usd", "pnl_percent", "counterparty",
                             "counterparty_name", "is_internal"]


def test_trades_json_is_one_array_with_decimals_as_strings_and_nulls(client, trades):
    t1, _, t3 = trades
    rows = json_rows(client.get(f"{API}/trades.json"))
    assert len(rows) == 3
    assert rows[0]["id"] == t1.id
    assert rows[0]["value_usd"] == "4500.25000000"
    assert rows[0]["pnl_usd"] == "-12.50000000"
    assert rows[0]["log_index"] == 3
    assert rows[0]["is_internal"] is False
    assert rows[2]["value_usd"] is None and rows[2]["block_number"] is None
    assert rows[2]["tx_hash"] == t3.tx_hash


@pytest.mark.parametrize(("query", "expected"), [
    ("direction=sell", ["2"]),
    ("source=onchain", ["1", "3"]),
    (f"address={ADDRESS_A.upper().replace('0X', '0x')}", ["1", "2"]),
    (f"chain=ethereum&address={ADDRESS_B}", ["3"]),
    ("chain=bitcoin", []),
])
def test_trades_export_applies_the_list_filters(client, trades, query, expected):
    rows = csv_rows(client.get(f"{API}/trades.csv?{query}"))
    assert [row["tx_hash"][2] for row in rows] == expected


@pytest.mark.parametrize(("query", "code", "names"), [
    ("direction=up", "invalid_parameter", "direction"),
    ("minRoi=3", "invalid_parameter", "minRoi"),
    ("address=nothex", "invalid_parameter", "address"),
])
def test_trades_export_rejects_bad_and_unknown_parameters(client, trades, query, code, names):
    detail = assert_error(client.get(f"{API}/trades.csv?{query}"), 400, code)
    assert names in detail


def test_unknown_format_is_404(client, trades):
    assert client.get(f"{API}/trades.xlsx").status_code == 404


def test_csv_cells_are_formula_safe_and_numbers_stay_numbers(client):
    whale = WhaleFactory(address=ADDRESS_A)
    names = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tTab", "\rCR", "-12.5", "+3", "1e-9", "plain",
             "a=b"]
    for n, name in enumerate(names):
        TradeFactory(whale=whale, block_time=T0 - timedelta(seconds=n), counterparty_name=name,
                     pnl_usd=Decimal("-7.25"))
    rows = csv_rows(client.get(f"{API}/trades.csv"))
    assert [row["counterparty_name"] for row in rows] == [
        "'=1+2", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "'\tTab", "'\rCR", "-12.5", "+3", "1e-9", "plain",
        "a=b"]
    assert {row["pnl_usd"] for row in rows} == {"-7.25000000"}
    # PostgreSQL applies the rule in SQL; the Python rule (SQLite, annotations) gives the same cells
    assert [csv_cell(name) for name in names] == [row["counterparty_name"] for row in rows]
    # JSON carries the values unchanged
    assert [row["counterparty_name"] for row in json_rows(client.get(f"{API}/trades.json"))] == names


def test_export_streams_in_chunks(client, trades, settings):
    settings.EXPORT_CHUNK_ROWS = 1
    response = client.get(f"{API}/trades.csv")
    assert isinstance(response, StreamingHttpResponse)
    chunks = list(response.streaming_content)
    # header + row 1, then one chunk per further row, then the (empty) tail
    assert [chunk.count(b"\r\n") for chunk in chunks] == [2, 1, 1, 0]
    json_chunks = list(client.get(f"{API}/trades.json").streaming_content)
    assert [chunk[-1:] for chunk in json_chunks] == [b"}", b"}", b"}", b"\n"]
    assert len(json.loads(b"".join(json_chunks))) == 3


def test_export_over_the_row_cap_is_refused_before_streaming(client, trades, settings):
    settings.EXPORT_MAX_ROWS = 2
    detail = assert_error(client.get(f"{API}/trades.csv"), 400, "export_too_large")
    assert "at most 2" in detail
    assert len(csv_rows(client.get(f"{API}/trades.csv?address={ADDRESS_A}"))) == 2
    settings.EXPORT_MAX_ROWS = 3
    assert len(csv_rows(client.get(f"{API}/trades.csv"))) == 3


def test_events_export_filters_and_since_id(client):
    whale = WhaleFactory(address=ADDRESS_A)
    small = WhaleEventFactory(whale=whale, block_time=T0, value_usd=Decimal("50000"), details={"token": "ETH"})
    big = WhaleEventFactory(whale=whale, block_time=T0 - timedelta(minutes=5), value_usd=Decimal("2000000.5"),
                            type=EventType.LARGE_SWAP, summary="=cmd")
    other = WhaleEventFactory(whale=None, chain=Chain.BITCOIN, block_time=T0 - timedelta(minutes=9),
                              value_usd=Decimal("150000"), type=EventType.MEMPOOL_WHALE, summary="mempool")
    rows = csv_rows(client.get(f"{API}/events.csv"))
    assert [row["id"] for row in rows] == [str(small.id), str(big.id), str(other.id)]
    assert rows[0]["details"] == '{"token":"ETH"}'
    assert rows[1]["summary"] == "'=cmd"
    assert rows[1]["value_usd"] == "2000000.50000000"
    assert rows[2]["address"] == "" and rows[2]["chain"] == "bitcoin"
    assert [r["id"] for r in csv_rows(client.get(f"{API}/events.csv?min_value_usd=100000"))] == [
        str(big.id), str(other.id)]
    assert [r["id"] for r in csv_rows(client.get(f"{API}/events.csv?type=large_swap"))] == [str(big.id)]
    since = min(small.id, big.id, other.id)
    assert [r["id"] for r in json_rows(client.get(f"{API}/events.json?since_id={since}"))] == sorted(
        {small.id, big.id, other.id} - {since})
    json_first = json_rows(client.get(f"{API}/events.json?chain=ethereum"))[0]
    assert json_first["details"] == {"token": "ETH"}
    assert json_first["observed_at"].endswith("Z")


def test_whales_export_labels_filters_and_order(client):
    jump = EntityFactory(slug="jump-trading", name="Jump Trading")
    first = WhaleFactory(address=ADDRESS_A, name="Jump 1", entity=jump, last_active_at=T0)
    second = WhaleFactory(address=ADDRESS_B, name="Other", last_active_at=T0 - timedelta(days=1))
    mm, fund = LabelFactory(slug="market-maker"), LabelFactory(slug="fund")
    WhaleLabelFactory(whale=first, label=mm, source="etherscan")
    WhaleLabelFactory(whale=first, label=mm, source="analyst")  # one slug from two sources: listed once
    WhaleLabelFactory(whale=first, label=fund, source="analyst")
    WalletMetricsFactory(whale=second, roi_percent=Decimal("-3.5"))
    rows = csv_rows(client.get(f"{API}/whales.csv"))
    assert [(r["address"], r["name"], r["entity"], r["labels"]) for r in rows] == [
        (ADDRESS_A, "Jump 1", "jump-trading", "fund;market-maker"), (ADDRESS_B, "Other", "", "")]
    assert rows[0]["last_active_at"] == "2026-11-20T12:00:00Z"
    assert rows[1]["roi_percent"] == "-3.5000"
    assert [r["address"] for r in csv_rows(client.get(f"{API}/whales.csv?label=fund"))] == [ADDRESS_A]
    assert [r["address"] for r in csv_rows(client.get(f"{API}/whales.csv?order=asc"))] == [ADDRESS_B, ADDRESS_A]
    assert [r["address"] for r in json_rows(client.get(f"{API}/whales.json?entity=Jump%20Trading"))] == [ADDRESS_A]
    assert_error(client.get(f"{API}/whales.csv?sort_by=nope"), 400, "invalid_parameter")


def test_exports_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = {path for path in schema["paths"] if "/exports/" in path}
    assert paths == {"/api/v1/exports/trades.{fmt}", "/api/v1/exports/events.{fmt}", "/api/v1/exports/whales.{fmt}",
                     "/api/v1/exports/watchlists/{watchlist_id}.{fmt}"}
    trades = schema["paths"]["/api/v1/exports/trades.{fmt}"]["get"]
    assert {p["name"] for p in trades["parameters"]} >= {"fmt", "source", "direction", "chain", "address"}
    assert set(trades["responses"]["200"]["content"]) == {"text/csv", "application/json"}


@pytest.mark.asyncio
# serialized_rollback, as every transactional test here: the flush after it must not re-create content types under
# new ids, which would break the next serialized_rollback test's restore (tests/browser/test_pages.py).
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
async def test_export_under_asgi_streams_an_async_iterator(async_client):
    """Django reads a sync iterator whole under ASGI; the export hands it an async one, chunk by chunk."""
    from asgiref.sync import sync_to_async
    from django.test import override_settings

    whale = await sync_to_async(WhaleFactory)(address=ADDRESS_A)
    for n in range(3):
        await sync_to_async(TradeFactory)(whale=whale, block_time=T0 - timedelta(minutes=n))
    with override_settings(EXPORT_CHUNK_ROWS=1):
        response = await async_client.get(f"{API}/trades.csv")
        assert response.is_async
        chunks = [chunk async for chunk in response.streaming_content]
    assert [chunk.count(b"\r\n") for chunk in chunks] == [2, 1, 1, 0]
    rows = list(csv.DictReader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert [row["block_time"] for row in rows] == ["2026-11-20T12:00:00Z", "2026-11-20T11:59:00Z",
                                                   "2026-11-20T11:58:00Z"]
    # The test client keeps connections open after a request (it disconnects close_old_connections): close the
    # sync thread's one, so the test database can be dropped.
    from django.db import connections

    await sync_to_async(connections.close_all)()
