from django.db import migrations
from django.utils import timezone

TASK_NAME = "ethereum: refresh whale holdings (balances)"


def schedule_holdings(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15min, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    # get_or_create keeps an analyst's edits (interval, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "ethereum.refresh_holdings", "interval": every_15min, "expire_seconds": 900},
    )
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_holdings(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ethereum", "0002_schedule_collectors"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_holdings, unschedule_holdings)]
