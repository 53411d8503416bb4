"""``manage.py backfill_metrics``: daily wallet metrics for past days, from stored trades, openings and prices."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledgers.history import metrics_backfill
from whales.analytics.history import BackfillProgress
from whales.models import Whale

MAX_DAYS = 36_600  # a century: a bound on the input, far past any chain's history


class Command(BaseCommand):
    help = (
        "Rebuild WalletMetricsDaily for past days (up to yesterday, UTC) from stored trades, opening balances and "
        "daily prices (rules: whales/analytics/history.py). Every whale by default, or --whale ID (repeatable) / "
        "--chain; --days N writes only the last N days (the whole history by default). Idempotent: a re-run "
        "writes the same rows; killed part-way, re-run it."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--whale", type=int, action="append", dest="whale_ids", help="Whale id (repeatable).")
        parser.add_argument("--chain", choices=sorted({c for c, _ in Whale._meta.get_field("chain").choices or []}))
        parser.add_argument("--days", type=int, help=f"Only the last N days (1-{MAX_DAYS}).")

    def handle(self, *args, whale_ids: list[int] | None, chain: str | None, days: int | None, **options) -> None:
        if days is not None and not 1 <= days <= MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {MAX_DAYS}, not {days}")
        ids = whale_ids
        if chain is not None:
            chosen = Whale.objects.filter(chain=chain)
            if ids is not None:
                chosen = chosen.filter(pk__in=ids)
            ids = list(chosen.values_list("pk", flat=True))
        if whale_ids is not None:
            unknown = sorted(set(whale_ids) - set(Whale.objects.filter(pk__in=whale_ids).values_list("pk", flat=True)))
            if unknown:
                raise CommandError(f"no whale with id {', '.join(map(str, unknown))}")
        step = 1

        def progress(p: BackfillProgress) -> None:
            nonlocal step
            if p.done == p.total or p.done >= step:
                self.stdout.write(f"  {p.done}/{p.total} whales, {p.days_written} daily rows written")
                step = p.done + max(p.total // 20, 1)

        result = metrics_backfill(whale_ids=ids, days=days, progress=progress)
        self.stdout.write(self.style.SUCCESS(
            f"backfill: {result.whales} whales, {result.whales_written} with history, "
            f"{result.days_written} daily rows written"))
