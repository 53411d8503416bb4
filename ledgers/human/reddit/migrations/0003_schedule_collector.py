"""Schedule ``reddit.collect`` every 15 minutes (the source system's schedule) as a django-celery-beat row (tune
it in the admin). get_or_create keeps an analyst's edits; reversing deletes the row."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "reddit: collect subreddits"


def _bump(apps):
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15min, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(name=TASK_NAME, defaults={
        "task": "reddit.collect", "interval": every_15min, "expire_seconds": 900,
        "description": "Reddit listings of the followed subreddits -> posts with coins and VADER sentiment."})
    _bump(apps)


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    _bump(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("reddit", "0002_seed_subreddits"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
