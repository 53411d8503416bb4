"""Seed the subreddits followed by default (issue 16; editable in the admin): hot and new of each, 25 posts.
get_or_create keeps an analyst's edits; reversing deletes the seeds."""

from django.db import migrations

SUBREDDITS = ["CryptoCurrency", "Bitcoin", "ethereum", "CryptoMarkets", "altcoin"]


def seed(apps, schema_editor):
    Subreddit = apps.get_model("reddit", "Subreddit")
    for name in SUBREDDITS:
        Subreddit.objects.get_or_create(name=name, defaults={"listings": "hot,new"})


def unseed(apps, schema_editor):
    apps.get_model("reddit", "Subreddit").objects.filter(name__in=SUBREDDITS).delete()


class Migration(migrations.Migration):

    dependencies = [("reddit", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
