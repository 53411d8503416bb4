from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "ledgers.exchange.market"
    label = "market"
    verbose_name = "Exchange: market"

    def ready(self) -> None:
        from ledgers.exchange.market import (
            collector,  # noqa: F401  (registers the collector)
            quality,
        )

        quality.register()
