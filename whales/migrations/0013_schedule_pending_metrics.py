"""Beat row of the pending-metrics sweep (task ``whales.recompute_pending_metrics``): every minute. The
task is also queued, debounced, after trades change; the row catches anything a lost message left."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "whales: recompute metrics of whales with new trades"


def schedule_pending(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    # get_or_create keeps an analyst's edits (interval, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "whales.recompute_pending_metrics", "interval": every_minute, "expire_seconds": 60})
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_pending(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("whales", "0012_metrics_pending"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_pending, unschedule_pending)]
