"""The Celery app: broker from settings (Redis in production, in memory under make run), schedules from
django-celery-beat rows. Tasks are found in each installed app's ``tasks`` module, and in the packages
listed below that keep tasks in a room of their own."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")

app = Celery("whaletrack")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.autodiscover_tasks(["whales.analytics"])
