"""Admin for assets (curated by analysts) and their price history (written by import/update services)."""

from django.contrib import admin
from django.http import HttpRequest

from ledgers.exchange.market.models import Asset, PriceHistory


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ["symbol", "name", "chain", "contract_address", "decimals", "coingecko_id",
                    "is_stablecoin", "price_reference"]
    list_filter = ["chain", "is_stablecoin"]
    search_fields = ["symbol", "name", "contract_address", "coingecko_id"]
    list_select_related = ["price_reference"]
    autocomplete_fields = ["price_reference"]
    ordering = ["chain", "symbol"]

    def save_model(self, request: HttpRequest, obj: Asset, form, change: bool) -> None:
        # Stored addresses are lowercase (STYLE.md names table); an analyst may paste a checksummed one.
        if obj.chain != "bitcoin":
            obj.contract_address = obj.contract_address.strip().lower()
        super().save_model(request, obj, form, change)


@admin.register(PriceHistory)
class PriceHistoryAdmin(admin.ModelAdmin):
    """Read-only rows (they come from CoinGecko); a wrong price can be deleted and re-imported."""

    list_display = ["asset", "timestamp", "price_usd", "source"]
    list_filter = ["asset", ("timestamp", admin.DateFieldListFilter)]
    list_select_related = ["asset"]
    search_fields = ["asset__symbol"]
    ordering = ["-timestamp"]
    raw_id_fields = ["asset"]
    show_full_result_count = False  # no COUNT(*) over the whole table on every filtered page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PriceHistory | None = None) -> bool:
        return False
