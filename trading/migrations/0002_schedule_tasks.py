from django.db import migrations
from django.utils import timezone

MATCH_TASK_NAME = "trading: match resting limit orders"
LOSS_TASK_NAME = "trading: daily loss check"


def schedule_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_30s, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    every_60s, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    # get_or_create keeps an operator's edits (interval, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=MATCH_TASK_NAME,
        defaults={"task": "trading.match_limit_orders", "interval": every_30s, "expire_seconds": 30},
    )
    PeriodicTask.objects.get_or_create(
        name=LOSS_TASK_NAME,
        defaults={"task": "trading.check_daily_loss", "interval": every_60s, "expire_seconds": 60},
    )
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_tasks(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(
        name__in=[MATCH_TASK_NAME, LOSS_TASK_NAME]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trading", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_tasks, unschedule_tasks)]
