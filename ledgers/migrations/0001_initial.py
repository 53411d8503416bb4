"""The collector kit's bookkeeping, taken over from ``whales`` (0011) in state only: the tables
``whales_synccursor`` and ``whales_collectorrun`` already exist, with their rows (0002 renames them)."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("whales", "0011_move_collector_bookkeeping"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="SyncCursor",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("stream", models.CharField(max_length=200, unique=True)),
                        ("position", models.BigIntegerField(help_text="Next block/height/time to read.")),
                        ("position_hash", models.CharField(blank=True, help_text="Hash of the last block read.",
                                                           max_length=100)),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"db_table": "whales_synccursor"},
                ),
                migrations.CreateModel(
                    name="CollectorRun",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                                   verbose_name="ID")),
                        ("collector", models.CharField(max_length=100)),
                        ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("finished_at", models.DateTimeField(blank=True, null=True)),
                        ("status", models.CharField(choices=[("running", "Running"), ("ok", "OK"),
                                                             ("partial", "Partial"), ("failed", "Failed")],
                                                    default="running", max_length=10)),
                        ("from_position", models.BigIntegerField(blank=True, null=True)),
                        ("to_position", models.BigIntegerField(blank=True, null=True)),
                        ("blocks", models.IntegerField(default=0)),
                        ("items_seen", models.IntegerField(default=0)),
                        ("items_written", models.IntegerField(default=0)),
                        ("events_written", models.IntegerField(default=0)),
                        ("error", models.TextField(blank=True)),
                        ("duration_ms", models.IntegerField(blank=True, null=True)),
                    ],
                    options={
                        "db_table": "whales_collectorrun",
                        "indexes": [models.Index(fields=["collector", "-started_at"], name="run_collector_time")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
