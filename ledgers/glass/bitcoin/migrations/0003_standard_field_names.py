"""MempoolTransaction fields take the project's standard names (STYLE.md §2): renames only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('bitcoin', '0002_schedule_collectors'),
    ]

    operations = [
        migrations.RenameField(model_name='mempooltransaction', old_name='txid', new_name='tx_hash'),
        migrations.RenameField(model_name='mempooltransaction', old_name='fee_sats', new_name='fee_sat'),
        migrations.RenameField(model_name='mempooltransaction', old_name='vsize', new_name='vsize_vb'),
        migrations.RenameField(model_name='mempooltransaction', old_name='fee_rate', new_name='fee_rate_sat_vb'),
        migrations.RenameField(model_name='mempooltransaction', old_name='value_sats', new_name='value_sat'),
        migrations.RenameField(model_name='mempooltransaction', old_name='confirmed_height',
                               new_name='confirmed_block_number'),
        migrations.RenameField(model_name='mempooltransaction', old_name='replaced_by_txid',
                               new_name='replaced_by_tx_hash'),
        migrations.RenameField(model_name='mempooltransaction', old_name='replacement_fee_sats',
                               new_name='replacement_fee_sat'),
        migrations.RenameField(model_name='mempooltransaction', old_name='fee_bump_sats', new_name='fee_bump_sat'),
    ]
