"""Writes of market data: PriceHistory from the CoinGecko CSV exports and from the live API.

Every write is idempotent on the natural key (asset, timestamp): ``bulk_create(ignore_conflicts=True)``
stores a price once, and a recorded price at an instant is never overwritten (the first source wins;
an analyst fixes a wrong one in the admin).
"""

import csv
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Context, Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.db import connection, transaction

from ledgers.exchange.market.client import CoinGeckoClient, PriceSourceError, PriceSourceUnavailable
from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.exchange.market.types import PricePoint
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.chains import EVM_CHAINS, Chain, normalize_address
from whales.errors import ApplicationError, InvalidParameter
from whales.models import RunStatus

logger = logging.getLogger(__name__)

_PRICE_FIELD = PriceHistory._meta.get_field("price_usd")
# NUMERIC(38, 18): 18 decimal places, at most 20 integer digits.
PRICE_QUANTUM = Decimal(1).scaleb(-_PRICE_FIELD.decimal_places)
PRICE_LIMIT = Decimal(10) ** (_PRICE_FIELD.max_digits - _PRICE_FIELD.decimal_places)
BATCH_SIZE = 1000
SNAPPED_AT_FORMAT = "%Y-%m-%d %H:%M:%S UTC"

# The recorded CoinGecko exports (../shared/data/prices-coingecko-daily-csv, PROVENANCE.md there):
# file name pattern -> (chain, contract_address) of the native coin they price.
RECORDED_PRICE_FILES: dict[str, tuple[str, str]] = {
    "eth-usd-max*.csv": (Chain.ETHEREUM, ""),
    "btc-usd-max*.csv": (Chain.BITCOIN, ""),
}


@dataclass(frozen=True, slots=True)
class BadRow:
    """One CSV row that was not imported: 1-based physical line number and why."""

    line: int
    reason: str


@dataclass(slots=True)
class ImportReport:
    """What ``prices_import_csv`` did with one file.

    rows_read = inserted + skipped + len(bad). ``skipped`` rows were already stored (from an earlier
    run or another file); ``conflicting`` counts those among them whose stored price differs.
    """

    path: Path
    symbol: str
    rows_read: int = 0
    inserted: int = 0
    skipped: int = 0
    conflicting: int = 0
    bad: list[BadRow] = field(default_factory=list)


def price_normalize(price: Decimal) -> Decimal:
    """``price`` rounded (half-even) to PriceHistory's 18 decimal places, as the database stores it.

    Raises: ValueError when it is not finite, not positive, or too large for NUMERIC(38, 18).
    """
    if not price.is_finite():
        raise ValueError(f"price {price} is not a finite number")
    if price <= 0:
        raise ValueError(f"price {price} is not positive")
    if price >= PRICE_LIMIT:
        raise ValueError(f"price {price} does not fit NUMERIC(38, 18)")
    exponent = price.as_tuple().exponent  # an int: the price is finite
    return price.quantize(PRICE_QUANTUM) if int(exponent) < -_PRICE_FIELD.decimal_places else price


def _csv_row_parse(row: list[str], *, time_col: int, price_col: int, width: int) -> PricePoint:
    """``(snapped_at as aware UTC, price)`` of one CSV row; ValueError with the reason otherwise."""
    if len(row) != width:
        raise ValueError(f"expected {width} columns, got {len(row)}")
    raw_time, raw_price = row[time_col].strip(), row[price_col].strip()
    try:
        timestamp = datetime.strptime(raw_time, SNAPPED_AT_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"snapped_at {raw_time!r} is not 'YYYY-MM-DD HH:MM:SS UTC'") from None
    try:
        price = Decimal(raw_price)  # from the CSV text: exact, never through float
    except InvalidOperation:
        raise ValueError(f"price {raw_price!r} is not a decimal number") from None
    return PricePoint(timestamp, price_normalize(price))


def _same_price(stored: Decimal, new: Decimal) -> bool:
    """Whether a stored price is ``new`` as far as the database can tell.

    SQLite keeps decimals as doubles and Django reads them back with 15 significant digits
    (STACK.md pitfall 1); there ``new`` is compared as SQLite would return it. (The float is only
    that simulation of the storage, never a value that is kept.)
    """
    if stored == new:
        return True
    return connection.vendor == "sqlite" and stored == _SQLITE_PRECISION.create_decimal_from_float(float(new))


_SQLITE_PRECISION = Context(prec=15)


def _rows_store(*, asset: Asset, prices: dict[datetime, Decimal], source: str) -> tuple[int, int, int]:
    """Insert the ``prices`` of ``asset`` not stored yet; return (inserted, skipped, conflicting)."""
    if not prices:
        return 0, 0, 0
    with transaction.atomic():
        stored = dict(
            PriceHistory.objects.filter(asset=asset, timestamp__range=(min(prices), max(prices)))
            .values_list("timestamp", "price_usd")
        )
        conflicting = sum(1 for t, p in prices.items() if t in stored and not _same_price(stored[t], p))
        new = [PriceHistory(asset=asset, timestamp=t, price_usd=p, source=source)
               for t, p in prices.items() if t not in stored]
        before = PriceHistory.objects.filter(asset=asset).count()
        # ignore_conflicts still guards against a concurrent writer storing the same instant.
        PriceHistory.objects.bulk_create(new, ignore_conflicts=True, batch_size=BATCH_SIZE)
        inserted = PriceHistory.objects.filter(asset=asset).count() - before
    return inserted, len(prices) - inserted, conflicting


def prices_import_csv(*, path: Path, asset: Asset) -> ImportReport:
    """Import one CoinGecko "export CSV" file as PriceHistory rows of ``asset``; idempotent.

    Source: a file with header ``snapped_at,price,market_cap,total_volume`` (CoinGecko's download,
        e.g. ../shared/data/prices-coingecko-daily-csv/eth-usd-max.csv), read in place.
    Units: ``price`` is USD per coin, parsed as Decimal from the text; timestamp = ``snapped_at``
        (daily 00:00 UTC), aware UTC. Stored with source ``coingecko-csv:<file name>``.
    Shape: a row that cannot be parsed (column count, date, price, duplicate day) is logged
        (``market.import.bad_row``) and listed in ``report.bad`` with its line number; the others
        are stored in one transaction. Days already stored are skipped (``report.skipped``).
    Raises: OSError when the file cannot be read; ValueError when the header lacks
        ``snapped_at`` or ``price`` (nothing is imported then).
    """
    report = ImportReport(path=path, symbol=asset.symbol)
    prices: dict[datetime, Decimal] = {}
    first_line: dict[datetime, int] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        if "snapped_at" not in header or "price" not in header:
            raise ValueError(f"{path.name}: header {header!r} lacks 'snapped_at' and 'price'")
        time_col, price_col, width = header.index("snapped_at"), header.index("price"), len(header)
        for row in reader:
            if not row:  # a blank line is not a row
                continue
            report.rows_read += 1
            try:
                timestamp, price = _csv_row_parse(row, time_col=time_col, price_col=price_col, width=width)
                if timestamp in first_line:
                    raise ValueError(f"duplicate snapped_at {timestamp:%Y-%m-%d %H:%M:%S} (first on line "
                                     f"{first_line[timestamp]})")
            except ValueError as exc:
                bad = BadRow(line=reader.line_num, reason=str(exc))
                report.bad.append(bad)
                logger.warning("market.import.bad_row", extra={"file": str(path), "line": bad.line,
                                                               "reason": bad.reason})
                continue
            first_line[timestamp] = reader.line_num
            prices[timestamp] = price
    report.inserted, report.skipped, report.conflicting = _rows_store(
        asset=asset, prices=prices, source=f"coingecko-csv:{path.name}"[:100])
    logger.info("market.import.file", extra={"file": str(path), "symbol": asset.symbol, "read": report.rows_read,
                                             "inserted": report.inserted, "skipped": report.skipped,
                                             "bad": len(report.bad)})
    return report


def _data_rows(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for line in handle if line.strip()) - 1


def price_files_find(*, data_dir: Path) -> list[tuple[Path, Asset]]:
    """The recorded price CSVs in ``data_dir`` with the asset each prices, in import order.

    Source: RECORDED_PRICE_FILES (file pattern -> native coin). Shape: per asset, the file with the
        most rows first, so the longer series wins a day both have and the others only fill gaps.
    Raises: Asset.DoesNotExist when a coin's Asset row is missing (migration 0002 seeds ETH and BTC).
    """
    found: list[tuple[Path, Asset]] = []
    for pattern, (chain, contract) in RECORDED_PRICE_FILES.items():
        paths = sorted(data_dir.glob(pattern), key=lambda p: (-_data_rows(p), p.name))
        if paths:
            asset = Asset.objects.get(chain=chain, contract_address=contract)
            found.extend((path, asset) for path in paths)
    return found


def prices_store(*, asset: Asset, points: Iterable[PricePoint], source: str) -> int:
    """Store ``(aware UTC datetime, USD price)`` points of ``asset``; return how many were new.

    Units: USD per coin, rounded to 18 decimal places. A point with an unusable price is logged
        (``market.prices.bad_point``) and skipped; a repeated instant keeps its first price.
    """
    prices: dict[datetime, Decimal] = {}
    for timestamp, price in points:
        try:
            prices.setdefault(timestamp, price_normalize(price))
        except ValueError as exc:
            logger.warning("market.prices.bad_point", extra={"symbol": asset.symbol, "timestamp": timestamp,
                                                             "reason": str(exc)})
    return _rows_store(asset=asset, prices=prices, source=source)[0]


# --- asset files: assets the recordings do not price, with their prices --------------------------------

ASSET_FILE_SOURCE_MAX: int = PriceHistory._meta.get_field("source").max_length or 100
MAX_DECIMALS = 77  # 10**77 < 2**256: more decimals than any uint256 amount can use


class AssetFileUnreadable(Exception):
    """The asset file itself cannot be used: missing, not YAML, not the documented shape, or no ``source``."""


@dataclass(slots=True)
class AssetFileReport:
    """What ``assets_import_file`` did: the assets it created and those already stored (``kept``, never
    changed), price points inserted and already stored, and the entries it rejected (1-based line, why)."""

    path: Path
    source: str
    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    inserted: int = 0
    skipped: int = 0
    bad: list[BadRow] = field(default_factory=list)


def _asset_file_load(path: Path) -> tuple[str, list[tuple[int, Any, list[int]]]]:
    """(source, [(line of the asset entry, the entry, lines of its price points)]) of an asset file."""
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise AssetFileUnreadable(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode) or not isinstance(data.get("assets"), list):
        raise AssetFileUnreadable(f"{path}: expected a mapping with 'source' and an 'assets' list")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip() or len(source) > ASSET_FILE_SOURCE_MAX:
        raise AssetFileUnreadable(f"{path}: 'source' must name where the prices come from "
                                  f"(1 to {ASSET_FILE_SOURCE_MAX} characters)")
    assets_node = next(value for key, value in root.value if key.value == "assets")
    entries = []
    for node, entry in zip(assets_node.value, data["assets"], strict=True):
        price_lines: list[int] = []
        if isinstance(node, yaml.MappingNode):
            prices_node = next((value for key, value in node.value if key.value == "prices"), None)
            if isinstance(prices_node, yaml.SequenceNode):
                price_lines = [item.start_mark.line + 1 for item in prices_node.value]
        entries.append((node.start_mark.line + 1, entry, price_lines))
    return source.strip(), entries


def _price_point_parse(raw: Any) -> PricePoint:
    """``PricePoint`` of one ``{timestamp, price_usd}`` entry; ValueError with the reason otherwise."""
    if not isinstance(raw, dict):
        raise ValueError("a price point is a mapping with 'timestamp' and 'price_usd'")
    when = raw.get("timestamp")
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            raise ValueError(f"timestamp {raw.get('timestamp')!r} is not ISO-8601") from None
    if not isinstance(when, datetime) or when.tzinfo is None:
        raise ValueError(f"timestamp {raw.get('timestamp')!r} must be ISO-8601 with its UTC offset")
    price = raw.get("price_usd")
    if isinstance(price, bool) or not isinstance(price, str | int):
        raise ValueError(f"price_usd {price!r} must be a quoted decimal string (exact, never a float)")
    try:
        value = Decimal(str(price).strip())
    except InvalidOperation:
        raise ValueError(f"price_usd {price!r} is not a decimal number") from None
    return PricePoint(when.astimezone(UTC), price_normalize(value))


def _asset_entry(entry: Any) -> tuple[str, str, str, str, int | None]:
    """(chain, contract_address, symbol, name, decimals) of an asset entry; ValueError with the reason."""
    if not isinstance(entry, dict):
        raise ValueError("an asset entry is a mapping")
    chain, symbol = str(entry.get("chain") or "").strip().lower(), str(entry.get("symbol") or "").strip()
    if not symbol:
        raise ValueError("missing symbol")
    if chain not in Chain.values:
        raise ValueError(f"unknown chain {chain!r}")
    contract = str(entry.get("contract_address") or "").strip()
    if contract:
        if Chain(chain) not in EVM_CHAINS:
            raise ValueError(f"{chain} has no token contracts")
        try:
            contract = normalize_address(chain, contract)
        except ApplicationError as exc:
            raise ValueError(str(exc)) from None
    decimals = entry.get("decimals")
    if decimals is not None and (isinstance(decimals, bool) or not isinstance(decimals, int)
                                 or not 0 <= decimals <= MAX_DECIMALS):
        raise ValueError(f"decimals {decimals!r} must be an integer from 0 to {MAX_DECIMALS}")
    return chain, contract, symbol[:30], str(entry.get("name") or symbol).strip()[:100], decimals


def assets_import_file(*, path: Path) -> AssetFileReport:
    """Import an asset file: assets the recordings do not price (a token of one's own node, the demo chain's
    tokens) and their USD prices, all from the file's ``source``. Idempotent.

    Source: a YAML file, e.g. ``var/demo-chain/assets.yaml`` written by ``scripts/demo_chain.py``::

        source: simulated:demo-chain        # stored as each PriceHistory row's source
        assets:
          - chain: ethereum
            contract_address: ""            # "" (or absent) = the chain's native coin
            symbol: ETH
            prices:
              - {timestamp: "2026-12-03T08:30:00+00:00", price_usd: "2610.34"}
          - chain: ethereum
            contract_address: "0x..."
            symbol: DEMO-A
            name: Demo token A (local simulation)
            decimals: 18                    # required for an asset not stored yet
            prices: [...]

    Shape: an asset is found by (chain, contract_address). One not stored yet is created as curated
        (``metadata_source`` ""); one stored is kept exactly as it is, and the entry is rejected when its
        symbol or decimals differ from the stored ones (the address would then be another asset than the file
        means; fix it in the admin). Prices are stored like ``prices_store`` (USD per coin, 18 decimal
        places; an instant already stored keeps its first price). An entry or price point that cannot be used
        is listed in ``bad`` with its line and skipped; the rest is imported.
    Units: ``price_usd`` a quoted decimal (never a float), ``timestamp`` ISO-8601 with its UTC offset.
    Raises: AssetFileUnreadable when the file itself cannot be used (nothing is imported then).
    """
    source, entries = _asset_file_load(path)
    report = AssetFileReport(path=path, source=source)
    for line, entry, price_lines in entries:
        try:
            chain, contract, symbol, name, decimals = _asset_entry(entry)
        except ValueError as exc:
            report.bad.append(BadRow(line=line, reason=str(exc)))
            continue
        label = f"{symbol} ({chain} {contract or 'native'})"
        points: dict[datetime, Decimal] = {}
        for index, raw in enumerate(entry.get("prices") or []):
            try:
                timestamp, price = _price_point_parse(raw)
            except ValueError as exc:
                report.bad.append(BadRow(line=price_lines[index] if index < len(price_lines) else line,
                                         reason=f"{label}: {exc}"))
                continue
            points.setdefault(timestamp, price)
        with transaction.atomic():
            asset = Asset.objects.filter(chain=chain, contract_address=contract).first()
            if asset is None:
                if decimals is None:
                    report.bad.append(BadRow(line=line, reason=f"{label}: decimals are required for a new asset"))
                    continue
                asset = Asset.objects.create(chain=chain, contract_address=contract, symbol=symbol, name=name,
                                             decimals=decimals)
                report.created.append(label)
            elif asset.symbol != symbol or (decimals is not None and asset.decimals != decimals):
                report.bad.append(BadRow(line=line, reason=(
                    f"{label}: stored as {asset.symbol} with {asset.decimals} decimals"
                    f"{f' (from {asset.metadata_source})' if asset.metadata_source else ''}; kept, nothing imported")))
                continue
            else:
                report.kept.append(label)
            inserted, skipped, _ = _rows_store(asset=asset, prices=points, source=source)
        report.inserted += inserted
        report.skipped += skipped
    logger.info("market.import.asset_file", extra={
        "file": str(path), "source": source, "created": len(report.created), "inserted": report.inserted,
        "bad": len(report.bad)})
    return report


def prices_update(*, client: CoinGeckoClient, days: int = 2) -> int:
    """Fetch the last ``days`` days of USD prices for every priceable asset; return rows inserted.

    Source: ``client.market_chart`` per distinct coingecko_id of the assets that have one and are
        neither stablecoins (fixed at 1 USD) nor priced through ``price_reference`` (WETH, WBTC).
    Units: USD per coin at CoinGecko's instants (hourly for 2-90 days), stored as source ``coingecko-api``.
    Shape: network I/O happens outside transactions; each asset's rows are stored in one transaction,
        so a run killed half-way keeps what it stored and a re-run inserts only what is missing.
    Raises: PriceSourceUnavailable (retryable) as soon as one fetch fails that way. A PriceSourceError
        for one coin (e.g. an id CoinGecko does not know: 404) is logged and that coin skipped;
        if every coin failed so, the last PriceSourceError is raised.
    """
    assets = (Asset.objects.exclude(coingecko_id="")
              .filter(is_stablecoin=False, price_reference__isnull=True).order_by("id"))
    by_coin: dict[str, list[Asset]] = {}
    for asset in assets:
        by_coin.setdefault(asset.coingecko_id, []).append(asset)
    inserted = 0
    failures: list[PriceSourceError] = []
    for coin_id, coin_assets in by_coin.items():
        try:
            points = client.market_chart(coin_id=coin_id, days=days)
        except PriceSourceError as exc:
            failures.append(exc)
            logger.warning("market.prices.coin_failed", extra={"coin_id": coin_id, "error": str(exc)})
            continue
        for asset in coin_assets:
            inserted += prices_store(asset=asset, points=points, source="coingecko-api")
    if by_coin and len(failures) == len(by_coin):
        raise failures[-1]
    logger.info("market.prices.updated", extra={"coins": len(by_coin), "failed": len(failures),
                                                "inserted": inserted})
    return inserted


COLLECTOR_NAME = "market"
MAX_PRICE_DAYS = 365  # CoinGecko answers hourly points up to 90 days, daily beyond


def prices_collect(*, api_url: str | None = None, days: int = 2) -> CollectorResult:
    """Registry entry point: one ``prices_update`` run on ``api_url`` (default COINGECKO_API_URL), logged in
    the run log. ``days`` is 1 to MAX_PRICE_DAYS. Raises: InvalidParameter for ``days`` out of range (nothing
    ran); a source failure is returned (status "failed", ``failure`` set)."""
    if not 1 <= days <= MAX_PRICE_DAYS:
        raise InvalidParameter(f"days must be 1 to {MAX_PRICE_DAYS}, not {days}")
    run = collector_run_start(collector=COLLECTOR_NAME)
    client = CoinGeckoClient.from_settings(api_url)
    try:
        inserted = prices_update(client=client, days=days)
    except (PriceSourceUnavailable, PriceSourceError) as exc:
        error = f"{type(exc).__name__}: {exc}"
        collector_run_finish(run=run, status=RunStatus.FAILED, error=error)
        return CollectorResult(collector=COLLECTOR_NAME, status=RunStatus.FAILED, error=error, failure=exc)
    finally:
        client.close()
    run.items_written = inserted
    collector_run_finish(run=run, status=RunStatus.OK)
    return CollectorResult(collector=COLLECTOR_NAME, status=RunStatus.OK, items_written=inserted)
