from django.apps import AppConfig


class LedgersConfig(AppConfig):
    """The collector kit every ledger shares: registry, cursors, run log, HTTP and EVM transports, budgets."""

    name = "ledgers"
    label = "ledgers"
    verbose_name = "Collectors"
