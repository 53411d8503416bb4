"""``manage.py import_prices [--data-dir DIR]``: the recorded CoinGecko daily CSVs -> PriceHistory."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledgers.exchange.market.models import Asset
from ledgers.exchange.market.services import price_files_find, prices_import_csv


class Command(BaseCommand):
    help = (
        "Import CoinGecko daily price CSVs (eth-usd-max*.csv -> ETH, btc-usd-max*.csv -> BTC; the longest "
        "BTC series first, the others fill its gaps). Idempotent: days already stored are skipped."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--data-dir", type=Path, default=None,
            help="Folder with the CSVs, read in place (default: REPLAY_DATA_DIR/prices-coingecko-daily-csv).",
        )

    def handle(self, *args, data_dir: Path | None = None, **options) -> None:
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
