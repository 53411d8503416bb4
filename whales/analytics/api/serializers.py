"""Serializers of the smart-money API: query parameters and response shapes (``/api/v1/smart-money/...``)."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from whales.analytics.scoring import score_breakdown
from whales.api.serializers import EntityRefSerializer, ScoreComponentSerializer, limit_field, offset_field
from whales.chains import Chain
from whales.models import FlowWindow, ScoreConfidence, ScoringRun, SmartMoneyFlow, WalletScore

# sort_by value -> ordering field of WalletScore; NULLs last either way, then whale id.
SORT_FIELDS = {"score": "score", "roi": "whale__metrics__roi_percent",
               "realized_pnl": "whale__metrics__realized_pnl_usd", "win_rate": "whale__metrics__win_rate_percent",
               "volume_30d": "whale__metrics__volume_30d_usd"}
FLOW_MAX_DAYS = 90
FLOW_DEFAULT_DAYS = 7




class SmartMoneyWalletListParamsSerializer(serializers.Serializer):
    """Filters, sorting and paging of ``GET smart-money/wallets``."""

    chain = serializers.ChoiceField(choices=Chain.values, required=False, help_text="Only this chain.")
    min_score = serializers.DecimalField(max_digits=6, decimal_places=2, min_value=0, max_value=100,
                                         required=False, help_text="Only scores >= this (0-100).")
    confidence = serializers.ChoiceField(choices=ScoreConfidence.values, required=False,
                                         help_text="Only this confidence (low, medium, high).")
    # The metaclass pops declared fields off the class, so this does not shadow Field.label at runtime.
    label = serializers.SlugField(  # type: ignore[assignment]  # mypy sees Field.label (str | None)
        max_length=100, required=False, help_text="Only wallets carrying this label (its slug, from any source).")
    sort_by = serializers.ChoiceField(choices=list(SORT_FIELDS), required=False, default="score",
                                      help_text="score (default), or a stored metric: roi, realized_pnl, win_rate, "
                                                "volume_30d.")
    order = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc",
                                    help_text="Sort direction (default desc); wallets without a value come last.")
    limit = limit_field()
    offset = offset_field()


class SmartMoneyFlowParamsSerializer(serializers.Serializer):
    """Query of ``GET glass/smart-money-flows``."""

    token = serializers.CharField(max_length=100, help_text="Token (Trade.base_asset, case-sensitive), e.g. ETH.")
    window = serializers.ChoiceField(choices=FlowWindow.values, required=False, default=FlowWindow.H24,
                                     help_text="Flow window: 1h, 24h (default), 7d or 30d.")
    days = serializers.IntegerField(required=False, default=FLOW_DEFAULT_DAYS, min_value=1, max_value=FLOW_MAX_DAYS,
                                    help_text=f"Days of collections, 1-{FLOW_MAX_DAYS} (default {FLOW_DEFAULT_DAYS}).")


class WalletTokenSerializer(serializers.Serializer):
    """A token the wallet traded in the last 30 days (``whales.analytics.selectors.wallet_top_tokens``)."""

    token = serializers.CharField(help_text="Trade.base_asset; its page is /tokens/{token}/.")
    volume_usd = serializers.DecimalField(max_digits=38, decimal_places=8, help_text="Bought + sold, USD.")
    net_usd = serializers.DecimalField(max_digits=38, decimal_places=8, help_text="Bought - sold, USD.")


class SmartMoneyWalletSerializer(serializers.ModelSerializer):
    """One scored wallet: the whale, its current score with its components (``breakdown``), its stored metrics
    (null when not computed) and ``top_tokens``: its 3 most traded tokens over the last 30 days.

    ``realized_pnl_method``: ``fifo``, ``exchange_closed_pnl``, both joined by "+", or "" (whales.analytics.metrics).
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
    volume_30d_usd = serializers.SerializerMethodField()
    breakdown = serializers.SerializerMethodField()
    top_tokens = serializers.SerializerMethodField()

    class Meta:
        model = WalletScore
        fields = ["id", "chain", "address", "name", "entity", "labels", "score", "confidence", "formula_version",
                  "scored_at", "roi_percent", "win_rate_percent", "realized_pnl_usd", "realized_pnl_method",
                  "volume_30d_usd", "breakdown", "top_tokens"]
        read_only_fields = fields

    @extend_schema_field(WalletTokenSerializer(many=True))
    def get_top_tokens(self, score: WalletScore) -> list:
        """From the view's ``top_tokens`` context (``wallet_top_tokens`` of the page's whales)."""
        return list(self.context.get("top_tokens", {}).get(score.whale_id, []))

    @extend_schema_field(ScoreComponentSerializer(many=True))
    def get_breakdown(self, score: WalletScore) -> list:
        """The formula's components with input, normalized value, weight and points (``score_breakdown``)."""
        return list(score_breakdown(score.components))

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_labels(self, score: WalletScore) -> list[str]:
        """Label slugs, sorted, each once."""
        return sorted({row.label.slug for row in score.whale.whale_labels.all()})

    def _metric(self, score: WalletScore, name: str) -> object:
        metrics = getattr(score.whale, "metrics", None)  # a missing reverse one-to-one raises AttributeError
        value = getattr(metrics, name) if metrics is not None else None
        if isinstance(value, Decimal):
            return format(value, "f")  # plain notation: a stored 0 is "0.00000000", not str()'s "0E-8"
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

    @extend_schema_field(serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True))
    def get_volume_30d_usd(self, score: WalletScore) -> object:
        return self._metric(score, "volume_30d_usd")

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
    """``GET glass/smart-money-flows``: collections of the last ``days`` days, oldest first, and the newest
    collection ever (null when the token has none) with its top wallets. Rules: ``whales/analytics/flows.py``."""

    token = serializers.CharField()
    window = serializers.CharField()
    days = serializers.IntegerField()
    points = FlowPointSerializer(many=True)
    latest = FlowLatestSerializer(allow_null=True)


class FlowOverviewParamsSerializer(serializers.Serializer):
    """Query of ``GET glass/smart-money-flows/latest``."""

    window = serializers.ChoiceField(choices=FlowWindow.values, required=False, default=FlowWindow.H24,
                                     help_text="Sort by this window's net flow, largest inflow first: 1h, 24h "
                                               "(default), 7d or 30d.")
    limit = limit_field()


class FlowWindowSerializer(serializers.ModelSerializer):
    """One window of a token in a collection (rules: ``whales/analytics/flows.py``). ``buying_wallets`` /
    ``selling_wallets``: smart-money whales whose own net (bought - sold, USD) over the window is > 0 / < 0;
    ``top_buyers`` / ``top_sellers``: the 5 largest nets each way, ``net_usd`` signed."""

    top_buyers = FlowWalletSerializer(many=True, read_only=True)
    top_sellers = FlowWalletSerializer(many=True, read_only=True)

    class Meta:
        model = SmartMoneyFlow
        fields = ["net_flow_usd", "bought_usd", "sold_usd", "buying_wallets", "selling_wallets", "top_buyers",
                  "top_sellers"]
        read_only_fields = fields


class FlowTokenSerializer(serializers.Serializer):
    token = serializers.CharField()
    windows = serializers.DictField(child=FlowWindowSerializer(allow_null=True), help_text=(
        "Every window (1h, 24h, 7d, 30d): its flow, or null when the token had no counted trade in it."))


class FlowOverviewSerializer(serializers.Serializer):
    """``GET glass/smart-money-flows/latest``: the newest collection, every token with its four windows, ordered
    by ``window``'s net flow descending (tokens without a flow in it last, by name), at most ``limit``;
    ``total`` tokens in the collection; ``collected_at`` and ``min_score`` null when nothing was collected."""

    collected_at = serializers.DateTimeField(allow_null=True)
    min_score = serializers.DecimalField(max_digits=6, decimal_places=2, allow_null=True)
    window = serializers.CharField()
    total = serializers.IntegerField()
    tokens = FlowTokenSerializer(many=True)
