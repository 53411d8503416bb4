"""``python manage.py serve_ws``: the production layout's WebSocket server (the Procfile's ``ws``): daphne on
SERVE_DAPHNE_BIND serving ``whaletrack.asgi:application``; nginx routes ``/ws/`` to it and nothing else."""

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run daphne on SERVE_DAPHNE_BIND for the WebSockets (make serve)."

    def handle(self, *args: Any, **options: Any) -> None:
        from daphne.cli import CommandLineInterface

        from whaletrack.serve import daphne_arguments

        CommandLineInterface().run(daphne_arguments())
