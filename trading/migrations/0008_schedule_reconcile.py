from django.db import migrations
from django.utils import timezone

RECONCILE_TASK_NAME = "trading: reconcile live accounts with their venues"


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_60s, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    # get_or_create keeps an operator's edits (interval, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=RECONCILE_TASK_NAME,
        defaults={"task": "trading.reconcile_live_accounts", "interval": every_60s, "expire_seconds": 60},
    )
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=RECONCILE_TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0007_live_trading"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule, unschedule)]
