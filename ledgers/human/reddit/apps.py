from django.apps import AppConfig


class RedditConfig(AppConfig):
    name = "ledgers.human.reddit"
    label = "reddit"
    verbose_name = "Human: Reddit"

    def ready(self) -> None:
        from ledgers.human.reddit import (
            collector,  # noqa: F401  (registers the collector)
            quality,
        )

        quality.register()
