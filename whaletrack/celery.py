"""The Celery app: broker from settings (Redis in production), schedules from django-celery-beat rows."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")

app = Celery("whaletrack")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
