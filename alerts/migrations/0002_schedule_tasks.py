from django.db import migrations
from django.utils import timezone

# (PeriodicTask name, task, every seconds)
TASKS = [
    ("alerts: publish events and alerts left behind", "alerts.publish_pending", 30),
    ("alerts: flush cooldown digests", "alerts.flush_digests", 10),
]


def schedule_tasks(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, seconds in TASKS:
        interval, _ = IntervalSchedule.objects.get_or_create(every=seconds, period="seconds")
        # get_or_create keeps an analyst's edits (interval, enabled) when migrations run again.
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": task, "interval": interval, "expire_seconds": seconds})
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_tasks(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[t[0] for t in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_tasks, unschedule_tasks)]
