"""Smart-money API views: scored wallets, one wallet's score and stats (``/api/v1/smart-money/...``) and token
flows (``/api/v1/glass/smart-money-flows``, routed by the glass ledger), each cached (``cache.py``).

Errors are ``{"detail", "code"}``: bad query parameter 400 ``invalid_parameter``; unknown chain 404
``unknown_chain``; invalid address 400 ``invalid_address``; unknown wallet or wallet without a current
score 404 ``not_found``.
"""

from datetime import timedelta

from django.db.models import F
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whales.analytics.api.cache import cached_response
from whales.analytics.api.serializers import (
    SORT_FIELDS,
    FlowOverviewParamsSerializer,
    FlowOverviewSerializer,
    SmartMoneyFlowParamsSerializer,
    SmartMoneyFlowSerializer,
    SmartMoneyStatsSerializer,
    SmartMoneyWalletDetailSerializer,
    SmartMoneyWalletListParamsSerializer,
    SmartMoneyWalletListSerializer,
    SmartMoneyWalletSerializer,
)
from whales.analytics.flows import WINDOWS
from whales.analytics.selectors import (
    TOP_TOKENS_DAYS,
    WalletToken,
    smart_money_flow_latest,
    smart_money_flow_list,
    smart_money_stats,
    smart_money_wallet_list,
    wallet_top_tokens,
)
from whales.api.params import validated_query
from whales.api.serializers import ErrorSerializer
from whales.api.views import _wallet_key
from whales.chains import Chain
from whales.errors import NotFound
from whales.models import FlowWindow, SmartMoneyFlow, WalletScore, WhaleLabel

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad query parameter (code invalid_parameter).")



_WALLET_PATH = [
    OpenApiParameter("chain", str, OpenApiParameter.PATH, enum=Chain.values, description="Chain key."),
    OpenApiParameter("address", str, OpenApiParameter.PATH,
                     description="Address, any case for EVM chains (normalized before lookup)."),
]
_CACHE_HEADER = [OpenApiParameter("X-Cache", str, OpenApiParameter.HEADER, response=True, enum=["HIT", "MISS"],
                                  description="Whether the body came from the cache.")]


def _top_tokens(scores: list[WalletScore]) -> dict[int, list[WalletToken]]:
    since = timezone.now() - timedelta(days=TOP_TOKENS_DAYS)
    return wallet_top_tokens(whale_ids=[s.whale_id for s in scores], since=since)


class SmartMoneyWalletListView(APIView):
    """GET smart-money/wallets: current scores as {"items": [...], "total": N}; cached 5 min.

    Queries on a miss: count + page (whale, entity, metrics joined) + label rows.
    """

    @extend_schema(
        operation_id="smart_money_wallet_list",
        parameters=[SmartMoneyWalletListParamsSerializer, *_CACHE_HEADER],
        responses={200: SmartMoneyWalletListSerializer, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = validated_query(SmartMoneyWalletListParamsSerializer, request)

        def build() -> dict:
            queryset = smart_money_wallet_list()
            if "chain" in params:
                queryset = queryset.filter(whale__chain=params["chain"])
            if "min_score" in params:
                queryset = queryset.filter(score__gte=params["min_score"])
            if "confidence" in params:
                queryset = queryset.filter(confidence=params["confidence"])
            if "label" in params:
                labelled = WhaleLabel.objects.filter(label__slug=params["label"]).values("whale_id")
                queryset = queryset.filter(whale_id__in=labelled)
            field = F(SORT_FIELDS[params["sort_by"]])
            ordering = field.asc(nulls_last=True) if params["order"] == "asc" else field.desc(nulls_last=True)
            queryset = queryset.order_by(ordering, "whale_id")
            page = list(queryset[params["offset"]:params["offset"] + params["limit"]])
            items = SmartMoneyWalletSerializer(page, many=True, context={"top_tokens": _top_tokens(page)}).data
            return {"items": list(items), "total": queryset.count()}

        return cached_response(endpoint="wallets", params=params, kind="list", build=build)


class SmartMoneyWalletDetailView(APIView):
    """GET smart-money/wallets/{chain}/{address}: the wallet's current score with components; cached 10 min."""

    @extend_schema(
        operation_id="smart_money_wallet_detail",
        parameters=[*_WALLET_PATH, *_CACHE_HEADER],
        responses={
            200: SmartMoneyWalletDetailSerializer,
            400: OpenApiResponse(ErrorSerializer, description="Address invalid on the chain (invalid_address)."),
            404: OpenApiResponse(ErrorSerializer,
                                 description="Unknown chain (unknown_chain); wallet unknown or unscored (not_found)."),
        },
    )
    def get(self, request: Request, chain: str, address: str) -> Response:
        chain, address = _wallet_key(chain, address)

        def build() -> dict:
            score = smart_money_wallet_list().filter(whale__chain=chain, whale__address=address).first()
            if score is None:
                raise NotFound(f"No scored wallet {address} on {chain}.")
            return dict(SmartMoneyWalletDetailSerializer(score, context={"top_tokens": _top_tokens([score])}).data)

        return cached_response(endpoint="wallet", params={"chain": chain, "address": address}, kind="detail",
                               build=build)


class SmartMoneyStatsView(APIView):
    """GET smart-money/stats: scored wallets, by confidence, average score, latest run; cached 5 min."""

    @extend_schema(operation_id="smart_money_stats", parameters=_CACHE_HEADER,
                   responses={200: SmartMoneyStatsSerializer})
    def get(self, request: Request) -> Response:
        return cached_response(endpoint="stats", params={}, kind="stats",
                               build=lambda: dict(SmartMoneyStatsSerializer(smart_money_stats()).data))


class SmartMoneyFlowView(APIView):
    """GET glass/smart-money-flows?token=&window=&days=: a token's flow collections; cached 5 min."""

    @extend_schema(
        operation_id="smart_money_flows",
        parameters=[SmartMoneyFlowParamsSerializer, *_CACHE_HEADER],
        responses={200: SmartMoneyFlowSerializer, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = validated_query(SmartMoneyFlowParamsSerializer, request)

        def build() -> dict:
            since = timezone.now() - WINDOWS[FlowWindow.H24] * params["days"]
            points, latest = smart_money_flow_list(token=params["token"], window=params["window"], since=since)
            return dict(SmartMoneyFlowSerializer({**params, "points": points, "latest": latest}).data)

        return cached_response(endpoint="flows", params=params, kind="flows", build=build)


class SmartMoneyFlowOverviewView(APIView):
    """GET glass/smart-money-flows/latest?window=&limit=: every token of the newest flow collection with its net
    flow, buyers and sellers and top wallets each way over 1h, 24h, 7d and 30d; cached 5 min."""

    @extend_schema(
        operation_id="smart_money_flow_overview",
        parameters=[FlowOverviewParamsSerializer, *_CACHE_HEADER],
        responses={200: FlowOverviewSerializer, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = validated_query(FlowOverviewParamsSerializer, request)

        def build() -> dict:
            collected_at, rows = smart_money_flow_latest()
            tokens: dict[str, dict[str, SmartMoneyFlow | None]] = {}
            for row in rows:
                tokens.setdefault(row.token, dict.fromkeys(FlowWindow.values))[row.window] = row

            def order(item: tuple[str, dict[str, SmartMoneyFlow | None]]) -> tuple:
                flow = item[1][params["window"]]
                return (flow is None, -flow.net_flow_usd if flow is not None else 0, item[0])

            ordered = sorted(tokens.items(), key=order)[:params["limit"]]
            return dict(FlowOverviewSerializer({
                "collected_at": collected_at, "min_score": rows[0].min_score if rows else None,
                "window": params["window"], "total": len(tokens),
                "tokens": [{"token": token, "windows": windows} for token, windows in ordered],
            }).data)

        return cached_response(endpoint="flows/latest", params=params, kind="flows", build=build)
