"""``python manage.py serve_prepare``: what ``make serve`` does before it starts the Procfile's processes.

It refuses a layout that cannot work across processes: SQLite or no Redis (each process would have its own
in-memory broker and channel layer), or no nginx. Then it migrates and collects the static files that
gunicorn serves through WhiteNoise (DJANGO_STATIC_ROOT). Both steps are idempotent.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from whaletrack.serve import nginx_binary


class Command(BaseCommand):
    help = "Check the production layout's settings, migrate and collect static files (make serve runs it first)."

    def handle(self, *args: Any, **options: Any) -> None:
        problems = []
        if connection.vendor != "postgresql":
            problems.append(f"DATABASE_URL must name PostgreSQL (it is {connection.vendor})")
        if not settings.REDIS_URL:
            problems.append("REDIS_URL must be set (the broker, channel layer and cache the processes share)")
        try:
            nginx = nginx_binary(settings.SERVE_NGINX)
        except ImproperlyConfigured as exc:
            problems.append(str(exc))
        if problems:
            raise CommandError("make serve needs: " + "; ".join(problems))
        call_command("migrate", interactive=False, verbosity=1)
        call_command("collectstatic", interactive=False, verbosity=1)
        self.stdout.write(f"Front door http://{settings.SERVE_HOST}:{settings.SERVE_PORT} (nginx {nginx}): /ws/ -> "
                          f"{', '.join(settings.SERVE_WS_UPSTREAMS)}, the rest -> "
                          f"{', '.join(settings.SERVE_HTTP_UPSTREAMS)}")
