"""Admin for DeFiLlama's snapshots (read-only: they come from DeFiLlama)."""

from django.contrib import admin
from django.http import HttpRequest

from ledgers.glass.defillama.models import ProtocolSnapshot, StablecoinSnapshot


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StablecoinSnapshot)
class StablecoinSnapshotAdmin(_ReadOnly):
    list_display = ["symbol", "day", "circulating_usd", "prev_week_usd", "prev_month_usd"]
    list_filter = ["symbol"]
    date_hierarchy = "day"


@admin.register(ProtocolSnapshot)
class ProtocolSnapshotAdmin(_ReadOnly):
    list_display = ["name", "category", "day", "tvl_usd"]
    search_fields = ["name", "slug"]
    date_hierarchy = "day"
