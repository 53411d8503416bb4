"""SyncCursor and CollectorRun move to the collector kit (app ``ledgers``): removed from this app's state
only; the tables stay and ``ledgers`` 0001 takes them over (0002 renames them)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("whales", "0010_schedule_flows"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="SyncCursor"),
                migrations.DeleteModel(name="CollectorRun"),
            ],
            database_operations=[],
        ),
    ]
