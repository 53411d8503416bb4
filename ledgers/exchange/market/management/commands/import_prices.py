"""``manage.py import_prices [--data-dir DIR] [--asset-file FILE]``: the recorded CoinGecko daily CSVs ->
PriceHistory; or an asset file (assets the recordings do not price, with their prices) -> Asset, PriceHistory."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledgers.exchange.market.models import Asset
from ledgers.exchange.market.services import (
    AssetFileUnreadable,
    assets_import_file,
    price_files_find,
    prices_import_csv,
)


class Command(BaseCommand):
    help = (
        "Import CoinGecko daily price CSVs (eth-usd-max*.csv -> ETH, btc-usd-max*.csv -> BTC; the longest "
        "BTC series first, the others fill its gaps). Idempotent: days already stored are skipped. With "
        "--asset-file, import that YAML file instead: assets (created when missing, never changed when stored) "
        "and their prices, stored with the file's 'source' (e.g. the simulated prices scripts/demo_chain.py "
        "writes to var/demo-chain/assets.yaml)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir", type=Path, default=None,
            help="Folder with the CSVs, read in place (default: REPLAY_DATA_DIR/prices-coingecko-daily-csv).",
        )
        parser.add_argument(
            "--asset-file", type=Path, default=None,
            help="A YAML asset file (format: ledgers.exchange.market.services.assets_import_file) to import "
                 "instead of the CSVs.",
        )

    def handle(self, *args, data_dir: Path | None = None, asset_file: Path | None = None, **options) -> None:
        if asset_file is not None:
            self.import_asset_file(asset_file)
            return
        data_dir = data_dir or Path(settings.REPLAY_DATA_DIR) / "prices-coingecko-daily-csv"
        if not data_dir.is_dir():
            raise CommandError(f"price data folder not found: {data_dir}")
        try:
            files = price_files_find(data_dir=data_dir)
        except Asset.DoesNotExist as exc:
            raise CommandError("ETH/BTC assets are missing: run `manage.py migrate` (market 0002)") from exc
        if not files:
            raise CommandError(f"no eth-usd-max*.csv or btc-usd-max*.csv in {data_dir}")
        total_bad, failed = 0, []
        for path, asset in files:
            try:
                report = prices_import_csv(path=path, asset=asset)
            except (OSError, ValueError) as exc:  # an unreadable file: report it, import the others
                self.stderr.write(f"{path}: not imported: {exc}")
                failed.append(path.name)
                continue
            for bad in report.bad:
                self.stderr.write(f"  {path.name}:{bad.line}: {bad.reason}")
            total_bad += len(report.bad)
            conflicts = f", {report.conflicting} differ from the stored price" if report.conflicting else ""
            self.stdout.write(
                f"{path.name} -> {report.symbol}: {report.rows_read} rows read, {report.inserted} inserted, "
                f"{report.skipped} skipped (already stored{conflicts}), {len(report.bad)} bad"
            )
        style = self.style.WARNING if total_bad else self.style.SUCCESS
        self.stdout.write(style(f"import_prices: {len(files) - len(failed)} files, {total_bad} bad rows"))
        if failed:
            raise CommandError(f"not imported: {', '.join(failed)}")

    def import_asset_file(self, path: Path) -> None:
        try:
            report = assets_import_file(path=path)
        except AssetFileUnreadable as exc:
            raise CommandError(str(exc)) from exc
        for bad in report.bad:
            self.stderr.write(f"  {path.name}:{bad.line}: {bad.reason}")
        self.stdout.write(f"{path.name} (source {report.source!r}): assets created: "
                          f"{', '.join(report.created) or '-'}; already stored, kept: {', '.join(report.kept) or '-'}")
        style = self.style.WARNING if report.bad else self.style.SUCCESS
        self.stdout.write(style(f"import_prices: {report.inserted} prices inserted, {report.skipped} already stored, "
                                f"{len(report.bad)} bad entries"))
