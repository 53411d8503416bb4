"""Admin for the SEC issuers analysts follow (and the coins each maps to) and their filings (read-only)."""

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from ledgers.catalyst.sec.models import SecFiling, SecIssuer
from ledgers.catalyst.sec.services import filings_catalysts_upsert


@admin.register(SecIssuer)
class SecIssuerAdmin(admin.ModelAdmin):
    """Add an issuer by its CIK; ``coins`` must be symbols of known assets (checked on save)."""

    list_display = ["name", "cik", "tickers", "coins", "is_active", "last_collected_at"]
    list_filter = ["is_active"]
    list_editable = ["coins", "is_active"]
    search_fields = ["name", "tickers", "=cik"]
    readonly_fields = ["last_collected_at", "older_pages_loaded", "created_at"]

    def save_model(self, request: HttpRequest, obj: SecIssuer, form, change: bool) -> None:
        """Save, then re-file the issuer's stored filings under its (possibly new) coins."""
        obj.full_clean(exclude=["older_pages_loaded"])
        super().save_model(request, obj, form, change)
        filings_catalysts_upsert(issuer=obj)


@admin.register(SecFiling)
class SecFilingAdmin(admin.ModelAdmin):
    """Read-only rows (they come from EDGAR); a wrong one can be deleted and is stored again by the next run."""

    list_display = ["issuer", "form", "filed_on", "accepted_at", "accession_number", "document", "source"]
    list_filter = ["form", "source", "issuer"]
    list_select_related = ["issuer"]
    search_fields = ["=accession_number", "issuer__name"]
    date_hierarchy = "filed_on"
    show_full_result_count = False

    @admin.display(description="document")
    def document(self, obj: SecFiling) -> str:
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', obj.document_url,
                           obj.primary_document or "index")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SecFiling | None = None) -> bool:
        return False
