"""Admin for the mempool whale transactions the monitor follows (read-only: the monitor writes them)."""

from django.contrib import admin
from django.http import HttpRequest

from ledgers.glass.bitcoin.models import MempoolTransaction


@admin.register(MempoolTransaction)
class MempoolTransactionAdmin(admin.ModelAdmin):
    list_display = ["tx_hash", "status", "value_btc", "value_usd", "fee_rate_sat_vb", "urgency", "urgency_band",
                    "whale", "first_seen_at", "confirmed_block_number", "time_to_confirm_s", "replaced_by_tx_hash"]
    list_filter = ["status", "urgency_band", "has_full_tx", ("first_seen_at", admin.DateFieldListFilter)]
    search_fields = ["=tx_hash", "=replaced_by_tx_hash", "whale__address", "whale__name"]
    list_select_related = ["whale"]
    raw_id_fields = ["whale"]
    ordering = ["-first_seen_at"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: MempoolTransaction | None = None) -> bool:
        return False
