"""Registers the exchange announcements collector (imported by AnnouncementsConfig.ready)."""

from ledgers.catalyst.announcements.services import COLLECTOR_NAME, announcements_collect
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.CATALYST,
    run=announcements_collect,
    task="announcements.collect",
    description="Exchange announcement feeds (RSS/Atom) -> listings, maintenance, trading updates, features",
    stale_after_s=2 * 3600,
    options=(CollectorOption("--feed", "feed", str, "only this feed (its name in the admin)"),),
))
