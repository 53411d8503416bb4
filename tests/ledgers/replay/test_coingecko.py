"""CoinGecko answered from the rotki VCR cassettes and derived from the daily CSV exports."""

import csv
import json
from datetime import UTC, datetime

import pytest
import requests
import yaml

from ledgers.replay.server import ReplayServer


def _cassette_body(replay_data_dir, name: str, uri_part: str) -> str:
    doc = yaml.safe_load((replay_data_dir / "rotki-test-caching-cassettes" / "coingecko" / name).read_text())
    [body] = [i["response"]["body"]["string"] for i in doc["interactions"] if uri_part in i["request"]["uri"]]
    return body


def _csv_rows(replay_data_dir, name: str) -> list[list[str]]:
    with (replay_data_dir / "prices-coingecko-daily-csv" / name).open(newline="") as fh:
        return list(csv.reader(fh))[1:]


def _ms(snapped_at: str) -> int:
    return int(datetime.strptime(snapped_at, "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC).timestamp()) * 1000


@pytest.mark.parametrize(
    "query",
    [
        "/simple/price/?ids=bitcoin%2Cdai%2Cbinancecoin&vs_currencies=eth",  # as recorded
        "/simple/price?vs_currencies=eth&ids=bitcoin,dai,binancecoin",  # params reordered, no slash
        "/simple/price?ids=dai,binancecoin,bitcoin&vs_currencies=eth&x_cg_demo_api_key=k",  # ids reordered, key
    ],
)
def test_simple_price_is_the_recorded_body(replay, replay_data_dir, query):
    expected = _cassette_body(replay_data_dir, "test_coingecko_query_multiple_current_prices.yaml", "simple/price")
    response = requests.get(replay.coingecko_url + query, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.text == expected
    assert expected == '{"binancecoin":{"eth":0.21387074},"bitcoin":{"eth":31.906046},"dai":{"eth":0.0003068}}'


def test_coin_history_is_the_recorded_body_and_agrees_with_the_csv(replay, replay_data_dir):
    expected = _cassette_body(replay_data_dir, "test_coingecko_historical_price.yaml", "coins/ethereum/history")
    response = requests.get(
        replay.coingecko_url + "/coins/ethereum/history", params={"localization": "false", "date": "01-01-2024"},
        timeout=10)
    assert response.text == expected
    price = json.loads(response.text, parse_float=str)["market_data"]["current_price"]["usd"]
    [row] = [r for r in _csv_rows(replay_data_dir, "eth-usd-max.csv") if r[0] == "2024-01-01 00:00:00 UTC"]
    assert price == row[1] == "2279.9410085689606"


def test_coin_metadata_is_the_recorded_body(replay, replay_data_dir):
    expected = _cassette_body(replay_data_dir, "test_asset_data.yaml", "coins/yearn-finance")
    query = ("localization=false&tickers=false&market_data=false&community_data=false&developer_data=false"
             "&sparkline=false")
    response = requests.get(f"{replay.coingecko_url}/coins/yearn-finance/?{query}", timeout=10)
    assert response.text == expected
    assert json.loads(response.text)["platforms"]["ethereum"] == "0x0bc529c00c6401aef6d220be8c6ea1667f6ad93e"


@pytest.mark.parametrize(
    "path",
    [
        "/coins/dogecoin",
        "/coins/bitcoin",  # recorded only with its query parameters
        "/simple/price?ids=bitcoin&vs_currencies=usd",
        "/coins/dogecoin/market_chart?vs_currency=usd&days=1",
    ],
)
def test_unrecorded_requests_are_coin_not_found(replay, path):
    response = requests.get(replay.coingecko_url + path, timeout=10)
    assert response.status_code == 404
    assert response.json() == {"error": "coin not found"}


@pytest.mark.parametrize(
    ("coin", "csv_name", "days"),
    [("ethereum", "eth-usd-max.csv", 30), ("bitcoin", "btc-usd-max_2010-07-18_to_2026-01-31.csv", 7)],
)
def test_market_chart_is_the_last_days_of_the_csv_verbatim(replay, replay_data_dir, coin, csv_name, days):
    rows = _csv_rows(replay_data_dir, csv_name)[-(days + 1):]
    response = requests.get(f"{replay.coingecko_url}/coins/{coin}/market_chart",
                            params={"vs_currency": "usd", "days": days}, timeout=10)
    assert response.status_code == 200
    chart = json.loads(response.text, parse_float=str, parse_int=str)  # number texts, never floats
    assert chart == {
        "prices": [[str(_ms(r[0])), r[1]] for r in rows],
        "market_caps": [[str(_ms(r[0])), r[2]] for r in rows],
        "total_volumes": [[str(_ms(r[0])), r[3]] for r in rows],
    }
    assert len(chart["prices"]) == days + 1


def test_market_chart_max_is_the_whole_series(replay, replay_data_dir):
    rows = _csv_rows(replay_data_dir, "eth-usd-max.csv")
    chart = requests.get(f"{replay.coingecko_url}/coins/ethereum/market_chart?vs_currency=usd&days=max",
                         timeout=10).json()
    assert len(chart["prices"]) == len(rows) == 3590
    assert chart["prices"][0] == [_ms(rows[0][0]), 2.83162]


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("vs_currency=eur&days=1", "invalid vs_currency"),
        ("days=1", "Missing parameter vs_currency"),
        ("vs_currency=usd", "Missing parameter days"),
        ("vs_currency=usd&days=soon", "invalid days"),
    ],
)
def test_market_chart_bad_parameters_are_400(replay, query, error):
    response = requests.get(f"{replay.coingecko_url}/coins/ethereum/market_chart?{query}", timeout=10)
    assert response.status_code == 400
    assert response.json() == {"error": error}


def test_daily_csv_is_found_by_header_and_name_prefix(tmp_path, replay_data_dir):
    # Two real rows of eth-usd-max.csv copied under another name; a CSV with another header is ignored.
    rows = (replay_data_dir / "prices-coingecko-daily-csv" / "eth-usd-max.csv").read_text().splitlines()
    (tmp_path / "eth-usd-export.csv").write_text("\n".join([rows[0], rows[1], rows[2]]) + "\n")
    (tmp_path / "btc-usd-other.csv").write_text("date,close\n2024-01-01,1\n")
    with ReplayServer(tmp_path) as server:
        chart = requests.get(f"{server.coingecko_url}/coins/ethereum/market_chart?vs_currency=usd&days=max",
                             timeout=10).json()
        assert chart["prices"] == [[1438905600000, 2.83162], [1438992000000, 1.33075]]
        assert requests.get(f"{server.coingecko_url}/coins/bitcoin/market_chart?vs_currency=usd&days=1",
                            timeout=10).status_code == 404
