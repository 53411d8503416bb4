from django.conf import settings
from django.db import migrations


def seed_thresholds(apps, schema_editor):
    EventThreshold = apps.get_model("whales", "EventThreshold")
    for event_type, min_value_usd in settings.WHALE_EVENT_MIN_USD.items():
        # get_or_create keeps an analyst's edit when migrations run again on another database.
        EventThreshold.objects.get_or_create(event_type=event_type, defaults={"min_value_usd": min_value_usd})


def unseed_thresholds(apps, schema_editor):
    apps.get_model("whales", "EventThreshold").objects.filter(
        event_type__in=list(settings.WHALE_EVENT_MIN_USD)
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("whales", "0001_initial")]
    operations = [migrations.RunPython(seed_thresholds, unseed_thresholds)]
