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

from django.db import connection, transaction

from ledgers.exchange.market.client import CoinGeckoClient, PriceSourceError, PriceSourceUnavailable
from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.exchange.market.types import PricePoint
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.chains import Chain
from whales.errors import InvalidParameter
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
