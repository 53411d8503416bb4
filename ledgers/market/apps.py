from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "ledgers.market"
    label = "market"
    verbose_name = "Market data"
