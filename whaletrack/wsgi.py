"""WSGI entry point (gunicorn serves the REST API in production, STACK.md)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")
application = get_wsgi_application()
