"""Seed the announcement feeds followed by default (editable in the admin): Kraken's blog (WordPress RSS, where
Kraken announces listings and trading changes) and Coinbase's status page (Statuspage Atom: maintenance and
incidents). No answer of either is recorded, so they are live-only: offline, the collector's runs fail and say
why. get_or_create keeps an analyst's edits; reversing deletes the seeds."""

from django.db import migrations

FEEDS = [
    ("kraken-blog", "Kraken", "https://blog.kraken.com/feed"),
    ("coinbase-status", "Coinbase", "https://status.coinbase.com/history.atom"),
]


def seed(apps, schema_editor):
    AnnouncementFeed = apps.get_model("announcements", "AnnouncementFeed")
    for name, exchange, url in FEEDS:
        AnnouncementFeed.objects.get_or_create(name=name, defaults={"exchange": exchange, "url": url})


def unseed(apps, schema_editor):
    apps.get_model("announcements", "AnnouncementFeed").objects.filter(name__in=[n for n, *_ in FEEDS]).delete()


class Migration(migrations.Migration):

    dependencies = [("announcements", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
