from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "ledgers.exchange.market"
    label = "market"
    verbose_name = "Exchange: market"
