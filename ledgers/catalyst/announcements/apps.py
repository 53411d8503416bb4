from django.apps import AppConfig


class AnnouncementsConfig(AppConfig):
    name = "ledgers.catalyst.announcements"
    label = "announcements"
    verbose_name = "Catalyst: exchange announcements"

    def ready(self) -> None:
        from ledgers.catalyst.announcements import collector  # noqa: F401  (registers the collector)
