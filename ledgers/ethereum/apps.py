from django.apps import AppConfig


class EthereumConfig(AppConfig):
    name = "ledgers.ethereum"
    label = "ethereum"
    verbose_name = "Ethereum ledger"

    def ready(self) -> None:
        from ledgers.ethereum import collector  # noqa: F401  (registers the collector)
