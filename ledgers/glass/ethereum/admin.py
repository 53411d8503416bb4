"""Admin for the Ethereum collector's block records: read-only (the collector writes them, reorg handling
reads them); an analyst sees which blocks were ingested and their hashes."""

from django.contrib import admin
from django.http import HttpRequest

from ledgers.glass.ethereum.models import BlockRecord


@admin.register(BlockRecord)
class BlockRecordAdmin(admin.ModelAdmin):
    """The last ETH_REORG_DEPTH ingested blocks, newest first; nothing can be added or edited here."""

    list_display = ["block_number", "block_hash", "parent_hash", "block_time", "transactions", "created_at"]
    search_fields = ["=block_number", "block_hash"]
    ordering = ["-block_number"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: BlockRecord | None = None) -> bool:
        return False
