"""Beat row of bridge discovery (task ``hyperliquid.discover_bridge_whales``): hourly by default."""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "hyperliquid: discover bridge depositors (Arbitrum)"


def schedule_discovery(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    hourly, _ = IntervalSchedule.objects.get_or_create(every=1, period="hours")
    # get_or_create keeps an analyst's edits (interval, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "hyperliquid.discover_bridge_whales", "interval": hourly, "expire_seconds": 3600},
    )
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_discovery(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hyperliquid", "0001_schedule_collectors"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_discovery, unschedule_discovery)]
