"""import_prices / prices_import_csv against the recorded CoinGecko daily CSVs."""

from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.exchange.market.services import BadRow, price_files_find, prices_import_csv
from tests.ledgers.exchange.market.factories import BTC_CSV, BTC_LONG_CSV, ETH_CSV, PRICE_DIR, csv_price_on, csv_prices

pytestmark = pytest.mark.django_db


def native(chain: str) -> Asset:
    return Asset.objects.get(chain=chain, contract_address="")


def stored(asset: Asset) -> dict[datetime, Decimal]:
    return dict(PriceHistory.objects.filter(asset=asset).values_list("timestamp", "price_usd"))


def test_import_prices_stores_every_recorded_day_with_exact_prices():
    out, err = StringIO(), StringIO()
    call_command("import_prices", stdout=out, stderr=err)

    eth, btc = csv_prices(ETH_CSV), csv_prices(BTC_LONG_CSV) | csv_prices(BTC_CSV)
    assert len(eth) == 3590  # PROVENANCE.md: 3,590 rows
    assert len(btc) == 5677  # the 2010-2026 file has every day the 2013-2025 file has
    assert stored(native("ethereum")) == eth
    assert stored(native("bitcoin")) == btc
    assert stored(native("ethereum"))[datetime(2024, 3, 14, tzinfo=UTC)] == Decimal("4007.9121260756656")
    assert stored(native("ethereum"))[datetime(2024, 3, 14, tzinfo=UTC)] == csv_price_on(ETH_CSV, "2024-03-14")
    assert stored(native("bitcoin"))[datetime(2024, 3, 14, tzinfo=UTC)] == csv_price_on(BTC_CSV, "2024-03-14")
    assert stored(native("bitcoin"))[datetime(2010, 7, 18, tzinfo=UTC)] == Decimal("0.09")
    assert stored(native("ethereum"))[datetime(2024, 1, 1, tzinfo=UTC)] == Decimal("2279.9410085689606")
    assert set(PriceHistory.objects.values_list("source", flat=True)) == {
        "coingecko-csv:eth-usd-max.csv", "coingecko-csv:btc-usd-max_2010-07-18_to_2026-01-31.csv"}
    assert out.getvalue().splitlines() == [
        "eth-usd-max.csv -> ETH: 3590 rows read, 3590 inserted, 0 skipped (already stored), 0 bad",
        "btc-usd-max_2010-07-18_to_2026-01-31.csv -> BTC: 5677 rows read, 5677 inserted, 0 skipped "
        "(already stored), 0 bad",
        # the shorter BTC series only fills gaps: it has none to fill, and agrees on all 4,420 shared days
        "btc-usd-max.csv -> BTC: 4420 rows read, 0 inserted, 4420 skipped (already stored), 0 bad",
        "import_prices: 3 files, 0 bad rows",
    ]
    assert err.getvalue() == ""


def test_import_prices_twice_inserts_nothing_the_second_time():
    call_command("import_prices", stdout=StringIO())
    before = PriceHistory.objects.count()
    out = StringIO()
    call_command("import_prices", "--data-dir", str(PRICE_DIR), stdout=out)

    assert PriceHistory.objects.count() == before == 3590 + 5677
    assert "eth-usd-max.csv -> ETH: 3590 rows read, 0 inserted, 3590 skipped (already stored), 0 bad" in out.getvalue()


def test_price_files_find_puts_the_longer_btc_series_first():
    assert [(path.name, asset.symbol) for path, asset in price_files_find(data_dir=PRICE_DIR)] == [
        ("eth-usd-max.csv", "ETH"),
        ("btc-usd-max_2010-07-18_to_2026-01-31.csv", "BTC"),
        ("btc-usd-max.csv", "BTC"),
    ]


def test_the_shorter_btc_series_fills_the_longer_ones_gaps(tmp_path):
    # Variant of the real 2010-2026 file with 2024-03-14 removed: btc-usd-max.csv supplies that day.
    long_lines = BTC_LONG_CSV.read_text().splitlines()
    gap = [line for line in long_lines if not line.startswith("2024-03-14 ")]
    assert len(gap) == len(long_lines) - 1
    (tmp_path / "btc-usd-max_2010-07-18_to_2026-01-31.csv").write_text("\n".join(gap) + "\n")
    (tmp_path / "btc-usd-max.csv").write_text(BTC_CSV.read_text())

    out = StringIO()
    call_command("import_prices", "--data-dir", str(tmp_path), stdout=out)

    btc = native("bitcoin")
    row = PriceHistory.objects.get(asset=btc, timestamp=datetime(2024, 3, 14, tzinfo=UTC))
    assert (row.price_usd, row.source) == (Decimal("73097.76702694128"), "coingecko-csv:btc-usd-max.csv")
    assert PriceHistory.objects.filter(asset=btc).count() == 5677
    assert "btc-usd-max.csv -> BTC: 4420 rows read, 1 inserted, 4419 skipped" in out.getvalue()


def test_bad_rows_are_reported_with_line_numbers_and_the_good_rows_imported(tmp_path):
    # Derived from the real eth-usd-max.csv: its header and first 8 rows, four of them damaged.
    lines = ETH_CSV.read_text().splitlines()[:9]
    lines[3] = lines[3].replace(lines[3].split(",")[1], "12,3x")  # line 4: five columns
    lines[5] = "2015-13-45 00:00:00 UTC," + lines[5].split(",", 1)[1]  # line 6: no such date
    lines[7] = lines[7].replace(lines[7].split(",")[1], "n/a")  # line 8: not a number
    lines.append(lines[8])  # line 10: the day of line 9 again
    lines.insert(2, "")  # a blank line 3 is not a row; the damaged lines move to 5, 7, 9, 11
    path = tmp_path / "eth-usd-max.csv"
    path.write_text("\n".join(lines) + "\n")
    eth = native("ethereum")

    report = prices_import_csv(path=path, asset=eth)

    assert report.bad == [
        BadRow(5, "expected 4 columns, got 5"),
        BadRow(7, "snapped_at '2015-13-45 00:00:00 UTC' is not 'YYYY-MM-DD HH:MM:SS UTC'"),
        BadRow(9, "price 'n/a' is not a decimal number"),
        BadRow(11, "duplicate snapped_at 2015-08-15 00:00:00 (first on line 10)"),
    ]
    assert (report.rows_read, report.inserted, report.skipped) == (9, 5, 0)
    real = csv_prices(ETH_CSV)
    good_days = [datetime(2015, 8, d, tzinfo=UTC) for d in (7, 8, 11, 13, 15)]
    assert stored(eth) == {day: real[day] for day in good_days}
    assert stored(eth)[datetime(2015, 8, 7, tzinfo=UTC)] == Decimal("2.83162")


def test_import_prices_prints_bad_rows_on_stderr(tmp_path):
    lines = ETH_CSV.read_text().splitlines()[:4]
    lines[2] = lines[2].replace(lines[2].split(",")[1], "-1")
    (tmp_path / "eth-usd-max.csv").write_text("\n".join(lines) + "\n")
    out, err = StringIO(), StringIO()

    call_command("import_prices", "--data-dir", str(tmp_path), stdout=out, stderr=err)

    assert err.getvalue() == "  eth-usd-max.csv:3: price -1 is not positive\n"
    assert "eth-usd-max.csv -> ETH: 3 rows read, 2 inserted, 0 skipped (already stored), 1 bad" in out.getvalue()


def test_a_file_without_the_coingecko_header_imports_nothing(tmp_path):
    path = tmp_path / "eth-usd-max.csv"
    path.write_text("date,close\n2024-03-14,4007.91\n")

    with pytest.raises(ValueError, match="lacks 'snapped_at' and 'price'"):
        prices_import_csv(path=path, asset=native("ethereum"))
    with pytest.raises(CommandError, match=r"not imported: eth-usd-max\.csv"):
        call_command("import_prices", "--data-dir", str(tmp_path), stdout=StringIO(), stderr=StringIO())
    assert PriceHistory.objects.count() == 0


def test_import_prices_refuses_a_folder_without_price_files(tmp_path):
    with pytest.raises(CommandError, match="no eth-usd-max"):
        call_command("import_prices", "--data-dir", str(tmp_path))
    with pytest.raises(CommandError, match="not found"):
        call_command("import_prices", "--data-dir", str(tmp_path / "missing"))


def test_a_day_already_stored_with_another_price_keeps_it_and_is_reported(tmp_path):
    eth = native("ethereum")
    first_day = datetime(2015, 8, 7, tzinfo=UTC)
    PriceHistory.objects.create(asset=eth, timestamp=first_day, price_usd=Decimal("3"), source="analyst")
    (tmp_path / "eth-usd-max.csv").write_text("\n".join(ETH_CSV.read_text().splitlines()[:3]) + "\n")
    out = StringIO()

    call_command("import_prices", "--data-dir", str(tmp_path), stdout=out)

    assert stored(eth)[first_day] == Decimal("3")
    assert stored(eth)[datetime(2015, 8, 8, tzinfo=UTC)] == Decimal("1.33075")
    assert ("eth-usd-max.csv -> ETH: 2 rows read, 1 inserted, 1 skipped (already stored, 1 differ from the stored "
            "price), 0 bad") in out.getvalue()


# --- asset files (import_prices --asset-file): assets the recordings do not price, e.g. make demo-chain's ---------

TOKEN = "0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9"  # an address of our own node's token (anvil, make demo-chain)


def test_an_asset_file_creates_its_missing_assets_and_stores_its_prices_under_its_source(tmp_path):
    eth_price = csv_price_on(ETH_CSV, "2025-06-05")  # the last recorded ETH price, restamped as the demo does
    path = tmp_path / "assets.yaml"
    path.write_text(f"""\
source: simulated:demo-chain
assets:
  - chain: ethereum
    contract_address: ""
    symbol: ETH
    prices:
      - {{timestamp: "2026-12-03T08:30:09+00:00", price_usd: "{eth_price}"}}
  - chain: ethereum
    contract_address: "{TOKEN.upper().replace("0X", "0x")}"
    symbol: DEMO-A
    name: Demo token A (local simulation)
    decimals: 18
    prices:
      - {{timestamp: "2026-12-03T08:30:09Z", price_usd: "26.10343189828259"}}
      - {{timestamp: "2026-12-03T09:30:09+01:00", price_usd: "27"}}
""")
    out = StringIO()

    call_command("import_prices", "--asset-file", str(path), stdout=out)

    token = Asset.objects.get(chain="ethereum", contract_address=TOKEN)
    assert (token.symbol, token.name, token.decimals, token.metadata_source, token.price_reference) == (
        "DEMO-A", "Demo token A (local simulation)", 18, "", None)
    instant = datetime(2026, 12, 3, 8, 30, 9, tzinfo=UTC)
    assert stored(token) == {instant: Decimal("26.10343189828259")}  # 09:30+01:00 is the same instant: first wins
    assert stored(native("ethereum")) == {instant: eth_price}
    assert set(PriceHistory.objects.values_list("source", flat=True)) == {"simulated:demo-chain"}
    assert (f"assets.yaml (source 'simulated:demo-chain'): assets created: DEMO-A (ethereum {TOKEN}); "
            "already stored, kept: ETH (ethereum native)") in out.getvalue()
    assert "import_prices: 2 prices inserted, 0 already stored, 0 bad entries" in out.getvalue()

    again = StringIO()
    call_command("import_prices", "--asset-file", str(path), stdout=again)
    assert "import_prices: 0 prices inserted, 2 already stored, 0 bad entries" in again.getvalue()
    assert Asset.objects.filter(symbol="DEMO-A").count() == 1 and PriceHistory.objects.count() == 2


def test_unusable_asset_entries_are_reported_with_their_lines_and_the_rest_is_imported(tmp_path):
    path = tmp_path / "assets.yaml"
    path.write_text("""\
source: an analyst's sheet
assets:
  - chain: ethereum
    symbol: ETH
    decimals: 6
    prices: [{timestamp: "2026-01-01T00:00:00+00:00", price_usd: "1"}]
  - chain: bitcoin
    contract_address: "0x0000000000000000000000000000000000000001"
    symbol: BTX
  - chain: ethereum
    contract_address: "0x00000000000000000000000000000000000000aa"
    symbol: NEW
  - chain: ethereum
    contract_address: "0x00000000000000000000000000000000000000bb"
    symbol: GOOD
    decimals: 6
    prices:
      - {timestamp: "2026-01-01T00:00:00", price_usd: "1"}
      - {timestamp: "2026-01-01T00:00:00+00:00", price_usd: 1.1}
      - {timestamp: "2026-01-02T00:00:00+00:00", price_usd: "-2"}
      - {timestamp: "2026-01-03T00:00:00+00:00", price_usd: "0.5"}
""")
    out, err = StringIO(), StringIO()

    call_command("import_prices", "--asset-file", str(path), stdout=out, stderr=err)

    assert err.getvalue().splitlines() == [
        "  assets.yaml:3: ETH (ethereum native): stored as ETH with 18 decimals; kept, nothing imported",
        "  assets.yaml:7: bitcoin has no token contracts",
        "  assets.yaml:10: NEW (ethereum 0x00000000000000000000000000000000000000aa): decimals are required for a "
        "new asset",
        "  assets.yaml:18: GOOD (ethereum 0x00000000000000000000000000000000000000bb): timestamp "
        "'2026-01-01T00:00:00' must be ISO-8601 with its UTC offset",
        "  assets.yaml:19: GOOD (ethereum 0x00000000000000000000000000000000000000bb): price_usd 1.1 must be a "
        "quoted decimal string (exact, never a float)",
        "  assets.yaml:20: GOOD (ethereum 0x00000000000000000000000000000000000000bb): price -2 is not positive",
    ]
    good = Asset.objects.get(contract_address="0x00000000000000000000000000000000000000bb")
    assert (good.symbol, good.decimals) == ("GOOD", 6)
    assert stored(good) == {datetime(2026, 1, 3, tzinfo=UTC): Decimal("0.5")}
    assert stored(native("ethereum")) == {}
    assert not Asset.objects.filter(symbol__in=["NEW", "BTX"]).exists()
    assert "1 prices inserted, 0 already stored, 6 bad entries" in out.getvalue()


@pytest.mark.parametrize(("text", "message"), [
    ("- just a list\n", "expected a mapping with 'source' and an 'assets' list"),
    ("assets: []\n", "'source' must name where the prices come from"),
    ("source: x\nassets: [\n", "while parsing"),
])
def test_an_unusable_asset_file_is_refused_and_nothing_is_imported(tmp_path, text, message):
    path = tmp_path / "assets.yaml"
    path.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("import_prices", "--asset-file", str(path))
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_prices", "--asset-file", str(tmp_path / "missing.yaml"))
    assert PriceHistory.objects.count() == 0
