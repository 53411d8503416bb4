from django.apps import AppConfig


class LedgersConfig(AppConfig):
    """The collector kit every ledger shares: registry, cursors, run log, HTTP and EVM transports, budgets."""

    name = "ledgers"
    label = "ledgers"
    verbose_name = "Collectors"

    def ready(self) -> None:
        from ledgers.quality import kit_checks_register
        from whales.readcache import read_cache_scope_register

        kit_checks_register()
        # The dashboard summary's collector freshness is cached: a run log row written drops it.
        read_cache_scope_register("collectors", table_prefixes=["ledgers_collectorrun"])
