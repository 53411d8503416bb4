"""The Hyperliquid data-quality check (``ledgers.quality``): a wallet's realized P&L on perps is the
exchange's own figure."""

from decimal import Decimal

from django.db.models import Count, Sum
from django.db.models.functions import Coalesce

from ledgers.models import QualitySeverity
from ledgers.quality import EXAMPLES, CheckOutcome, QualityCheck, quality_check_register
from ledgers.registry import Ledger
from whales.analytics.metrics import METHOD_PERP, PERP_Q
from whales.models import MetricsPending, Trade, WalletMetrics

ZERO = Decimal(0)


def check_closed_pnl() -> CheckOutcome:
    """Wallets whose stored perp realized P&L (``WalletMetrics.details["realized_pnl_usd"]["exchange_closed_pnl"]``)
    is not sum(closedPnl) - sum(fees) of their stored perp trades, as Hyperliquid recorded them
    (``Trade.pnl_usd`` is the fill's ``closedPnl``). Wallets waiting for a recompute (MetricsPending) or with
    no metrics yet are skipped. One GROUP BY over the perp trades, one read of their metrics."""
    sums = {row["whale_id"]: row["pnl"] - row["fees"] for row in (
        Trade.objects.filter(PERP_Q).exclude(whale_id__in=MetricsPending.objects.values("whale_id"))
        .values("whale_id").annotate(pnl=Coalesce(Sum("pnl_usd"), ZERO), fees=Coalesce(Sum("fee_usd"), ZERO),
                                     n=Count("id")).order_by())}
    checked, wrong = 0, []
    for whale_id, details in WalletMetrics.objects.filter(whale_id__in=list(sums)).values_list("whale_id", "details"):
        stored = ((details or {}).get("realized_pnl_usd") or {}).get(METHOD_PERP)
        checked += 1
        if stored is None or Decimal(stored) != sums[whale_id]:
            wrong.append(whale_id)
    wrong.sort()
    return CheckOutcome(checked, len(wrong), [str(w) for w in wrong[:EXAMPLES]])


def register() -> None:
    """Register ``check_closed_pnl``."""
    quality_check_register(QualityCheck(
        "hyperliquid_closed_pnl", Ledger.GLASS, QualitySeverity.HIGH,
        "Hyperliquid wallets whose realized P&L is not the exchange's recorded closedPnl net of fees",
        "Recompute their metrics (manage.py metrics --whale ID); the examples are whale ids.", check_closed_pnl))
