"""Read-only API views of the whale registry (``/api/v1/``). Anonymous reads, throttled by settings.

Views only parse input (FilterSets for filters, ``*ParamsSerializer`` for paging/sorting), call
``whales.selectors`` and format output. Errors are ``{"detail", "code"}``: a bad query parameter is
400 ``invalid_parameter``, a bad cursor 400 ``invalid_cursor``, a bad address 400 ``invalid_address``,
an unknown chain 404 ``unknown_chain``, an unknown wallet or collector 404 ``not_found``.
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Max, QuerySet
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whales.analytics.selectors import wallet_score_history
from whales.api.filtersets import EventFilterSet, TradeFilterSet, WhaleFilterSet
from whales.api.pagination import keyset_page
from whales.api.params import known_query_params, validated_query
from whales.api.serializers import (
    SENTIMENT_WINDOWS,
    CatalystEventSerializer,
    CatalystListParamsSerializer,
    CatalystListSerializer,
    ErrorSerializer,
    EventListParamsSerializer,
    EventListSerializer,
    EventSerializer,
    HistoryParamsSerializer,
    PortfolioHistorySerializer,
    PortfolioPointSerializer,
    RoiHistorySerializer,
    RoiPointSerializer,
    ScoreHistoryParamsSerializer,
    ScoreHistorySerializer,
    ScorePointSerializer,
    SentimentParamsSerializer,
    TradeListParamsSerializer,
    TradePageSerializer,
    TradeSerializer,
    WalletDetailSerializer,
    WhaleListItemSerializer,
    WhaleListParamsSerializer,
    WhaleListSerializer,
)
from whales.chains import Chain, normalize_address
from whales.context import catalyst_list, mood
from whales.errors import InvalidParameter, NotFound, flatten_errors
from whales.models import WalletMetricsDaily, Whale, WhaleEvent
from whales.readcache import read_cached
from whales.selectors import (
    event_list,
    trade_list,
    whale_get,
    whale_list_with_labels,
    whales_order,
)

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad query parameter (code invalid_parameter).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="Unknown chain (unknown_chain) or wallet (not_found).")


class StrictFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend that answers an invalid filter value with 400 ``invalid_parameter``."""

    def filter_queryset(self, request: Request, queryset: QuerySet, view: APIView) -> QuerySet:
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            errors = filterset.errors.get_json_data()
            raise InvalidParameter(flatten_errors({k: [e["message"] for e in v] for k, v in errors.items()}))
        return filterset.qs


class FilteredSchema(AutoSchema):
    """Documents the view's FilterSet as query parameters even though the response is an object."""

    def get_filter_backends(self) -> list:
        return list(getattr(self.view, "filter_backends", []))


def _watchlist_vary(request: Request) -> list[str]:
    """A ``watchlist`` filter's answer depends on who asks (a private list is its owner's alone): such answers
    are cached per user, so a hit never shows one user's list to another."""
    return [f"user:{request.user.pk}"] if "watchlist" in request.query_params else []


def _wallet_key(chain: str, address: str) -> tuple[str, str]:
    """``(chain, normalized address)`` from URL parts. Raises: UnknownChain, InvalidAddress."""
    return chain, normalize_address(chain, address)


def _wallet_get(chain: str, address: str) -> Whale:
    chain, address = _wallet_key(chain, address)
    try:
        return whale_get(chain=chain, address=address)
    except Whale.DoesNotExist as exc:
        raise NotFound(f"No wallet {address} on {chain}.") from exc


class WhaleListView(GenericAPIView):
    """GET whales: filtered, sorted, limit/offset page of whales as {"items": [...], "total": N}.

    Queries: count + page (entity and metrics joined) + label rows, whatever the page size.
    """

    serializer_class = WhaleListItemSerializer
    filter_backends = [StrictFilterBackend]
    filterset_class = WhaleFilterSet
    schema = FilteredSchema()

    def get_queryset(self) -> QuerySet[Whale]:
        return whale_list_with_labels()

    def list_params(self, request: Request) -> dict:
        return validated_query(WhaleListParamsSerializer, request, also=(WhaleFilterSet,))

    @extend_schema(
        operation_id="whale_list",
        parameters=[WhaleListParamsSerializer],
        responses={200: WhaleListSerializer, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        return read_cached(request, endpoint="whales", scopes=["whales"], vary=_watchlist_vary(request),
                           known=known_query_params(WhaleFilterSet, WhaleListParamsSerializer),
                           build=lambda: self.page(request))

    def page(self, request: Request) -> dict:
        """The answer's data: validates the query (InvalidParameter), then one page of whales."""
        params = self.list_params(request)
        queryset = whales_order(self.filter_queryset(self.get_queryset()), sort_by=params["sort_by"],
                                order=params["order"])
        start = params["offset"]
        page = queryset[start:start + params["limit"]]
        return {"items": WhaleListItemSerializer(page, many=True).data, "total": queryset.count()}


class TopWhaleListView(WhaleListView):
    """GET whales/top: ``GET whales`` sorted by ROI descending, 10 rows (filters still apply)."""

    def list_params(self, request: Request) -> dict:
        return {"sort_by": "roi", "order": "desc", "limit": 10, "offset": 0}

    @extend_schema(operation_id="whale_top_list", responses={200: WhaleListSerializer, 400: BAD_REQUEST})
    def get(self, request: Request) -> Response:
        return read_cached(request, endpoint="whales/top", scopes=["whales"], vary=_watchlist_vary(request),
                           known=known_query_params(WhaleFilterSet), build=lambda: self.page(request))


_WALLET_PATH = [
    OpenApiParameter("chain", str, OpenApiParameter.PATH, enum=Chain.values, description="Chain key."),
    OpenApiParameter("address", str, OpenApiParameter.PATH,
                     description="Address, any case for EVM chains (normalized before lookup)."),
]


class WalletDetailView(APIView):
    """GET wallets/{chain}/{address}: wallet with label provenance, metrics, holdings (perp positions with their
    risk figures), the current smart-money score with its components, the classification with its reason."""

    @extend_schema(
        operation_id="wallet_detail",
        parameters=_WALLET_PATH,
        responses={
            200: WalletDetailSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Address invalid on the chain (invalid_address)."),
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, chain: str, address: str) -> Response:
        return Response(WalletDetailSerializer(_wallet_get(chain, address)).data)


class WalletTradeListView(GenericAPIView):
    """GET wallets/{chain}/{address}/trades: the wallet's trades, newest first, cursor-paginated.

    Shape: {"items": [...], "next_cursor": str | null}; order (block_time, id) descending.
    """

    serializer_class = TradeSerializer
    filter_backends = [StrictFilterBackend]
    filterset_class = TradeFilterSet
    schema = FilteredSchema()

    def get_queryset(self) -> QuerySet:
        return trade_list()

    @extend_schema(
        operation_id="wallet_trade_list",
        parameters=[*_WALLET_PATH, TradeListParamsSerializer],
        responses={
            200: TradePageSerializer,
            400: OpenApiResponse(ErrorSerializer, description="invalid_parameter, invalid_cursor or invalid_address."),
            404: NOT_FOUND,
        },
    )
    def get(self, request: Request, chain: str, address: str) -> Response:
        return read_cached(request, endpoint="wallet-trades", scopes=["whales"], vary=[chain, address],
                           known=known_query_params(TradeFilterSet, TradeListParamsSerializer),
                           build=lambda: self.page(request, chain, address))

    def page(self, request: Request, chain: str, address: str) -> dict:
        """The answer's data: validates the query and the wallet (400/404 errors), then one page of trades."""
        params = validated_query(TradeListParamsSerializer, request, also=(TradeFilterSet,))
        whale = _wallet_get(chain, address)
        queryset = self.filter_queryset(self.get_queryset().filter(whale=whale))
        page = keyset_page(queryset, cursor=params.get("cursor"), limit=params["limit"])
        return {"items": TradeSerializer(page.items, many=True).data, "next_cursor": page.next_cursor}


def _daily_points(whale: Whale, *, field: str, days: int) -> list[dict]:
    """``[{timestamp, value}]`` of ``whale``'s WalletMetricsDaily ``field``, oldest day first.

    Shape: the ``days`` UTC days ending at the whale's newest daily row, or today when that row is
    in the future (so recorded, older data still charts its last ``days`` days instead of nothing);
    ``timestamp`` is the day's midnight UTC; a day without a row has no point; ``value`` None = the
    row does not know it (Chart.js draws a gap).
    """
    rows = WalletMetricsDaily.objects.filter(whale=whale)
    newest = rows.aggregate(newest=Max("date"))["newest"]
    if newest is None:
        return []
    end = min(newest, timezone.now().date())
    window = rows.filter(date__gt=end - timedelta(days=days), date__lte=end).order_by("date")
    return [
        {"timestamp": datetime(day.year, day.month, day.day, tzinfo=UTC), "value": value}
        for day, value in window.values_list("date", field)
    ]


class RoiHistoryView(APIView):
    """GET wallets/{chain}/{address}/roi-history?days=N: daily ROI % (WalletMetricsDaily.roi_percent)."""

    @extend_schema(
        operation_id="wallet_roi_history",
        parameters=[*_WALLET_PATH, HistoryParamsSerializer],
        responses={200: RoiHistorySerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, chain: str, address: str) -> Response:
        params = validated_query(HistoryParamsSerializer, request)
        points = _daily_points(_wallet_get(chain, address), field="roi_percent", days=params["days"])
        return Response({"points": RoiPointSerializer(points, many=True).data})


class PortfolioHistoryView(APIView):
    """GET wallets/{chain}/{address}/portfolio-history?days=N: daily portfolio value in USD
    (WalletMetricsDaily.portfolio_value_usd)."""

    @extend_schema(
        operation_id="wallet_portfolio_history",
        parameters=[*_WALLET_PATH, HistoryParamsSerializer],
        responses={200: PortfolioHistorySerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, chain: str, address: str) -> Response:
        params = validated_query(HistoryParamsSerializer, request)
        points = _daily_points(_wallet_get(chain, address), field="portfolio_value_usd", days=params["days"])
        return Response({"points": PortfolioPointSerializer(points, many=True).data})


class ScoreHistoryView(APIView):
    """GET wallets/{chain}/{address}/score-history?days=N: the wallet's smart-money scores over the last N days
    (``whales.analytics.selectors.wallet_score_history``: the stored WalletScore rows, one per change)."""

    @extend_schema(
        operation_id="wallet_score_history",
        parameters=[*_WALLET_PATH, ScoreHistoryParamsSerializer],
        responses={200: ScoreHistorySerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
    )
    def get(self, request: Request, chain: str, address: str) -> Response:
        params = validated_query(ScoreHistoryParamsSerializer, request)
        whale = _wallet_get(chain, address)
        rows = wallet_score_history(whale_id=whale.pk, since=timezone.now() - timedelta(days=params["days"]))
        return Response({"points": ScorePointSerializer(rows, many=True).data})


class EventRecentListView(GenericAPIView):
    """GET events/recent: newest whale events first; with ``since_id``, events after it in ascending id.

    ``since_id`` is the backfill after a WebSocket reconnect: pass the largest id seen and page on
    with the last id returned until fewer than ``limit`` come back.
    """

    serializer_class = EventSerializer
    filter_backends = [StrictFilterBackend]
    filterset_class = EventFilterSet
    schema = FilteredSchema()

    def get_queryset(self) -> QuerySet[WhaleEvent]:
        return event_list()

    @extend_schema(
        operation_id="event_recent_list",
        parameters=[EventListParamsSerializer],
        responses={200: EventListSerializer, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        return read_cached(request, endpoint="events/recent", scopes=["whales"], vary=_watchlist_vary(request),
                           known=known_query_params(EventFilterSet, EventListParamsSerializer),
                           build=lambda: self.page(request))

    def page(self, request: Request) -> dict:
        """The answer's data: validates the query (InvalidParameter), then the events."""
        params = validated_query(EventListParamsSerializer, request, also=(EventFilterSet,))
        queryset = self.filter_queryset(self.get_queryset())
        if params.get("since_id") is not None:
            queryset = queryset.filter(id__gt=params["since_id"]).order_by("id")
        return {"items": EventSerializer(queryset[: params["limit"]], many=True).data}


class CatalystEventListView(APIView):
    """GET catalyst/events: SEC filings and exchange announcements, newest first, filtered by coin, type and
    time (``since`` inclusive, ``until`` exclusive), at most ``limit``."""

    @extend_schema(operation_id="catalyst_event_list", parameters=[CatalystListParamsSerializer],
                   responses={200: CatalystListSerializer, 400: BAD_REQUEST})
    def get(self, request: Request) -> Response:
        params = validated_query(CatalystListParamsSerializer, request)
        queryset = catalyst_list(coin=params.get("coin"), type=params.get("type"), since=params.get("since"),
                                 until=params.get("until"))
        return Response({"items": CatalystEventSerializer(queryset[: params["limit"]], many=True).data})


class SentimentView(APIView):
    """GET human/sentiment?coin=&window=&until=: the crowd's mood about a coin over the last hour, day and week
    (or one ``window``) ending ``until`` (default now), from the posts that name it (``whales.context.mood``:
    posts, bullish/bearish/neutral counts, engagement-weighted mean VADER compound)."""

    @extend_schema(operation_id="human_sentiment", parameters=[SentimentParamsSerializer],
                   responses={200: OpenApiResponse(description="{coin, until, windows: {1h|24h|7d: mood}}"),
                              400: BAD_REQUEST})
    def get(self, request: Request) -> Response:
        params = validated_query(SentimentParamsSerializer, request)
        until = params.get("until") or timezone.now()
        windows = [params["window"]] if params.get("window") else list(SENTIMENT_WINDOWS)
        return Response({"coin": params["coin"], "until": until.isoformat().replace("+00:00", "Z"), "windows": {
            name: mood(coin=params["coin"], since=until - timedelta(hours=SENTIMENT_WINDOWS[name]), until=until)
            for name in windows}})
