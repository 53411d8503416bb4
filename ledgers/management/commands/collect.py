"""``python manage.py collect NAME [options]``: one collector run in the foreground, with progress.

Each collector declares the options it takes (``ledgers.registry.CollectorOption``); ``--list`` shows
the collectors by ledger. An option another collector declares is refused for this one, before
anything runs.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ledgers.registry import Collector, CollectorOption, UnknownCollector, collector_get, collector_names
from ledgers.runlog import collector_execute
from whales.errors import ApplicationError
from whales.models import RunStatus


def _options_by_flag() -> dict[str, tuple[CollectorOption, list[str]]]:
    """Every declared option once, with the collectors that take it (same flag = same keyword and type)."""
    merged: dict[str, tuple[CollectorOption, list[str]]] = {}
    for name in collector_names():
        for option in collector_get(name).options:
            known = merged.setdefault(option.flag, (option, []))
            if (known[0].kwarg, known[0].type) != (option.kwarg, option.type):
                raise CommandError(f"{option.flag} means two things: {known[1]} and {name} disagree")
            known[1].append(name)
    return merged


class Command(BaseCommand):
    help = "Run one collector once in the foreground with progress output (--list names them)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="collector name (see --list)", nargs="?")
        parser.add_argument("--list", action="store_true", help="list the registered collectors")
        for flag, (option, names) in sorted(_options_by_flag().items()):
            parser.add_argument(flag, dest=option.kwarg, type=option.type, help=f"({', '.join(names)}) {option.help}")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"] or not options["name"]:
            for name in collector_names():
                collector = collector_get(name)
                self.stdout.write(f"{collector.ledger:<9} {name}: {collector.description}")
            return
        try:
            collector = collector_get(options["name"])
        except UnknownCollector as exc:
            raise CommandError(str(exc)) from None
        kwargs = self._run_options(collector, options)
        try:
            result = collector_execute(collector.name, **kwargs)
        except ApplicationError as exc:  # bad input (e.g. an address that is not a tracked whale): nothing ran
            raise CommandError(str(exc)) from exc
        line = (f"{result.collector}: {result.status}, {result.blocks} blocks, {result.items_seen} items seen, "
                f"{result.items_written} written, {result.events_written} events")
        if result.status == RunStatus.FAILED:
            raise CommandError(f"{line}; error: {result.error}")
        self.stdout.write(self.style.SUCCESS(line))

    def _run_options(self, collector: Collector, options: dict[str, Any]) -> dict[str, Any]:
        """The keywords for ``collector.run``. Raises: CommandError for an option it does not take."""
        own = {option.kwarg for option in collector.options}
        unsupported = [flag for flag, (option, _) in _options_by_flag().items()
                       if options.get(option.kwarg) is not None and option.kwarg not in own]
        if unsupported:
            raise CommandError(f"{', '.join(sorted(unsupported))} does not apply to collector {collector.name!r}")
        kwargs = {kwarg: options[kwarg] for kwarg in own if options.get(kwarg) is not None}
        if collector.reports_progress:
            kwargs["progress"] = lambda progress: self.stdout.write(f"  {progress}")
        return kwargs
