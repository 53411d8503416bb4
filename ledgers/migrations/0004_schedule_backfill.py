from django.db import migrations
from django.utils import timezone

TASK_NAME = "whales: backfill daily wallet metrics"


def schedule_backfill(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    # Daily at 00:20 UTC: yesterday's row, final once the day has ended (whales.analytics.history); the whole
    # history is `manage.py backfill_metrics`, which run_main runs on set-up.
    daily, _ = CrontabSchedule.objects.get_or_create(minute="20", hour="0", day_of_week="*", day_of_month="*",
                                                     month_of_year="*", timezone="UTC")
    # get_or_create keeps an analyst's edits (schedule, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={"task": "ledgers.backfill_metrics", "crontab": daily, "kwargs": '{"days": 2}',
                  "expire_seconds": 3600})
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_backfill(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("ledgers", "0003_run_details"),
        ("whales", "0017_trade_fee_amount"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_backfill, unschedule_backfill)]
