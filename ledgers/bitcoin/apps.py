from django.apps import AppConfig


class BitcoinConfig(AppConfig):
    name = "ledgers.bitcoin"
    label = "bitcoin"
    verbose_name = "Bitcoin ledger"

    def ready(self) -> None:
        from ledgers.bitcoin import collector  # noqa: F401  (registers the collectors)
