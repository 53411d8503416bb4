"""Streamed exports of the whale lists (``GET /api/v1/exports/<list>.<csv|json>``), issue 17 section 5.

Each export takes the filters of the API list it mirrors, parsed by the same FilterSet (``StrictFilterBackend``:
a bad value is 400 ``invalid_parameter``) plus the list's ordering parameters, and the same permission and
throttles (anonymous reads allowed, like the lists). Unlike the lists, an unknown query parameter is a 400 that
names it: an export whose misspelt filter were ignored would silently hold every row.

    exports/trades.csv|json   trades, newest first (block_time, id desc). Filters: TradeFilterSet (source,
                              direction) as ``wallets/{chain}/{address}/trades``, plus chain and address (the
                              whale's) to export one wallet's trades, or all wallets' without them.
    exports/events.csv|json   whale events, newest first; filters EventFilterSet (chain, type, min_value_usd)
                              and since_id (then ascending id) as ``events/recent``.
    exports/whales.csv|json   the whale list; filters WhaleFilterSet and sort_by / order as ``whales``.

At most ``EXPORT_MAX_ROWS`` rows: more is a 400 ``export_too_large`` before anything is sent. The body is
streamed (``StreamingHttpResponse``; an async iterator under ASGI) from a server-side cursor; the encoding
(Decimals as strings, times ISO 8601 UTC, formula-safe CSV cells, JSON as one array) is ``whales.exports``'.

    exports/watchlists/{id}.csv|json   one watchlist's wallets (yours or a published one; signed in), oldest
                              first, each with its stored whale when there is one. ``exports/whales...?watchlist=``
                              exports the stored whales on it with the whale list's columns instead.

Adding an export is one ``ExportSpec`` and one ``ExportView`` subclass naming its queryset, FilterSet and spec.
"""

from __future__ import annotations

import django_filters
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Aggregate, CharField, OuterRef, Q, QuerySet, Subquery
from django.http import StreamingHttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

from whales.api.filtersets import EventFilterSet, TradeFilterSet, WhaleFilterSet
from whales.api.pagination import MAX_ID
from whales.api.params import validated_query
from whales.api.serializers import ErrorSerializer
from whales.api.views import FilteredSchema, StrictFilterBackend
from whales.chains import Chain, normalize_address
from whales.errors import InvalidAddress, InvalidParameter
from whales.exports import (
    CONTENT_TYPES,
    FORMATS,
    Column,
    ExportSpec,
    export_check,
    export_stream,
    export_stream_async,
)
from whales.models import Trade, Whale, WhaleEvent, WhaleLabel
from whales.models.watchlists import WatchlistEntry
from whales.selectors import WHALE_SORT_FIELDS, event_list, trade_list, whale_list, whales_order
from whales.watchlists import watchlist_get

# --- column specs ----------------------------------------------------------------------------------------

TRADE_EXPORT = ExportSpec(name="trades", columns=tuple(Column(name, lookup) for name, lookup in (
    ("id", "id"), ("chain", "chain"), ("address", "whale__address"), ("tx_hash", "tx_hash"),
    ("log_index", "log_index"), ("block_number", "block_number"), ("block_time", "block_time"),
    ("source", "source"), ("platform", "platform"), ("direction", "direction"), ("base_asset", "base_asset"),
    ("base_token_address", "base_token_address"), ("quote_asset", "quote_asset"),
    ("quote_token_address", "quote_token_address"), ("amount_raw", "amount_raw"), ("amount_base", "amount_base"),
    ("amount_quote", "amount_quote"), ("price_usd", "price_usd"), ("value_usd", "value_usd"),
    ("fee_usd", "fee_usd"), ("fee_amount", "fee_amount"), ("pnl_usd", "pnl_usd"), ("pnl_percent", "pnl_percent"),
    ("counterparty", "counterparty"), ("counterparty_name", "counterparty_name"), ("is_internal", "is_internal"),
)))

EVENT_EXPORT = ExportSpec(name="events", columns=tuple(Column(name, lookup) for name, lookup in (
    ("id", "id"), ("chain", "chain"), ("type", "type"), ("address", "whale__address"), ("block_time", "block_time"),
    ("block_number", "block_number"), ("tx_hash", "tx_hash"), ("log_index", "log_index"), ("summary", "summary"),
    ("value_usd", "value_usd"), ("details", "details"), ("observed_at", "observed_at"),
)))


class _LabelSlugs(Aggregate):
    """The distinct label slugs of a group joined by ``,`` (PostgreSQL STRING_AGG, SQLite GROUP_CONCAT; order
    unspecified: ``_labels_column`` sorts them). Slugs never contain a comma."""

    function = "GROUP_CONCAT"
    allow_distinct = True
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, function="STRING_AGG",
                           template="%(function)s(%(distinct)s%(expressions)s, ',')", **extra_context)


def _labels_column(value: str | None) -> str:
    """``"b,a"`` -> ``"a;b"``: the slugs sorted, separated by ``;`` as ``import_whales`` reads them."""
    return ";".join(sorted(set(value.split(",")))) if value else ""


WHALE_EXPORT = ExportSpec(name="whales", columns=(
    *(Column(name, lookup) for name, lookup in (
        ("id", "id"), ("chain", "chain"), ("address", "address"), ("name", "name"), ("entity", "entity__slug"),
        ("entity_name", "entity__name"), ("type", "type"))),
    Column("labels", "label_slugs", _labels_column),
    *(Column(name, lookup) for name, lookup in (
        ("is_tracked", "is_tracked"), ("first_seen_at", "first_seen_at"), ("last_active_at", "last_active_at"),
        ("roi_percent", "metrics__roi_percent"), ("portfolio_value_usd", "metrics__portfolio_value_usd"),
        ("volume_30d_usd", "metrics__volume_30d_usd"))),
))


def whales_with_label_slugs(queryset: QuerySet[Whale]) -> QuerySet[Whale]:
    """``queryset`` annotated with ``label_slugs``: its label slugs joined by ``,`` (one correlated subquery)."""
    slugs = (WhaleLabel.objects.filter(whale=OuterRef("pk")).values("whale")
             .annotate(slugs=_LabelSlugs("label__slug", distinct=True)).values("slugs"))
    return queryset.annotate(label_slugs=Subquery(slugs, output_field=CharField()))


# --- filters and parameters --------------------------------------------------------------------------------


class TradeExportFilterSet(TradeFilterSet):
    """``TradeFilterSet`` (the wallet trades list's filters) plus the wallet itself: ``chain`` and ``address``."""

    chain = django_filters.ChoiceFilter(choices=Chain.choices, help_text="Only trades on this chain.")
    address = django_filters.CharFilter(
        method="filter_address",
        help_text="Only this whale's trades: its address, any case for EVM chains (normalized per chain).")

    class Meta(TradeFilterSet.Meta):
        fields = ["source", "direction", "chain"]

    def filter_address(self, queryset: QuerySet[Trade], name: str, value: str) -> QuerySet[Trade]:
        match = Q()
        for chain in Chain:
            try:
                match |= Q(whale__chain=chain, whale__address=normalize_address(chain, value.strip()))
            except InvalidAddress:
                continue
        if not match:
            raise InvalidParameter(f"address: {value!r} is not an address on any chain.")
        return queryset.filter(match)


class EventExportParamsSerializer(serializers.Serializer):
    """``events/recent``'s ``since_id`` (no limit: the export holds every matching row)."""

    since_id = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_ID,
        help_text="Only events with id > since_id, then oldest first (ascending id).")


class WhaleExportParamsSerializer(serializers.Serializer):
    """``whales``' sorting (no limit/offset: the export holds every matching row)."""

    sort_by = serializers.ChoiceField(choices=list(WHALE_SORT_FIELDS), required=False, default="last_active",
                                      help_text="Sort key as in GET whales (default last_active).")
    order = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc",
                                    help_text="Sort direction (default desc); missing values last either way.")


# --- views ---------------------------------------------------------------------------------------------------

_FORMAT_PARAM = OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=list(FORMATS),
                                 description="csv (RFC 4180, header row) or json (one array of objects).")


def _export_schema(operation_id: str, params: type | None, description: str = "", extra: dict | None = None):
    return extend_schema(
        operation_id=operation_id, description=description,
        parameters=[_FORMAT_PARAM, *([params] if params else [])],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV, streamed."),
            (200, "application/json"): OpenApiResponse(OpenApiTypes.ANY, description="JSON array, streamed."),
            400: OpenApiResponse(ErrorSerializer, description="invalid_parameter (a bad or unknown parameter) or "
                                                              "export_too_large (more than EXPORT_MAX_ROWS rows)."),
            404: OpenApiResponse(ErrorSerializer, description="A format other than csv or json (not_found)."),
            **(extra or {}),
        },
    )


class ExportView(APIView):
    """Base of the exports: filters ``get_queryset()`` with ``filterset_class``, validates the extra
    ``params_serializer`` parameters, checks the row cap, and streams ``spec``. Subclasses set the three class
    attributes and may override ``arrange`` (ordering from the validated parameters)."""

    filter_backends = [StrictFilterBackend]
    filterset_class: type[django_filters.FilterSet]
    params_serializer: type[serializers.Serializer] | None = None
    spec: ExportSpec
    schema = FilteredSchema()

    def get_queryset(self) -> QuerySet:
        raise NotImplementedError

    def arrange(self, queryset: QuerySet, params: dict) -> QuerySet:
        return queryset

    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        params = validated_query(self.params_serializer, request, also=(self.filterset_class,))
        queryset = StrictFilterBackend().filter_queryset(request, self.get_queryset(), self)
        queryset = self.arrange(queryset, params)
        export_check(queryset)
        chunks = export_stream(queryset, self.spec, fmt=fmt)
        content = export_stream_async(chunks) if isinstance(request._request, ASGIRequest) else chunks
        response = StreamingHttpResponse(content, content_type=CONTENT_TYPES[fmt])
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = f'attachment; filename="{self.spec.name}-{stamp}.{fmt}"'
        response["Cache-Control"] = "no-store"
        return response


class TradeExportView(ExportView):
    filterset_class = TradeExportFilterSet
    spec = TRADE_EXPORT

    def get_queryset(self) -> QuerySet[Trade]:
        return trade_list()

    @_export_schema("export_trades", None, "Trades, newest first (block_time, id descending), streamed; "
                    "filters of wallets/{chain}/{address}/trades plus chain and address.")
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        return super().get(request, fmt)


class EventExportView(ExportView):
    filterset_class = EventFilterSet
    params_serializer = EventExportParamsSerializer
    spec = EVENT_EXPORT

    def get_queryset(self) -> QuerySet[WhaleEvent]:
        return event_list()

    def arrange(self, queryset: QuerySet, params: dict) -> QuerySet:
        if params.get("since_id") is not None:
            return queryset.filter(id__gt=params["since_id"]).order_by("id")
        return queryset

    @_export_schema("export_events", EventExportParamsSerializer,
                    "Whale events, newest first (ascending id after since_id), streamed; filters of events/recent.")
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        return super().get(request, fmt)


class WhaleExportView(ExportView):
    filterset_class = WhaleFilterSet
    params_serializer = WhaleExportParamsSerializer
    spec = WHALE_EXPORT

    def get_queryset(self) -> QuerySet[Whale]:
        return whale_list()

    def arrange(self, queryset: QuerySet, params: dict) -> QuerySet:
        return whales_with_label_slugs(whales_order(queryset, sort_by=params["sort_by"], order=params["order"]))

    @_export_schema("export_whales", WhaleExportParamsSerializer,
                    "The whale list, streamed; filters and sort_by/order of GET whales (labels: slugs joined by ';').")
    def get(self, request: Request, fmt: str) -> StreamingHttpResponse:
        return super().get(request, fmt)


WATCHLIST_EXPORT = ExportSpec(name="watchlist", columns=tuple(Column(name, lookup) for name, lookup in (
    ("chain", "chain"), ("address", "address"), ("added_at", "added_at"), ("whale_id", "whale_id"),
    ("whale_name", "whale_name"), ("is_tracked", "is_tracked"),
)))


class WatchlistExportFilterSet(django_filters.FilterSet):
    """No filters: a watchlist export holds the whole list."""

    class Meta:
        model = WatchlistEntry
        fields: list[str] = []


class WatchlistExportView(ExportView):
    """``exports/watchlists/{id}.csv|json``: a list's wallets (``whales.watchlists.watchlist_get``: yours or a
    published one, else 404), oldest first, each joined to its stored whale (id, name, tracked) or empty."""

    permission_classes = [IsAuthenticated]
    filterset_class = WatchlistExportFilterSet
    spec = WATCHLIST_EXPORT

    def get_queryset(self) -> QuerySet[WatchlistEntry]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular's schema pass: no request, no list
            return WatchlistEntry.objects.none()
        watchlist = watchlist_get(user=self.request.user, watchlist_id=self.kwargs["watchlist_id"])
        whale = Whale.objects.filter(chain=OuterRef("chain"), address=OuterRef("address"))
        return (WatchlistEntry.objects.filter(watchlist=watchlist).order_by("added_at", "id")
                .annotate(whale_id=Subquery(whale.values("id")[:1]),
                          whale_name=Subquery(whale.values("name")[:1]),
                          is_tracked=Subquery(whale.values("is_tracked")[:1])))

    @_export_schema(
        "export_watchlist", None,
        "One watchlist's wallets (yours or a published one), oldest first, streamed, each with its stored whale's "
        "id, name and tracked flag (empty when none is stored).",
        extra={401: OpenApiResponse(ErrorSerializer, description="Not signed in (not_authenticated)."),
               404: OpenApiResponse(ErrorSerializer, description="No such watchlist you may see, or another format.")})
    def get(self, request: Request, fmt: str, watchlist_id: int) -> StreamingHttpResponse:
        return super().get(request, fmt)
