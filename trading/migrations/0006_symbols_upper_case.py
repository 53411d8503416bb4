"""Canonicalise stored symbols (``trading.models.symbol_canonical``: stripped, upper-case), issue 14 item 3.

Before, ``btc`` and ``BTC`` were separate positions, each under its own position cap. Orders, fills, lots
and signals are re-spelled in place; an account's positions that now share a symbol are merged into one
(quantities and remaining cost added, the average price recomputed at the price columns' 18 places), so
the FIFO lots (re-spelled too) still add up to the position.
"""

from decimal import ROUND_HALF_EVEN, Context, Decimal

from django.db import migrations
from django.db.models.functions import Trim, Upper

WIDE = Context(prec=80)
PRICE_QUANTUM = Decimal("1e-18")


def canonicalise(apps, schema_editor) -> None:
    for model in ("Order", "Fill", "PositionLot", "StrategySignal"):
        apps.get_model("trading", model).objects.update(symbol=Upper(Trim("symbol")))
    position_model = apps.get_model("trading", "Position")
    groups: dict[tuple[int, str], list] = {}
    for position in position_model.objects.order_by("account_id", "id"):
        groups.setdefault((position.account_id, position.symbol.strip().upper()), []).append(position)
    for (_, symbol), positions in groups.items():
        keep, *merged = positions
        if merged:
            keep.quantity = sum((p.quantity for p in positions), Decimal(0))
            keep.total_cost_usd = sum((p.total_cost_usd for p in positions), Decimal(0))
            for p in merged:
                p.delete()
            if keep.quantity > 0:
                keep.average_price_usd = WIDE.divide(keep.total_cost_usd, keep.quantity).quantize(
                    PRICE_QUANTUM, rounding=ROUND_HALF_EVEN, context=WIDE)
        keep.symbol = symbol
        keep.save()


class Migration(migrations.Migration):
    dependencies = [("trading", "0005_usd_field_names")]

    operations = [migrations.RunPython(canonicalise, migrations.RunPython.noop)]
