"""``python manage.py serve_nginx``: the production layout's front door (the Procfile's ``front``).

Renders SERVE_DIR/nginx/nginx.conf from ``whaletrack/nginx.conf.template`` and the ``SERVE_*`` settings, then
replaces this process with nginx in the foreground, so the process manager's signals reach nginx itself.
"""

import os
from typing import Any

from django.core.management.base import BaseCommand

from whaletrack.serve import nginx_prepare


class Command(BaseCommand):
    help = "Render the nginx config from the SERVE_* settings and run nginx in the foreground (make serve)."

    def handle(self, *args: Any, **options: Any) -> None:
        argv = nginx_prepare()
        self.stdout.write(" ".join(argv))
        self.stdout.flush()
        os.execv(argv[0], argv)  # noqa: S606  (nginx, found by nginx_binary, with our rendered config)
