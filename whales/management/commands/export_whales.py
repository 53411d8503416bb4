"""``manage.py export_whales FILE``: the whale list in the format ``import_whales`` reads (CSV or YAML)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from whales.importers import WhaleFileUnreadable, whale_file_rows, whale_file_write
from whales.selectors import whale_list_with_labels


class Command(BaseCommand):
    help = (
        "Write the whales to FILE (.csv or .yaml/.yml) in the format import_whales reads (columns chain, address, "
        "entity, labels, type, notes, name), so `import_whales FILE` recreates them: an analyst's list round-trips. "
        "Labels are written by name when the name slugifies back to the slug, else by slug; type only when an "
        "analyst set it. Sorted by chain and address, so an unchanged list gives the same bytes. Cells are written as "
        "stored, not formula-escaped (the file must read back exactly): open it in a spreadsheet as text."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--label-source", default=None,
                            help="Only labels from this provenance source (e.g. 'analyst-import:desk.csv'), and "
                                 "only the whales that carry one.")
        parser.add_argument("--tracked-only", action="store_true", help="Only tracked whales.")

    def handle(self, *args, file: Path, label_source: str | None = None, tracked_only: bool = False,
               **options) -> None:
        whales = whale_list_with_labels()
        if tracked_only:
            whales = whales.filter(is_tracked=True)
        if label_source is not None:
            whales = whales.filter(whale_labels__source=label_source).distinct()
        rows = whale_file_rows(whales=whales, label_source=label_source)
        try:
            whale_file_write(path=file, rows=rows)
        except (WhaleFileUnreadable, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{file.name}: {len(rows)} whales written")
