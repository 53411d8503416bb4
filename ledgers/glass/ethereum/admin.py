"""Admin for the Ethereum collector's block records and the whales' holdings sync: read-only (the collector and
the holdings refresh write them); an analyst sees which blocks were ingested and their hashes, and at which
block each whale's holdings were read and whether a refresh is pending."""

from django.contrib import admin
from django.http import HttpRequest

from ledgers.glass.ethereum.models import BlockRecord, HoldingsSync


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


@admin.register(HoldingsSync)
class HoldingsSyncAdmin(admin.ModelAdmin):
    """Per whale: the block its holdings were read at and the pending mark the block collector left; read-only."""

    list_display = ["whale", "block_number", "read_at", "pending_block_number", "pending_since"]
    list_select_related = ["whale"]
    search_fields = ["=whale__address", "whale__name"]
    ordering = ["-read_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: HoldingsSync | None = None) -> bool:
        return False
