"""Schedule ``announcements.collect`` hourly (the source system's schedule) as a django-celery-beat row (tune it
in the admin). get_or_create keeps an analyst's edits; reversing deletes the row."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "announcements: collect exchange feeds"


def _bump(apps):
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    PeriodicTask.objects.get_or_create(name=TASK_NAME, defaults={
        "task": "announcements.collect", "interval": hourly, "expire_seconds": 3600,
        "description": "Exchange announcement feeds -> classified, scored announcements."})
    _bump(apps)


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    _bump(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("announcements", "0002_seed_feeds"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
