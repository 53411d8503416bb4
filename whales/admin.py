"""Django admin for curating whales and labels, and read-only views of activity and collector state.

Built for large tables: every changelist uses ``list_select_related``/prefetching (no per-row
queries), ``show_full_result_count = False`` and no facet counts; the activity tables (Trade,
WhaleEvent, and the collector run log in ``ledgers.admin``) use ``EstimatedCountPaginator`` so a page
never runs COUNT(*) over the whole table. Actions call ``whales.importers`` services.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import ShowFacets
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.functional import cached_property
from django.utils.html import format_html

from whales.chains import Chain, normalize_address, validate_address_for_chain
from whales.errors import ApplicationError, InvalidAddress
from whales.importers import whale_file_render, whale_file_rows
from whales.label_trail import label_removals_record, label_restore
from whales.models import (
    Entity,
    EventThreshold,
    KnownAddress,
    Label,
    LabelConflict,
    LabelRemoval,
    ScoringRun,
    Trade,
    WalletScore,
    Whale,
    WhaleEvent,
    WhaleLabel,
    WhaleType,
)
from whales.selectors import whale_list_with_labels
from whales.services import whales_set_tracked, whales_set_type

COUNT_CAP = 10_000


class EstimatedCountPaginator(Paginator):
    """A paginator that never counts a huge table row by row.

    Unfiltered queryset on PostgreSQL: the planner's estimate (``pg_class.reltuples``) when it is at
    least COUNT_CAP rows. Otherwise (filtered, small, or another database): ``COUNT(*)`` over at most
    COUNT_CAP + 1 rows (a LIMITed subquery), so the answer is exact up to COUNT_CAP and "COUNT_CAP"
    beyond it (later pages are reached by narrowing the filters).
    """

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return len(queryset)
        connection = connections[queryset.db]
        if connection.vendor == "postgresql" and not queryset.query.where:
            with connection.cursor() as cursor:
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                               [queryset.model._meta.db_table])
                row = cursor.fetchone()
            if row and row[0] >= COUNT_CAP:
                return int(row[0])
        return queryset.order_by()[: COUNT_CAP + 1].count() if COUNT_CAP else 0


class BigTableAdmin(admin.ModelAdmin):
    """Read-only changelist over a table that may hold millions of rows."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    list_per_page = 50

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _address_terms(term: str) -> set[str]:
    """The stored forms ``term`` may take as an address on any chain (empty if it is no address)."""
    forms_: set[str] = set()
    for chain in (Chain.ETHEREUM, Chain.BITCOIN):
        try:
            forms_.add(normalize_address(chain, term))
        except InvalidAddress:
            continue
    return forms_


class AddressSearchMixin:
    """Search: an address matches exactly (EVM case-insensitive, via its lowercase stored form); any
    other text matches ``name_search_fields`` by ``icontains``."""

    name_search_fields: tuple[str, ...] = ("name",)

    def get_search_results(self, request: HttpRequest, queryset: QuerySet, search_term: str) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        addresses = _address_terms(term)
        if addresses:
            return queryset.filter(address__in=addresses), False
        query = Q()
        for name in self.name_search_fields:
            query |= Q(**{f"{name}__icontains": term})
        return queryset.filter(query), False


class InputFilter(admin.SimpleListFilter):
    """A list filter rendered as a text box: no lookup list, so it never loads the related table."""

    template = "admin/whales/input_filter.html"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        # Must be non-empty for Django to render the filter; the template shows a text box instead.
        return [("", "")]

    def choices(self, changelist: Any):  # -> Iterator[dict]
        query = changelist.get_query_string(remove=[self.parameter_name])
        yield {"query_string": query, "value": self.value() or "", "parameter_name": self.parameter_name,
               "hidden": [(k, v) for k, v in changelist.get_filters_params().items() if k != self.parameter_name]}


class EntityInputFilter(InputFilter):
    """Filter whales by entity slug or name (exact slug, else name contains)."""

    title = "entity (slug or name)"
    parameter_name = "entity"

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = (self.value() or "").strip()
        if not value:
            return queryset
        return queryset.filter(Q(entity__slug=value.lower()) | Q(entity__name__icontains=value))


class LabelFilter(admin.SimpleListFilter):
    """Filter whales by label slug (labels are a short list; one query for the lookups)."""

    title = "label"
    parameter_name = "label"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return list(Label.objects.order_by("slug").values_list("slug", "slug")[:500])

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        return queryset.filter(id__in=WhaleLabel.objects.filter(label__slug=self.value()).values("whale_id"))


class ChainAddressForm(forms.ModelForm):
    """Validates and normalizes ``address`` for ``chain`` (EVM: 0x + 40 hex, any case, stored lowercase;
    Bitcoin: base58 1.../3... or bech32 bc1...); a bad or duplicate address is a form error."""

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        chain, address = cleaned.get("chain"), cleaned.get("address")
        if chain and address:
            try:
                cleaned["address"] = validate_address_for_chain(chain, address)
            except ValidationError as exc:
                self.add_error("address", exc)
                return cleaned
            model = self._meta.model
            duplicate = model.objects.filter(chain=chain, address=cleaned["address"]).exclude(pk=self.instance.pk)
            if duplicate.exists():
                self.add_error("address", f"This address on {chain} already exists.")
        return cleaned


class WhaleAdminForm(ChainAddressForm):
    class Meta:
        model = Whale
        fields = ["chain", "address", "name", "entity", "type", "is_tracked", "notes",
                  "first_seen_at", "last_active_at"]


class KnownAddressAdminForm(ChainAddressForm):
    class Meta:
        model = KnownAddress
        fields = ["chain", "address", "name", "category", "entity", "source", "source_url", "tags"]


class WhaleLabelInlineForm(forms.ModelForm):
    """A label row; deleting it asks why (``removal_reason``), kept in its LabelRemoval trail."""

    removal_reason = forms.CharField(required=False, max_length=2000,
                                     help_text="Why this label is removed (required to delete it).")

    class Meta:
        model = WhaleLabel
        fields = ["label", "source", "evidence_url", "confidence"]



class WhaleLabelInlineFormSet(forms.BaseInlineFormSet):
    """Refuses to delete a label row without a ``removal_reason`` (a formset check: Django skips the validation
    of forms marked for deletion)."""

    def clean(self) -> None:
        super().clean()
        for form in self.deleted_forms:
            if form.instance.pk is not None and not (form.cleaned_data.get("removal_reason") or "").strip():
                label = form.instance.label.slug if form.instance.label_id else "label"
                raise ValidationError(f"Say why the label is removed ({label}: removal reason).")


class WhaleLabelInline(admin.TabularInline):
    """Labels of a whale with their provenance; ``added_by`` is the analyst who added the row. Deleting one
    records a LabelRemoval (who, when, why, its provenance), restorable from the Label removals page."""

    model = WhaleLabel
    form = WhaleLabelInlineForm
    formset = WhaleLabelInlineFormSet
    extra = 1
    fields = ("label", "source", "evidence_url", "confidence", "added_by", "added_at", "removal_reason")
    readonly_fields = ("added_by", "added_at")
    autocomplete_fields = ("label",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("label", "added_by")

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any):
        formset = super().get_formset(request, obj, **kwargs)
        formset.form.base_fields["source"].initial = "analyst"
        return formset


def _set_type_action(whale_type: WhaleType):
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
        count = whales_set_type(whales=queryset, type=whale_type.value)
        modeladmin.message_user(request, f"{count} whale(s) set to {whale_type.label} (manual).", messages.SUCCESS)

    action.__name__ = f"set_type_{whale_type.value}"
    action.short_description = f"Set type: {whale_type.label}"  # type: ignore[attr-defined]  # admin reads it
    return action


@admin.register(Whale)
class WhaleAdmin(AddressSearchMixin, admin.ModelAdmin):
    """Curate thousands of whales: exact address search, cheap filters, bulk track/type actions."""

    form = WhaleAdminForm
    list_display = ("address", "name", "chain", "entity", "type_marked", "type_is_manual", "is_tracked", "label_list",
                    "label_count", "last_active_at")
    readonly_fields = ("type_is_manual", "type_reason", "type_classified_at")
    list_display_links = ("address", "name")
    list_filter = ("chain", "type", "is_tracked", LabelFilter, EntityInputFilter, ("last_active_at",
                   admin.DateFieldListFilter))
    list_select_related = ("entity",)
    search_fields = ("name",)  # shows the search box; get_search_results does the work
    search_help_text = "An address (exact; any case for EVM), or part of the whale's or its entity's name."
    name_search_fields = ("name", "entity__name")
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    autocomplete_fields = ("entity",)
    inlines = (WhaleLabelInline,)
    ordering = ("-id",)
    actions = ("track", "untrack", _set_type_action(WhaleType.HOLDER), _set_type_action(WhaleType.TRADER),
               _set_type_action(WhaleType.HOLDER_TRADER), "export_whale_file")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(label_total=Count("whale_labels")).prefetch_related(
            Prefetch("labels", queryset=Label.objects.only("id", "slug").order_by("slug")))

    @admin.display(description="type", ordering="type")
    def type_marked(self, obj: Whale) -> str:
        # The reason is the cell's tooltip; "(manual)" marks an analyst's type that classification keeps.
        label = obj.get_type_display() + (" (manual)" if obj.type_is_manual else "")
        return format_html('<span title="{}">{}</span>', obj.type_reason, label)

    @admin.display(description="labels")
    def label_list(self, obj: Whale) -> str:
        return ", ".join(sorted({label.slug for label in obj.labels.all()}))

    @admin.display(description="label rows", ordering="label_total")
    def label_count(self, obj: Whale) -> int:
        return obj.label_total  # type: ignore[attr-defined]  # annotated in get_queryset

    @admin.action(description="Track selected whales")
    def track(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = whales_set_tracked(whales=queryset, is_tracked=True)
        self.message_user(request, f"{count} whale(s) now tracked.", messages.SUCCESS)

    @admin.action(description="Export selected whales (import_whales CSV)")
    def export_whale_file(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        """The selected whales as ``export_whales`` writes them: ``import_whales`` of the file recreates them."""
        whales = whale_list_with_labels().filter(pk__in=queryset.values("pk"))
        text = whale_file_render(rows=whale_file_rows(whales=whales), fmt="csv")
        response = HttpResponse(text, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="whales.csv"'
        return response

    @admin.action(description="Stop tracking selected whales")
    def untrack(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = whales_set_tracked(whales=queryset, is_tracked=False)
        self.message_user(request, f"{count} whale(s) no longer tracked.", messages.SUCCESS)

    def save_model(self, request: HttpRequest, obj: Whale, form: forms.ModelForm, change: bool) -> None:
        if "type" in form.changed_data:
            obj.type_is_manual = True  # an analyst's choice: classification keeps it
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        instances = formset.save(commit=False)
        for deleted in formset.deleted_forms:
            if isinstance(deleted.instance, WhaleLabel) and deleted.instance.pk is not None:
                label_removals_record(links=[deleted.instance], removed_by=request.user,
                                      reason=deleted.cleaned_data.get("removal_reason", ""))
            elif deleted.instance.pk is not None:
                deleted.instance.delete()
        for obj in instances:
            if isinstance(obj, WhaleLabel) and obj.pk is None and obj.added_by_id is None:
                obj.added_by = request.user
            obj.save()
        formset.save_m2m()


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    """Owners of addresses; searched by the whale form's entity autocomplete."""

    list_display = ("name", "slug", "kind", "website", "source", "whale_count")
    list_filter = ("kind",)
    search_fields = ("name", "slug")
    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(whale_total=Count("whales"))

    @admin.display(description="whales", ordering="whale_total")
    def whale_count(self, obj: Entity) -> int:
        return obj.whale_total  # type: ignore[attr-defined]  # annotated in get_queryset


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    """Labels analysts put on whales."""

    list_display = ("slug", "name", "whale_count")
    search_fields = ("slug", "name")
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(whale_total=Count("whale_labels__whale", distinct=True))

    @admin.display(description="whales", ordering="whale_total")
    def whale_count(self, obj: Label) -> int:
        return obj.whale_total  # type: ignore[attr-defined]  # annotated in get_queryset

    def delete_model(self, request: HttpRequest, obj: Label) -> None:
        self.delete_queryset(request, Label.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Deleting a label takes it off every whale: each of those rows leaves its LabelRemoval trail first."""
        with transaction.atomic():
            for label in queryset:
                links = list(WhaleLabel.objects.select_related("label").filter(label=label))
                if links:
                    label_removals_record(links=links, removed_by=request.user,
                                          reason=f"label {label.slug} deleted in the admin")
            queryset.delete()


@admin.register(LabelRemoval)
class LabelRemovalAdmin(admin.ModelAdmin):
    """The trail of removed labels: who removed which label from which whale, when, why, and its provenance.
    Read-only; the action puts labels back exactly (``whales.label_trail.label_restore``)."""

    list_display = ("whale", "label_slug", "source", "removed_by", "removed_at", "reason", "restored_at",
                    "restored_by")
    list_filter = ("source", ("removed_at", admin.DateFieldListFilter), ("restored_at", admin.EmptyFieldListFilter))
    list_select_related = ("whale", "removed_by", "restored_by")
    search_fields = ("label_slug", "whale__address", "whale__name", "reason")
    show_full_result_count = False
    ordering = ("-removed_at", "-id")
    actions = ("restore",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Restore the selected labels", permissions=["view"])
    def restore(self, request: HttpRequest, queryset: QuerySet) -> None:
        restored, failed = 0, []
        for removal in queryset:
            try:
                label_restore(removal_id=removal.pk, restored_by=request.user)
            except ApplicationError as exc:
                failed.append(f"{removal}: {exc.detail}")
                continue
            restored += 1
        self.message_user(request, f"{restored} label(s) restored.", messages.SUCCESS)
        for line in failed:
            self.message_user(request, line, messages.ERROR)


@admin.register(LabelConflict)
class LabelConflictAdmin(admin.ModelAdmin):
    """Where the label sets disagree on an address, what the import kept and why (``import_labels``). Read-only."""

    list_display = ("address", "chain", "field", "winner_value", "winner_source", "sources", "last_seen_at")
    list_filter = ("field", "chain", "winner_source")
    search_fields = ("address", "winner_value")
    readonly_fields = ("chain", "address", "field", "values", "winner_source", "winner_value", "rule",
                       "first_seen_at", "last_seen_at")
    show_full_result_count = False
    ordering = ("chain", "address", "field")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(KnownAddress)
class KnownAddressAdmin(AddressSearchMixin, admin.ModelAdmin):
    """The imported label directory (counterparties): search by address or name."""

    list_display = ("address", "name", "chain", "category", "entity", "source")
    list_filter = ("chain", "category", "source")
    list_select_related = ("entity",)
    search_fields = ("name",)
    search_help_text = "An address (exact; any case for EVM), or part of the name."
    name_search_fields = ("name",)
    show_full_result_count = False
    show_facets = ShowFacets.NEVER
    autocomplete_fields = ("entity",)
    form = KnownAddressAdminForm


@admin.register(Trade)
class TradeAdmin(BigTableAdmin):
    """Whale activity, read-only."""

    list_display = ("block_time", "whale", "chain", "source", "direction", "base_asset", "amount_base",
                    "value_usd", "tx_hash")
    list_filter = ("chain", "source", "direction")
    list_select_related = ("whale",)
    ordering = ("-block_time",)


@admin.register(WhaleEvent)
class WhaleEventAdmin(BigTableAdmin):
    """The live feed's rows, read-only."""

    list_display = ("block_time", "type", "chain", "whale", "summary", "value_usd", "observed_at")
    list_filter = ("chain", "type")
    list_select_related = ("whale",)
    ordering = ("-block_time",)


@admin.register(EventThreshold)
class EventThresholdAdmin(admin.ModelAdmin):
    """Minimum USD value per event type: edit here to tune alerts without a deploy."""

    list_display = ("event_type", "min_value_usd", "updated_at")
    list_editable = ("min_value_usd",)
    ordering = ("event_type",)


@admin.register(ScoringRun)
class ScoringRunAdmin(BigTableAdmin):
    """The smart-money scoring run log with its statistics, read-only (whales.analytics.scoring)."""

    list_display = ("started_at", "status", "formula_version", "total", "processed", "updated", "failed",
                    "duration_ms", "error")
    list_filter = ("status", "formula_version")
    ordering = ("-started_at",)


@admin.register(WalletScore)
class WalletScoreAdmin(BigTableAdmin):
    """Smart-money scores (history; ``is_current`` marks each whale's latest), read-only."""

    list_display = ("whale", "score", "confidence", "formula_version", "is_current", "scored_at", "run")
    list_filter = ("is_current", "confidence", "formula_version")
    list_select_related = ("whale", "run")
    raw_id_fields = ("whale", "run")
    ordering = ("-scored_at", "-id")
