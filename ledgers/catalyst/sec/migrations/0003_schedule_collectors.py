"""Schedule the SEC collectors as django-celery-beat rows (tune them in the admin): the submissions daily at
09:00 UTC (the source system's schedule), the latest-filings feed every 10 minutes.

get_or_create keeps an analyst's edits (schedule, enabled) when the migration runs again. Reversing deletes
the rows (the shared schedules stay: other tasks may use them).
"""

from django.db import migrations
from django.utils import timezone

SUBMISSIONS_TASK = "sec: collect submissions"
FEED_TASK = "sec: collect latest-filings feed"


def _bump(apps):
    # Historical models skip PeriodicTask.save(), which normally bumps this row; bump it so beat reloads.
    apps.get_model("django_celery_beat", "PeriodicTasks").objects.update_or_create(
        ident=1, defaults={"last_update": timezone.now()})


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    daily_0900, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="9", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC")
    every_10min, _ = IntervalSchedule.objects.get_or_create(every=10, period="minutes")
    PeriodicTask.objects.get_or_create(name=SUBMISSIONS_TASK, defaults={
        "task": "sec.collect_submissions", "crontab": daily_0900, "expire_seconds": 3600,
        "description": "EDGAR submissions of every followed issuer -> SEC filings (sec collector)."})
    PeriodicTask.objects.get_or_create(name=FEED_TASK, defaults={
        "task": "sec.collect_feed", "interval": every_10min, "expire_seconds": 600,
        "description": "EDGAR latest-filings Atom feed -> new filings of the followed issuers (sec_feed collector)."})
    _bump(apps)


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[SUBMISSIONS_TASK, FEED_TASK]).delete()
    _bump(apps)


class Migration(migrations.Migration):

    dependencies = [
        ("sec", "0002_seed_issuers"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
