"""The taken-over tables get this app's names: whales_synccursor -> ledgers_synccursor,
whales_collectorrun -> ledgers_collectorrun (rows, indexes and constraints kept)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("ledgers", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelTable(name="synccursor", table=None),
        migrations.AlterModelTable(name="collectorrun", table=None),
    ]
