from django.apps import AppConfig


class ReplayConfig(AppConfig):
    name = "ledgers.replay"
    label = "replay"
    verbose_name = "Replay node"
