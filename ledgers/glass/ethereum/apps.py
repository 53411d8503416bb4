from django.apps import AppConfig


class EthereumConfig(AppConfig):
    name = "ledgers.glass.ethereum"
    label = "ethereum"
    verbose_name = "Glass: Ethereum"

    def ready(self) -> None:
        from ledgers.glass.ethereum import collector  # noqa: F401  (registers the collector)
