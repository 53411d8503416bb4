from django.db import migrations
from django.utils import timezone

TASK_NAME = "whales: recompute all wallet metrics"


def schedule_metrics(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Hourly: new trades are recomputed incrementally (whales.metrics.metrics_after_trades); the full
    # run refreshes volume windows and prices for whales without new trades and writes the daily rows.
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    # get_or_create keeps an analyst's edits (interval, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "whales.recompute_all_metrics", "interval": every_hour, "expire_seconds": 3600},
    )
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_metrics(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("whales", "0006_metrics_method_fields"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_metrics, unschedule_metrics)]
