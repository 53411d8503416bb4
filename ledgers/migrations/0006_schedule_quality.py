"""The data-quality monitor (ledgers.quality) every 15 minutes, as a django-celery-beat row (tune it in the
admin). get_or_create keeps an analyst's edits (interval, enabled) when the migration runs again."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "ledgers: data-quality monitor"


def schedule_quality(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15_min, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "ledgers.quality_run", "interval": every_15_min, "expire_seconds": 600})
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_quality(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledgers", "0005_quality"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_quality, unschedule_quality)]
