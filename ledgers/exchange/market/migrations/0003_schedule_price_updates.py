"""Schedule ``market.update_prices`` every 10 minutes as a django-celery-beat row (tune it in the admin).

get_or_create keeps an analyst's edits (interval, enabled) when the migration runs again. Reversing
deletes the row (the shared 10-minute IntervalSchedule stays: other tasks may use it).
"""

from django.db import migrations
from django.utils import timezone

TASK_NAME = "market: update prices"


def _bump(apps):
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def schedule_price_updates(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_10min, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(name=TASK_NAME, defaults={
        "task": "market.update_prices", "interval": every_10min, "expire_seconds": 600,
        "description": "CoinGecko market_chart (last 2 days) for every priceable asset -> PriceHistory."})
    _bump(apps)


def unschedule_price_updates(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()
    _bump(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("market", "0002_seed_assets"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RunPython(schedule_price_updates, unschedule_price_updates),
    ]
