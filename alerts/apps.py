from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and the live feed"

    def ready(self) -> None:
        from django.core import checks

        from alerts.targets import allowed_networks_check

        checks.register(allowed_networks_check)
