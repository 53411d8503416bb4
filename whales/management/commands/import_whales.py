"""``manage.py import_whales FILE``: an analysts' whale list (CSV or YAML) -> Whale, Entity, Label."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from whales.importers import WhaleFileUnreadable, whale_file_read, whales_import_rows


class Command(BaseCommand):
    help = (
        "Import analysts' whales from FILE (.csv with a header row, or .yaml/.yml list). Columns/keys: "
        "chain, address (required), entity, labels (CSV: separated by ';' or '|'; YAML: a list), type "
        "(holder, trader, holder_trader, unclassified; sets type_is_manual), notes, name. Labels get the "
        "provenance source 'analyst-import:<file name>'. Idempotent. Bad rows are reported with their line "
        "number and skipped; the command fails only when the file itself is unreadable."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options) -> None:
        try:
            rows = whale_file_read(path=file)
        except WhaleFileUnreadable as exc:
            raise CommandError(str(exc)) from exc
        result = whales_import_rows(rows=rows, source=f"analyst-import:{file.name}", file=file.name)
        for bad in result.bad_rows:
            self.stderr.write(f"bad row: {bad}")
        self.stdout.write(
            f"{file.name}: {len(rows)} rows; whales {result.created} created, {result.updated} updated, "
            f"{result.unchanged} unchanged; {len(result.bad_rows)} bad rows skipped"
        )
