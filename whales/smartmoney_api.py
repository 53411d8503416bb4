"""Smart-money API (``/api/v1/smart-money/...``): scored wallets, one wallet's score, stats and token flows.

Caching
    Every 200 response body is kept in the Django cache (Redis in production) under a key built from
    the endpoint and its *validated* query (unknown parameters do not split the cache) and the cache
    generation; TTLs: wallet list 5 min (``SMART_MONEY_CACHE_LIST_TTL``, 300 s), wallet detail 10 min
    (``SMART_MONEY_CACHE_DETAIL_TTL``, 600 s), stats 5 min (``SMART_MONEY_CACHE_STATS_TTL``, 300 s),
    flows 5 min (``SMART_MONEY_CACHE_FLOWS_TTL``, 300 s). The response says ``X-Cache: HIT`` or ``MISS``.
    Errors (400/404) are never cached.

Invalidation
    ``smart_money_cache_invalidate()`` bumps the generation counter (key ``smartmoney:generation``,
    no expiry) that every key includes, so every cached response is dropped at once on locmem and
    Redis alike (old entries just expire). It is registered with
    ``whales.scoring.scoring_finished_hook_register`` by ``smart_money_cache_hook_register()``
    (called on import of this module and of ``whales.tasks``), so it runs when a scoring run finishes.
    A generation key lost to eviction or ``cache.clear()`` restarts from the clock in ms, never from a
    value an older entry could still carry.

Errors are ``{"detail", "code"}``: bad query parameter 400 ``invalid_parameter``; unknown chain 404
``unknown_chain``; invalid address 400 ``invalid_address``; unknown wallet or wallet without a current
score 404 ``not_found``.
"""

import logging
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from django.db.models import Avg, Count, F, Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whales.api.errors import NotFound, validated
from whales.api.serializers import DEFAULT_LIMIT, MAX_LIMIT, EntityRefSerializer, ErrorSerializer
from whales.api.views import _wallet_key
from whales.chains import Chain
from whales.flows import WINDOWS
from whales.models import FlowWindow, ScoreConfidence, ScoringRun, SmartMoneyFlow, WalletScore, WhaleLabel

logger = logging.getLogger(__name__)

GENERATION_KEY = "smartmoney:generation"
CACHE_PREFIX = "smartmoney"
TTL_DEFAULTS = {"list": 300, "detail": 600, "stats": 300, "flows": 300}
TTL_SETTINGS = {
    "list": "SMART_MONEY_CACHE_LIST_TTL",
    "detail": "SMART_MONEY_CACHE_DETAIL_TTL",
    "stats": "SMART_MONEY_CACHE_STATS_TTL",
    "flows": "SMART_MONEY_CACHE_FLOWS_TTL",
}
# sort_by value -> ordering field of WalletScore; NULLs last either way, then whale id.
SORT_FIELDS = {"score": "score", "roi": "whale__metrics__roi_percent",
               "realized_pnl": "whale__metrics__realized_pnl_usd"}
FLOW_MAX_DAYS = 90
FLOW_DEFAULT_DAYS = 7

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad query parameter (code invalid_parameter).")


# --- cache ------------------------------------------------------------------------------------


def cache_ttl(kind: str) -> int:
    """TTL in seconds of ``kind`` (list, detail, stats, flows), from its setting or the default."""
    return int(getattr(settings, TTL_SETTINGS[kind], TTL_DEFAULTS[kind]))


def cache_generation() -> int:
    """The current cache generation (created from the clock in ms when missing)."""
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, int(time.time() * 1000), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return int(generation)


def smart_money_cache_invalidate(*_: object, **__: object) -> int:
    """Drop every cached smart-money response by bumping the generation; return the new generation.

    Accepts and ignores any arguments so it can be a hook's callback (the scoring hook passes the run).
    """
    cache_generation()  # make sure the key exists: incr on a missing key raises ValueError
    try:
        generation = cache.incr(GENERATION_KEY)
    except ValueError:  # evicted between the two calls
        generation = int(time.time() * 1000)
        cache.set(GENERATION_KEY, generation, timeout=None)
    logger.info("whales.smartmoney.cache_invalidated", extra={"generation": generation})
    return generation


def smart_money_cache_hook_register() -> None:
    """Make every finished scoring run invalidate the smart-money cache (``whales.scoring`` keeps one
    entry per function, so calling this again changes nothing). Called from ``WhalesConfig.ready``."""
    from whales.scoring import scoring_finished_hook_register  # scoring imports the models this module uses

    scoring_finished_hook_register(smart_money_cache_invalidate)


def cache_key(endpoint: str, params: dict) -> str:
    """``smartmoney:{generation}:{endpoint}?{sorted validated params}``."""
    query = urlencode(sorted((name, str(value)) for name, value in params.items() if value is not None))
    return f"{CACHE_PREFIX}:{cache_generation()}:{endpoint}?{query}"


def cached_response(*, endpoint: str, params: dict, kind: str, build: Callable[[], dict]) -> Response:
    """The cached body of ``(endpoint, params)`` (``X-Cache: HIT``) or ``build()`` stored for the
    ``kind``'s TTL (``X-Cache: MISS``). ``build`` may raise an API error: nothing is cached then."""
    key = cache_key(endpoint, params)
    data = cache.get(key)
    if data is not None:
        response = Response(data)
        response["X-Cache"] = "HIT"
        return response
    data = build()
    cache.set(key, data, timeout=cache_ttl(kind))
    response = Response(data)
    response["X-Cache"] = "MISS"
    return response




# --- serializers ------------------------------------------------------------------------------


class SmartMoneyWalletListParamsSerializer(serializers.Serializer):
    """Filters, sorting and paging of ``GET smart-money/wallets``."""

    chain = serializers.ChoiceField(choices=Chain.values, required=False, help_text="Only this chain.")
    min_score = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0, max_value=100,
                                         required=False, help_text="Only scores >= this (0-100).")
    confidence = serializers.ChoiceField(choices=ScoreConfidence.values, required=False,
                                         help_text="Only this confidence (low, medium, high).")
    sort_by = serializers.ChoiceField(choices=list(SORT_FIELDS), required=False, default="score",
                                      help_text="score (default), roi or realized_pnl (stored metrics).")
    order = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc",
                                    help_text="Sort direction (default desc); wallets without a value come last.")
    limit = serializers.IntegerField(required=False, default=DEFAULT_LIMIT, min_value=1, max_value=MAX_LIMIT,
                                     help_text=f"Page size, 1-{MAX_LIMIT} (default {DEFAULT_LIMIT}).")
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=10**9,
                                      help_text="Rows to skip (default 0).")


class SmartMoneyFlowParamsSerializer(serializers.Serializer):
    """Query of ``GET smart-money/flows``."""

    token = serializers.CharField(max_length=100, help_text="Token (Trade.base_asset, case-sensitive), e.g. ETH.")
    window = serializers.ChoiceField(choices=FlowWindow.values, required=False, default=FlowWindow.H24,
                                     help_text="Flow window: 1h, 24h (default), 7d or 30d.")
    days = serializers.IntegerField(required=False, default=FLOW_DEFAULT_DAYS, min_value=1, max_value=FLOW_MAX_DAYS,
                                    help_text=f"Days of collections, 1-{FLOW_MAX_DAYS} (default {FLOW_DEFAULT_DAYS}).")


class SmartMoneyWalletSerializer(serializers.ModelSerializer):
    """One scored wallet: the whale, its current score and its stored metrics (null when not computed).

    ``realized_pnl_method``: ``fifo``, ``exchange_closed_pnl``, both joined by "+", or "" (whales.metrics).
    """

    id = serializers.IntegerField(source="whale.id", read_only=True)
    chain = serializers.CharField(source="whale.chain", read_only=True)
    address = serializers.CharField(source="whale.address", read_only=True)
    name = serializers.CharField(source="whale.name", read_only=True)
    entity = EntityRefSerializer(source="whale.entity", allow_null=True, read_only=True)
    labels = serializers.SerializerMethodField()
    roi_percent = serializers.SerializerMethodField()
    win_rate_percent = serializers.SerializerMethodField()
    realized_pnl_usd = serializers.SerializerMethodField()
    realized_pnl_method = serializers.SerializerMethodField()

    class Meta:
        model = WalletScore
        fields = ["id", "chain", "address", "name", "entity", "labels", "score", "confidence", "formula_version",
                  "scored_at", "roi_percent", "win_rate_percent", "realized_pnl_usd", "realized_pnl_method"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_labels(self, score: WalletScore) -> list[str]:
        """Label slugs, sorted, each once."""
        return sorted({row.label.slug for row in score.whale.whale_labels.all()})

    def _metric(self, score: WalletScore, name: str) -> object:
        metrics = getattr(score.whale, "metrics", None)  # a missing reverse one-to-one raises AttributeError
        value = getattr(metrics, name) if metrics is not None else None
        return str(value) if value is not None and not isinstance(value, str) else value

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True))
    def get_roi_percent(self, score: WalletScore) -> object:
        return self._metric(score, "roi_percent")

    @extend_schema_field(serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True))
    def get_win_rate_percent(self, score: WalletScore) -> object:
        return self._metric(score, "win_rate_percent")

    @extend_schema_field(serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True))
    def get_realized_pnl_usd(self, score: WalletScore) -> object:
        return self._metric(score, "realized_pnl_usd")

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_realized_pnl_method(self, score: WalletScore) -> object:
        return self._metric(score, "realized_pnl_method")


class SmartMoneyWalletListSerializer(serializers.Serializer):
    items = SmartMoneyWalletSerializer(many=True)
    total = serializers.IntegerField()


class SmartMoneyWalletDetailSerializer(SmartMoneyWalletSerializer):
    """``GET smart-money/wallets/{chain}/{address}``: the list row plus every input and weight
    (``components``, as stored by the scoring run) and the run id."""

    run_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta(SmartMoneyWalletSerializer.Meta):
        fields = [*SmartMoneyWalletSerializer.Meta.fields, "components", "run_id"]
        read_only_fields = fields


class ScoringRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScoringRun
        fields = ["id", "started_at", "finished_at", "status", "formula_version", "total", "processed", "updated",
                  "failed", "duration_ms"]
        read_only_fields = fields


class SmartMoneyStatsSerializer(serializers.Serializer):
    """``GET smart-money/stats``. ``by_confidence`` has every level (0 when none);
    ``average_score`` null when nothing is scored; ``formula_version`` of the latest run (else of the
    newest current score, else null)."""

    scored_wallets = serializers.IntegerField()
    by_confidence = serializers.DictField(child=serializers.IntegerField())
    average_score = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    last_run = ScoringRunSerializer(allow_null=True)
    formula_version = serializers.CharField(allow_null=True)


class FlowWalletSerializer(serializers.Serializer):
    whale_id = serializers.IntegerField()
    chain = serializers.CharField()
    address = serializers.CharField()
    name = serializers.CharField()
    net_usd = serializers.DecimalField(max_digits=38, decimal_places=8, help_text="Signed net (sellers negative).")


class FlowPointSerializer(serializers.ModelSerializer):
    class Meta:
        model = SmartMoneyFlow
        fields = ["collected_at", "net_flow_usd", "buying_wallets", "selling_wallets"]
        read_only_fields = fields


class FlowLatestSerializer(serializers.ModelSerializer):
    top_buyers = FlowWalletSerializer(many=True, read_only=True)
    top_sellers = FlowWalletSerializer(many=True, read_only=True)

    class Meta:
        model = SmartMoneyFlow
        fields = ["collected_at", "net_flow_usd", "bought_usd", "sold_usd", "buying_wallets", "selling_wallets",
                  "top_buyers", "top_sellers", "min_score"]
        read_only_fields = fields


class SmartMoneyFlowSerializer(serializers.Serializer):
    """``GET smart-money/flows``: collections of the last ``days`` days, oldest first, and the newest
    collection ever (null when the token has none) with its top wallets. Rules: ``whales/flows.py``."""

    token = serializers.CharField()
    window = serializers.CharField()
    days = serializers.IntegerField()
    points = FlowPointSerializer(many=True)
    latest = FlowLatestSerializer(allow_null=True)


# --- selectors --------------------------------------------------------------------------------


def smart_money_wallet_list() -> QuerySet[WalletScore]:
    """Current scores with whale, entity and metrics joined and label rows prefetched."""
    label_rows = WhaleLabel.objects.select_related("label").order_by("label__slug", "id")
    return (
        WalletScore.objects.filter(is_current=True)
        .select_related("whale", "whale__entity", "whale__metrics")
        .prefetch_related(Prefetch("whale__whale_labels", queryset=label_rows))
    )


# --- views ------------------------------------------------------------------------------------


_WALLET_PATH = [
    OpenApiParameter("chain", str, OpenApiParameter.PATH, enum=Chain.values, description="Chain key."),
    OpenApiParameter("address", str, OpenApiParameter.PATH,
                     description="Address, any case for EVM chains (normalized before lookup)."),
]
_CACHE_HEADER = [OpenApiParameter("X-Cache", str, OpenApiParameter.HEADER, response=True, enum=["HIT", "MISS"],
                                  description="Whether the body came from the cache.")]


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
        params = validated(SmartMoneyWalletListParamsSerializer, request.query_params)

        def build() -> dict:
            queryset = smart_money_wallet_list()
            if "chain" in params:
                queryset = queryset.filter(whale__chain=params["chain"])
            if "min_score" in params:
                queryset = queryset.filter(score__gte=params["min_score"])
            if "confidence" in params:
                queryset = queryset.filter(confidence=params["confidence"])
            field = F(SORT_FIELDS[params["sort_by"]])
            ordering = field.asc(nulls_last=True) if params["order"] == "asc" else field.desc(nulls_last=True)
            queryset = queryset.order_by(ordering, "whale_id")
            page = queryset[params["offset"]:params["offset"] + params["limit"]]
            items = SmartMoneyWalletSerializer(page, many=True).data
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
            return dict(SmartMoneyWalletDetailSerializer(score).data)

        return cached_response(endpoint="wallet", params={"chain": chain, "address": address}, kind="detail",
                               build=build)


def smart_money_stats() -> dict:
    """Counts, average score, latest ScoringRun and formula version (shape: SmartMoneyStatsSerializer)."""
    current = WalletScore.objects.filter(is_current=True)
    totals = current.aggregate(n=Count("id"), avg=Avg("score"))
    by_confidence = dict.fromkeys(ScoreConfidence.values, 0)
    for row in current.values("confidence").annotate(n=Count("id")).order_by():
        by_confidence[row["confidence"]] = row["n"]
    last_run = ScoringRun.objects.order_by("-started_at", "-id").first()
    if last_run is not None:
        version = last_run.formula_version
    else:
        version = current.order_by("-scored_at", "-id").values_list("formula_version", flat=True).first()
    average = totals["avg"]
    return {
        "scored_wallets": totals["n"],
        "by_confidence": by_confidence,
        "average_score": round(average, 2) if average is not None else None,
        "last_run": last_run,
        "formula_version": version,
    }


class SmartMoneyStatsView(APIView):
    """GET smart-money/stats: scored wallets, by confidence, average score, latest run; cached 5 min."""

    @extend_schema(operation_id="smart_money_stats", parameters=_CACHE_HEADER,
                   responses={200: SmartMoneyStatsSerializer})
    def get(self, request: Request) -> Response:
        return cached_response(endpoint="stats", params={}, kind="stats",
                               build=lambda: dict(SmartMoneyStatsSerializer(smart_money_stats()).data))


class SmartMoneyFlowView(APIView):
    """GET smart-money/flows?token=&window=&days=: a token's flow collections; cached 5 min."""

    @extend_schema(
        operation_id="smart_money_flows",
        parameters=[SmartMoneyFlowParamsSerializer, *_CACHE_HEADER],
        responses={200: SmartMoneyFlowSerializer, 400: BAD_REQUEST},
    )
    def get(self, request: Request) -> Response:
        params = validated(SmartMoneyFlowParamsSerializer, request.query_params)

        def build() -> dict:
            rows = SmartMoneyFlow.objects.filter(token=params["token"], window=params["window"])
            since = timezone.now() - WINDOWS[FlowWindow.H24] * params["days"]
            points = rows.filter(collected_at__gte=since).order_by("collected_at", "id")
            latest = rows.order_by("-collected_at", "-id").first()
            return dict(SmartMoneyFlowSerializer({**params, "points": points, "latest": latest}).data)

        return cached_response(endpoint="flows", params=params, kind="flows", build=build)
