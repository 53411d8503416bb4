"""Schedule ``defillama.collect`` daily at 00:30 UTC (the source system's schedule is daily; DeFiLlama's daily
figures are settled after midnight) as a django-celery-beat row (tune it in the admin). get_or_create keeps an
analyst's edits; reversing deletes the row."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "defillama: stablecoin supply and TVL"


def _bump(apps):
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily, _ = CrontabSchedule.objects.get_or_create(minute="30", hour="0", day_of_week="*", day_of_month="*",
                                                     month_of_year="*", timezone="UTC")
    PeriodicTask.objects.get_or_create(name=TASK_NAME, defaults={
        "task": "defillama.collect", "crontab": daily, "expire_seconds": 3600,
        "description": "DeFiLlama stablecoin supply and protocol TVL -> daily snapshots; supply moves -> catalysts."})
    _bump(apps)


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    _bump(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("defillama", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
