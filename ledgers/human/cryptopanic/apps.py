from django.apps import AppConfig


class CryptoPanicConfig(AppConfig):
    """CryptoPanic news (human ledger): only with CRYPTOPANIC_API_KEY; its beat row is off until an operator
    enables it."""

    name = "ledgers.human.cryptopanic"
    label = "cryptopanic"
    verbose_name = "Human: CryptoPanic news"

    def ready(self) -> None:
        from ledgers.human.cryptopanic import collector  # noqa: F401  (registers the collector)
