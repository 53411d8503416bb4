from django.conf import settings
from django.db import migrations


def seed_perp_trade(apps, schema_editor):
    # Databases migrated before perp_trade had a default threshold get its row now (kept if edited).
    apps.get_model("whales", "EventThreshold").objects.get_or_create(
        event_type="perp_trade", defaults={"min_value_usd": settings.WHALE_EVENT_MIN_USD["perp_trade"]})


class Migration(migrations.Migration):
    dependencies = [("whales", "0002_seed_event_thresholds")]
    operations = [migrations.RunPython(seed_perp_trade, migrations.RunPython.noop)]
