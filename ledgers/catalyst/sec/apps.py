from django.apps import AppConfig


class SecConfig(AppConfig):
    name = "ledgers.catalyst.sec"
    label = "sec"
    verbose_name = "Catalyst: SEC EDGAR"

    def ready(self) -> None:
        from ledgers.catalyst.sec import (
            collector,  # noqa: F401  (registers the collectors)
            quality,
        )

        quality.register()
