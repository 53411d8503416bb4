"""``manage.py import_labels``: public label sets -> Entity / KnownAddress (and the default whale list)."""

from collections import Counter
from pathlib import Path

import yaml
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from whales.importers import labels_import
from whales.labelsets import CONFLICT_RULES, FoundConflict, default_whales_select
from whales.models import ConflictField

DEFAULT_WHALE_RULE = default_whales_select.__doc__ or ""


class Command(BaseCommand):
    help = (
        "Import the Etherscan label cloud and the GraphSense TagPacks (read in place from REPLAY_DATA_DIR) "
        "into Entity and KnownAddress. Idempotent: a re-run prints 0 created. With --track-default-whales, "
        "also create the default whale list. DEFAULT WHALE LIST RULE: Ethereum = every ETH tag of the "
        "GraphSense reserve-wallet packs published by the exchanges (exchange-wallets-*.yaml) + Etherscan "
        "addresses of the major exchanges' numbered wallet series ('Binance 14', 'Kraken 4', and the "
        "series' unnumbered first wallet 'Binance') + every Etherscan 'fund' address + every Etherscan "
        "address owned by a known market maker (Alameda Research, Jump Trading, Wintermute, Cumberland, "
        "Amber Group, Auros Global, FalconX, Genesis Trading, ...); Bitcoin = every owner in "
        "richest_addresses.yaml + every BTC tag of the exchange-wallets-*.yaml packs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--data-dir", type=Path, default=None,
                            help="Folder holding the label sets (default: settings.REPLAY_DATA_DIR); one with "
                                 "only labels-graphsense-tagpacks/*.yaml (one's own TagPacks and actor pack, "
                                 "e.g. var/demo-chain/labels from make demo-chain) works too.")
        parser.add_argument("--track-default-whales", action="store_true",
                            help="Also create the default whale list (rule above) as tracked Whales.")
        parser.add_argument("--conflicts-shown", type=int, default=20, metavar="N",
                            help="Print the first N label conflicts (default 20; all are in the admin under "
                                 "'Label conflicts').")

    def handle(self, *args, data_dir: Path | None = None, track_default_whales: bool = False,
               conflicts_shown: int = 20, **options) -> None:
        data_dir = Path(data_dir or settings.REPLAY_DATA_DIR)
        try:
            result = labels_import(data_dir=data_dir, track_default_whales=track_default_whales)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise CommandError(f"cannot read the label sets under {data_dir}: {exc}") from exc
        for report in result.files:
            self.stdout.write(f"{report.file}: {report.read} rows read, {report.kept} kept, "
                              f"{report.skipped} skipped (other currencies), {report.bad} bad")
        for bad in result.bad_rows:
            self.stderr.write(f"bad row: {bad}")
        self.stdout.write(
            f"entities: {result.entities_created} created; known addresses: {result.addresses_created} created, "
            f"{result.addresses_updated} updated, {result.addresses_unchanged} unchanged; "
            f"{len(result.bad_rows)} bad rows skipped"
        )
        self.conflicts_write(result.conflicts, shown=conflicts_shown)
        if track_default_whales:
            per_chain = ", ".join(f"{chain} {count}" for chain, count in result.default_whales.items())
            self.stdout.write(
                f"default whales: {per_chain}; whales: {result.whales_created} created, "
                f"{result.whales_updated} updated; labels: {result.labels_created} created; "
                f"whale labels: {result.whale_labels_created} created"
            )

    def conflicts_write(self, conflicts: list[FoundConflict], *, shown: int) -> None:
        """The summary (count per field), up to ``shown`` conflict lines, and each field's precedence rule once."""
        per_field = Counter(conflict.field for conflict in conflicts)
        self.stdout.write(f"label conflicts: {len(conflicts)} ("
                          + ", ".join(f"{name} {per_field[name]}" for name in ConflictField.values) + ")")
        for conflict in conflicts[:max(shown, 0)]:
            others = "; ".join(f"{v.source}={v.value!r}" for v in conflict.values
                               if (v.source, v.value) != (conflict.winner_source, conflict.winner_value))
            self.stdout.write(f"  {conflict.chain} {conflict.address} {conflict.field}: kept "
                              f"{conflict.winner_value!r} from {conflict.winner_source} over {others}")
        if len(conflicts) > shown:
            self.stdout.write(f"  ... {len(conflicts) - max(shown, 0)} more (admin: Label conflicts)")
        for name in sorted({conflict.field for conflict in conflicts}):
            self.stdout.write(f"  rule for {name}: {CONFLICT_RULES[name]}")
