"""Ethereum collector state: the recent canonical block hashes used to detect reorgs.

Activity rows are whales.Trade / whales.WhaleEvent; the cursor and run log are ledgers.SyncCursor
and ledgers.CollectorRun (the collector kit's, shared by every ledger).
"""

from django.db import models


class BlockRecord(models.Model):
    """A block the collector has ingested: its hash and parent hash, kept for ETH_REORG_DEPTH blocks."""

    block_number = models.BigIntegerField(unique=True)
    block_hash = models.CharField(max_length=66)
    parent_hash = models.CharField(max_length=66)
    block_time = models.DateTimeField()
    transactions = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-block_number"]

    def __str__(self) -> str:
        return f"{self.block_number} {self.block_hash[:12]}"


class HoldingsSync(models.Model):
    """Where one whale's Ethereum holdings stand (``ledgers.glass.ethereum.holdings``).

    ``block_number``: the block its stored holdings were read at (None: never read). A refresh at an older
    block leaves them alone, so a slow refresh cannot overwrite a newer read. ``pending_block_number``: the
    newest block in which the block collector stored trades of this whale that no read has covered yet
    (None: nothing pending); a read at that block or later clears it. ``pending_since``: when it became
    pending (the oldest waiting mark).
    """

    whale = models.OneToOneField("whales.Whale", primary_key=True, on_delete=models.CASCADE, related_name="+")
    block_number = models.BigIntegerField(null=True, blank=True, help_text="Block the holdings were read at.")
    read_at = models.DateTimeField(null=True, blank=True)
    pending_block_number = models.BigIntegerField(
        null=True, blank=True, help_text="Newest block with trades of this whale not yet covered by a read.")
    pending_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "holdings sync"
        indexes = [models.Index(fields=["pending_since"], name="holdingssync_pending",
                                condition=models.Q(pending_since__isnull=False))]

    def __str__(self) -> str:
        pending = f", pending since block {self.pending_block_number}" if self.pending_block_number else ""
        return f"holdings of whale {self.whale_id} read at block {self.block_number}{pending}"
