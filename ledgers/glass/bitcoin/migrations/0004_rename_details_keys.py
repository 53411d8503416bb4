"""Stored ``details`` JSON of Bitcoin rows takes the standard names too (STYLE.md §2), so rows written
before migration 0003 keep being read: bitcoin WhaleEvents (address activity and ``mempool_whale``) and
MempoolTransaction rows. Reversible: the backward step writes the old keys again.

Keys (old -> new): ``net_sats`` -> ``net_sat``, ``received_sats`` -> ``received_sat``, ``spent_sats`` ->
``spent_sat``, ``tx_fee_sats`` -> ``tx_fee_sat``, ``amount_sats`` -> ``amount_sat``, ``fee_sats`` -> ``fee_sat``,
``value_sats`` -> ``value_sat``, ``vsize`` -> ``vsize_vb``, ``fee_rate`` -> ``fee_rate_sat_vb``, and
``value_sats`` -> ``value_sat`` inside each ``top_outputs`` item. Values are kept as they are.
"""

from django.db import migrations

KEYS = {
    "net_sats": "net_sat",
    "received_sats": "received_sat",
    "spent_sats": "spent_sat",
    "tx_fee_sats": "tx_fee_sat",
    "amount_sats": "amount_sat",
    "fee_sats": "fee_sat",
    "value_sats": "value_sat",
    "vsize": "vsize_vb",
    "fee_rate": "fee_rate_sat_vb",
}
OUTPUT_KEYS = {"value_sats": "value_sat"}
BATCH = 1000


def renamed(details: object, keys: dict[str, str], output_keys: dict[str, str]) -> object:
    """``details`` with the keys in ``keys`` renamed (order kept; a key whose new name is already there is
    left alone) and ``output_keys`` renamed in each ``top_outputs`` item; anything but a dict unchanged."""
    if not isinstance(details, dict):
        return details
    out = {}
    for key, value in details.items():
        new = keys.get(key, key)
        out[key if new in details and new != key else new] = value
    if isinstance(out.get("top_outputs"), list):
        out["top_outputs"] = [renamed(item, output_keys, {}) for item in out["top_outputs"]]
    return out


def _rewrite(queryset, keys: dict[str, str], output_keys: dict[str, str]) -> None:
    changed = []
    for row in queryset.only("pk", "details").iterator(chunk_size=BATCH):
        details = renamed(row.details, keys, output_keys)
        if details != row.details:
            row.details = details
            changed.append(row)
        if len(changed) >= BATCH:
            queryset.model.objects.bulk_update(changed, ["details"])
            changed = []
    if changed:
        queryset.model.objects.bulk_update(changed, ["details"])


def _run(apps, keys: dict[str, str], output_keys: dict[str, str]) -> None:
    WhaleEvent = apps.get_model("whales", "WhaleEvent")
    MempoolTransaction = apps.get_model("bitcoin", "MempoolTransaction")
    old = [*keys, "top_outputs"]
    _rewrite(WhaleEvent.objects.filter(chain="bitcoin", details__has_any_keys=old), keys, output_keys)
    _rewrite(MempoolTransaction.objects.filter(details__has_key="top_outputs"), keys, output_keys)


def details_keys_forward(apps, schema_editor):
    _run(apps, KEYS, OUTPUT_KEYS)


def details_keys_backward(apps, schema_editor):
    _run(apps, {new: old for old, new in KEYS.items()}, {new: old for old, new in OUTPUT_KEYS.items()})


class Migration(migrations.Migration):

    dependencies = [
        ("bitcoin", "0003_standard_field_names"),
        ("whales", "0014_wallet_fifo_state"),
    ]

    operations = [
        migrations.RunPython(details_keys_forward, details_keys_backward),
    ]
