"""Schedule ``cryptopanic.collect`` every 5 minutes (the source system's schedule) as a django-celery-beat row,
created DISABLED: CryptoPanic needs an API key (CRYPTOPANIC_API_KEY), and no recording exists to run it offline. An
operator with a key enables the row in the admin. get_or_create keeps an analyst's edits; reversing deletes it."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "cryptopanic: collect news"


def _bump(apps):
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_5min, _ = IntervalSchedule.objects.get_or_create(every=5, period="minutes")
    PeriodicTask.objects.get_or_create(name=TASK_NAME, defaults={
        "task": "cryptopanic.collect", "interval": every_5min, "expire_seconds": 300, "enabled": False,
        "description": "CryptoPanic news -> posts with coins, votes and VADER sentiment (needs CRYPTOPANIC_API_KEY)."})
    _bump(apps)


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    _bump(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("cryptopanic", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
