"""Indexes for the dashboard and the whale list's sorts (issue 15).

- ``trade_time`` covers (INCLUDE) whale, value_usd and is_internal, so the dashboard's 24 h figures are an
  index-only scan; SQLite has no covering indexes and Django builds it there without them.
- The wallet-metrics sort indexes become (value desc NULLS LAST, whale) on PostgreSQL, the order
  ``whales.selectors.whales_order`` asks for. SQLite cannot build an index with NULLS LAST, so there the
  database keeps the single-column descending indexes of the same names (the state, and so later migrations,
  see the new definitions on both: the name is what they act on), as migration 0019 does for the whale list.
"""

from django.db import migrations, models
from django.db.models import F

METRICS_OLD = [
    models.Index(fields=["-roi_percent"], name="metrics_roi"),
    models.Index(fields=["-portfolio_value_usd"], name="metrics_portfolio"),
    models.Index(fields=["-volume_30d_usd"], name="metrics_volume"),
]
METRICS_NEW = [
    models.Index(F("roi_percent").desc(nulls_last=True), F("whale_id").asc(), name="metrics_roi"),
    models.Index(F("portfolio_value_usd").desc(nulls_last=True), F("whale_id").asc(), name="metrics_portfolio"),
    models.Index(F("volume_30d_usd").desc(nulls_last=True), F("whale_id").asc(), name="metrics_volume"),
]


def _swap(schema_editor, apps, drop: list[models.Index], build: list[models.Index]) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    metrics = apps.get_model("whales", "WalletMetrics")
    for index in drop:
        schema_editor.remove_index(metrics, index)
    for index in build:
        schema_editor.add_index(metrics, index)


def forwards(apps, schema_editor):
    _swap(schema_editor, apps, METRICS_OLD, METRICS_NEW)


def backwards(apps, schema_editor):
    _swap(schema_editor, apps, METRICS_NEW, METRICS_OLD)


class Migration(migrations.Migration):

    dependencies = [
        ("whales", "0019_whale_list_order_index"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="trade", name="trade_time"),
        migrations.AddIndex(
            model_name="trade",
            index=models.Index(fields=["-block_time"], include=["whale", "value_usd", "is_internal"],
                               name="trade_time"),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(forwards, backwards)],
            state_operations=[
                *[migrations.RemoveIndex(model_name="walletmetrics", name=index.name) for index in METRICS_OLD],
                *[migrations.AddIndex(model_name="walletmetrics", index=index) for index in METRICS_NEW],
            ],
        ),
    ]
