from django.apps import AppConfig


class HyperliquidConfig(AppConfig):
    name = "ledgers.hyperliquid"
    label = "hyperliquid"
    verbose_name = "Hyperliquid ledger"

    def ready(self) -> None:
        from ledgers.hyperliquid import collector  # noqa: F401  (registers the collectors)
