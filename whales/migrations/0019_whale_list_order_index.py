"""The whale list's order index (last_active desc NULLS LAST, id) on PostgreSQL.

SQLite cannot build an index with NULLS LAST, so there the database keeps the single-column index of the same
name (the state, and so later migrations, see the new definition on both: the name is what they act on).
"""

from django.db import migrations, models
from django.db.models import F

OLD = models.Index(fields=["-last_active_at"], name="whale_last_active")
NEW = models.Index(F("last_active_at").desc(nulls_last=True), F("id").asc(), name="whale_last_active")


def _swap(schema_editor, apps, drop: models.Index, build: models.Index) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    whale = apps.get_model("whales", "Whale")
    schema_editor.remove_index(whale, drop)
    schema_editor.add_index(whale, build)


def forwards(apps, schema_editor):
    _swap(schema_editor, apps, OLD, NEW)


def backwards(apps, schema_editor):
    _swap(schema_editor, apps, NEW, OLD)


class Migration(migrations.Migration):

    dependencies = [
        ("whales", "0018_fifo_lots"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                migrations.RemoveIndex(model_name="whale", name="whale_last_active"),
                migrations.AddIndex(model_name="whale", index=NEW),
            ],
        ),
    ]
