from django.apps import AppConfig


class HyperliquidConfig(AppConfig):
    name = "ledgers.glass.hyperliquid"
    label = "hyperliquid"
    verbose_name = "Glass: Hyperliquid"

    def ready(self) -> None:
        from ledgers.glass.hyperliquid import (
            collector,  # noqa: F401  (registers the collectors)
            quality,
        )

        quality.register()
