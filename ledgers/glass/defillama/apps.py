from django.apps import AppConfig


class DefiLlamaConfig(AppConfig):
    name = "ledgers.glass.defillama"
    label = "defillama"
    verbose_name = "Glass: DeFiLlama"

    def ready(self) -> None:
        from ledgers.glass.defillama import collector  # noqa: F401  (registers the collector)
