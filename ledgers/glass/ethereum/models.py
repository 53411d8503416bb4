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
