from django.apps import AppConfig


class WhalesConfig(AppConfig):
    name = "whales"
    verbose_name = "Whales"

    def ready(self) -> None:
        from whales.analytics.api.cache import smart_money_cache_hook_register
        from whales.logcontext import install as log_context_install
        from whales.readcache import read_cache_install

        log_context_install()  # every log record carries the request's or collector run's correlation id
        smart_money_cache_hook_register()  # a finished scoring run invalidates the smart-money cache
        read_cache_install()  # writes to whales_* tables drop the API's cached reads (whales.readcache)
