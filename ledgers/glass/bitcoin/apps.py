from django.apps import AppConfig


class BitcoinConfig(AppConfig):
    name = "ledgers.glass.bitcoin"
    label = "bitcoin"
    verbose_name = "Glass: Bitcoin"

    def ready(self) -> None:
        from ledgers.glass.bitcoin import collector  # noqa: F401  (registers the collectors)
