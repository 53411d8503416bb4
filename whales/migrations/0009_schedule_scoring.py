from django.db import migrations
from django.utils import timezone

SCORING_TASK = "whales: score smart-money wallets"
CLASSIFY_TASK = "whales: classify whales"


def schedule_scoring(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_15m, _ = IntervalSchedule.objects.get_or_create(every=15, period="minutes")
    every_day, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    # get_or_create keeps an analyst's edits (interval, enabled) when migrations run again.
    PeriodicTask.objects.get_or_create(
        name=SCORING_TASK,
        defaults={"task": "whales.score_wallets", "interval": every_15m, "expire_seconds": 900},
    )
    PeriodicTask.objects.get_or_create(
        name=CLASSIFY_TASK,
        defaults={"task": "whales.classify_whales", "interval": every_day, "expire_seconds": 86400},
    )
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def unschedule_scoring(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[SCORING_TASK, CLASSIFY_TASK]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("whales", "0008_smart_money"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(schedule_scoring, unschedule_scoring)]
