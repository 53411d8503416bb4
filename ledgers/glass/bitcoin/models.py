"""Bitcoin ledger bookkeeping: the mempool whale transactions the monitor follows to their end.

Address history needs no table of its own: trades are ``whales.Trade`` rows and each address's
cursor is a ``whales.SyncCursor`` (stream ``bitcoin.address:<address>``).
"""

from django.db import models
from django.utils import timezone

from whales.models import Whale, amount_field, usd_field


class MempoolStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CONFIRMED = "confirmed", "Confirmed"
    REPLACED = "replaced", "Replaced (RBF)"
    DROPPED = "dropped", "Dropped"


class UrgencyBand(models.TextChoices):
    """Fee-rate bands of the urgency score (ledgers.glass.bitcoin.mempool.urgency_score)."""

    LOW = "low", "Low (< 10 sat/vB, urgency 0.0-0.3)"
    MEDIUM = "medium", "Medium (10-50 sat/vB, urgency 0.3-0.7)"
    HIGH = "high", "High (> 50 sat/vB, urgency 0.7-1.0)"


class MempoolTransaction(models.Model):
    """One unconfirmed Bitcoin transaction moving at least BITCOIN_MEMPOOL_WHALE_MIN_BTC, followed to
    its end: confirmed (block number, time from first seen), replaced (by which tx, fee bump) or dropped.

    Units: ``fee_sat``/``value_sat`` (and the replacement's) in satoshis, ``value_btc`` in BTC, ``vsize_vb`` in
    vB (mempool.space reports fractional vsize for segwit: weight / 4), ``fee_rate_sat_vb`` in sat/vB,
    ``urgency`` in [0, 1]. ``tx_hash``/``replaced_by_tx_hash``: txids, 64 lowercase hex, no ``0x``.
    ``details``: {"whales", "labels", "inputs", "outputs", "top_outputs": [{"address", "value_sat"}]}.
    ``first_seen_at`` is the stream's own first-seen time when it gives one, else when the monitor
    first saw it; ``time_to_confirm_s`` = block time - first seen (None when the block predates it).
    """

    tx_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=10, choices=MempoolStatus.choices, default=MempoolStatus.PENDING)
    first_seen_at = models.DateTimeField()
    observed_at = models.DateTimeField(default=timezone.now, help_text="When the monitor first saw it.")
    last_seen_at = models.DateTimeField(default=timezone.now)
    fee_sat = models.BigIntegerField()
    vsize_vb = models.DecimalField(max_digits=12, decimal_places=2)
    fee_rate_sat_vb = models.DecimalField(max_digits=14, decimal_places=4, help_text="sat/vB")
    value_sat = models.BigIntegerField(help_text="Total of the outputs, in sat.")
    value_btc = amount_field()
    value_usd = usd_field(null=True, blank=True)
    urgency = models.DecimalField(max_digits=5, decimal_places=4)
    urgency_band = models.CharField(max_length=10, choices=UrgencyBand.choices)
    whale = models.ForeignKey(Whale, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="mempool_transactions", help_text="First tracked whale among its addresses.")
    has_full_tx = models.BooleanField(default=False, help_text="Inputs/outputs fetched from Esplora.")
    details = models.JSONField(default=dict, blank=True, help_text="Matched whales, exchange labels, largest outputs.")
    confirmed_block_number = models.IntegerField(null=True, blank=True)
    confirmed_block_hash = models.CharField(max_length=64, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True, help_text="Block time.")
    time_to_confirm_s = models.IntegerField(null=True, blank=True)
    replaced_by_tx_hash = models.CharField(max_length=64, blank=True)
    replacement_fee_sat = models.BigIntegerField(null=True, blank=True)
    fee_bump_sat = models.BigIntegerField(null=True, blank=True, help_text="Replacement fee - this fee.")
    ended_at = models.DateTimeField(null=True, blank=True,
                                    help_text="When the monitor saw it confirm, replaced or dropped.")

    class Meta:
        indexes = [
            models.Index(fields=["status", "-first_seen_at"], name="mempooltx_status_seen"),
            models.Index(fields=["-first_seen_at"], name="mempooltx_seen"),
        ]

    def __str__(self) -> str:
        return f"{self.tx_hash[:12]}... {self.value_btc} BTC ({self.status})"
