"""Serializers of the whales API: response shapes and query-parameter validation.

Units: every ``*_usd`` field is a Decimal USD amount rendered as a string (``COERCE_DECIMAL_TO_STRING``)
with the column's scale (8 places for USD, 4 for percentages, 30 for token amounts, 18 for prices),
so values are exact; times are ISO-8601 UTC; ``null`` means unknown / not priced.
"""

from datetime import datetime

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from whales.analytics.scoring import COMPONENTS, score_breakdown
from whales.analytics.selectors import wallet_score_current
from whales.api.pagination import MAX_ID
from whales.chains import tx_url
from whales.context import wallet_context
from whales.models import (
    CatalystEvent,
    CatalystType,
    Entity,
    EventType,
    Holding,
    Trade,
    WalletMetrics,
    WalletScore,
    Whale,
    WhaleEvent,
    WhaleLabel,
)
from whales.selectors import WHALE_SORT_FIELDS  # the whale list's sort keys (re-exported)

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
# sort_by value -> ordering field; every one sorts with NULLs last in both directions.

# --- query parameters ------------------------------------------------------------------------


MAX_OFFSET = 10**9


def limit_field(default: int = DEFAULT_LIMIT) -> serializers.IntegerField:
    """The ``limit`` query parameter of every paged endpoint: 1 to MAX_LIMIT rows, ``default`` when absent."""
    return serializers.IntegerField(
        required=False, default=default, min_value=1, max_value=MAX_LIMIT,
        help_text=f"Page size, 1-{MAX_LIMIT} (default {default}).",
    )


def offset_field(max_value: int = MAX_OFFSET) -> serializers.IntegerField:
    """The ``offset`` query parameter of every offset-paged endpoint: rows to skip, 0 to ``max_value``."""
    return serializers.IntegerField(required=False, default=0, min_value=0, max_value=max_value,
                                    help_text="Rows to skip (default 0).")


class WhaleListParamsSerializer(serializers.Serializer):
    """Sorting and paging of ``GET whales`` (filters are in ``WhaleFilterSet``)."""

    sort_by = serializers.ChoiceField(
        choices=list(WHALE_SORT_FIELDS), required=False, default="last_active",
        error_messages={"invalid_choice": '"{input}" is not a valid sort_by; allowed: ' + ", ".join(WHALE_SORT_FIELDS)
                        + "."},
        help_text="Sort key (default last_active); `score` is the current smart-money score.",
    )
    order = serializers.ChoiceField(
        choices=["asc", "desc"], required=False, default="desc",
        help_text="Sort direction (default desc); whales without a value come last either way.",
    )
    limit = limit_field()
    offset = offset_field(max_value=MAX_ID)


class TradeListParamsSerializer(serializers.Serializer):
    """Paging of ``GET wallets/{chain}/{address}/trades`` (filters are in ``TradeFilterSet``)."""

    cursor = serializers.CharField(
        required=False, allow_blank=True, max_length=200,
        help_text="next_cursor of the previous page; omit (or leave blank) for the first page.",
    )
    limit = limit_field()


class EventListParamsSerializer(serializers.Serializer):
    """Paging of ``GET events/recent`` (filters are in ``EventFilterSet``)."""

    limit = limit_field()
    since_id = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_ID,
        help_text="Backfill: only events with id > since_id, oldest first (ascending id).",
    )


SENTIMENT_WINDOWS = {"1h": 1, "24h": 24, "7d": 168}


class SentimentParamsSerializer(serializers.Serializer):
    """Query of ``GET human/sentiment``."""

    coin = serializers.RegexField(r"^[A-Za-z0-9.]{1,30}$", help_text="The coin's symbol as listed, e.g. BTC.")
    window = serializers.ChoiceField(choices=list(SENTIMENT_WINDOWS), required=False,
                                     help_text="Only this window (1h, 24h, 7d); default all three.")
    until = serializers.DateTimeField(required=False, help_text="Windows end here (ISO 8601); default now.")


class CatalystListParamsSerializer(serializers.Serializer):
    """Query of ``GET catalyst/events``."""

    coin = serializers.RegexField(r"^[A-Za-z0-9.]{1,30}$", required=False,
                                  help_text="Only catalysts of this coin: its symbol as listed, e.g. BTC, stETH.")
    type = serializers.ChoiceField(choices=CatalystType.choices, required=False, help_text="Catalyst type.")
    since = serializers.DateTimeField(required=False, help_text="Only catalysts at or after this time (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Only catalysts before this time (ISO 8601).")
    limit = limit_field()


# --- responses -------------------------------------------------------------------------------


class ErrorSerializer(serializers.Serializer):
    """Every error: ``{"detail": str, "code": str}``."""

    detail = serializers.CharField()
    code = serializers.CharField()


class EntityRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Entity
        fields = ["slug", "name", "kind"]
        read_only_fields = fields


class WalletMetricsSerializer(serializers.ModelSerializer):
    """Current wallet metrics (DESIGN.md section 9); ``computed_at`` says how fresh they are.

    ``realized_pnl_method`` names how the realized P&L was computed: ``fifo`` (spot and on-chain
    lots), ``exchange_closed_pnl`` (Hyperliquid perps: the exchange's closedPnl, average entry),
    both joined by "+", or "" when nothing was realized; ``unknown_cost_sells`` counts sells whose
    cost is unknown (never counted as profit). Definitions: ``whales/analytics/metrics.py``.
    """

    roi_unavailable = serializers.SerializerMethodField(
        help_text='Why roi_percent is null ("" when it is not): e.g. no opening position readable at the start '
                  "block, an unpriced flow.")
    opening_value_usd = serializers.SerializerMethodField(
        help_text="The opening position counted as money in by the ROI (USD, decimal string; null on chains whose "
                  "collector sees the whole history, or when not read).")
    opening_block_number = serializers.SerializerMethodField(help_text="The block the opening position was read at.")

    class Meta:
        model = WalletMetrics
        fields = ["roi_percent", "roi_unavailable", "opening_value_usd", "opening_block_number", "portfolio_value_usd",
                  "realized_pnl_usd", "realized_pnl_method", "unrealized_pnl_usd", "volume_30d_usd", "trades_30d",
                  "win_rate_percent", "closed_round_trips", "unknown_cost_sells", "computed_at"]
        read_only_fields = fields

    def get_roi_unavailable(self, metrics: WalletMetrics) -> str:
        return str(metrics.details.get("roi_unavailable") or "")

    def get_opening_value_usd(self, metrics: WalletMetrics) -> str | None:
        value = metrics.details.get("opening_value_usd")
        return None if value is None else str(value)

    def get_opening_block_number(self, metrics: WalletMetrics) -> int | None:
        value = metrics.details.get("opening_block_number")
        return None if value is None else int(value)


def _metrics_or_none(whale: Whale) -> dict | None:
    metrics = getattr(whale, "metrics", None)  # a missing reverse one-to-one raises AttributeError
    return WalletMetricsSerializer(metrics).data if metrics is not None else None


class WhaleListItemSerializer(serializers.ModelSerializer):
    """One row of ``GET whales``; needs ``whales.selectors.whale_list_with_labels()`` rows (no extra queries)."""

    entity = EntityRefSerializer(allow_null=True, read_only=True)
    labels = serializers.SerializerMethodField()
    explorer_url = serializers.CharField(read_only=True)
    # A declared field, built once per response (a serializer made per row rebuilt its fields every row: about
    # 2 ms each, most of a 50-row page's Python time); a whale without metrics reads as null.
    metrics = WalletMetricsSerializer(allow_null=True, read_only=True)

    class Meta:
        model = Whale
        fields = ["id", "chain", "address", "name", "entity", "type", "labels", "is_tracked",
                  "last_active_at", "explorer_url", "metrics"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.SlugField()))
    def get_labels(self, whale: Whale) -> list[str]:
        """Label slugs, sorted, each once (a label from two sources is one slug here)."""
        return sorted({row.label.slug for row in whale.whale_labels.all()})


class LabelProvenanceSerializer(serializers.ModelSerializer):
    """A label on a wallet with its provenance (who/what added it, on which evidence)."""

    slug = serializers.CharField(source="label.slug", read_only=True)
    name = serializers.CharField(source="label.name", read_only=True)
    added_by = serializers.SerializerMethodField()

    class Meta:
        model = WhaleLabel
        fields = ["slug", "name", "source", "evidence_url", "confidence", "added_by", "added_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_added_by(self, row: WhaleLabel) -> str | None:
        return row.added_by.get_username() if row.added_by is not None else None


class WalletSerializer(serializers.ModelSerializer):
    """The wallet part of ``GET wallets/{chain}/{address}``."""

    entity = EntityRefSerializer(allow_null=True, read_only=True)
    labels = LabelProvenanceSerializer(source="whale_labels", many=True, read_only=True)
    explorer_url = serializers.CharField(read_only=True)

    class Meta:
        model = Whale
        fields = ["id", "address", "chain", "name", "entity", "type", "is_tracked", "labels", "explorer_url",
                  "first_seen_at", "last_active_at", "notes"]
        read_only_fields = fields


class PerpPositionSerializer(serializers.ModelSerializer):
    """The risk figures of an open perp position (Hyperliquid), as the exchange reported them at the last
    collection (``ledgers.glass.hyperliquid``). ``side`` long/short from the sign of the holding's amount;
    ``return_on_equity`` a ratio (0.0104 = +1.04 %) and ``return_on_equity_percent`` the same in percent;
    ``liquidation_distance_percent`` how far (%) the mark price (position value / |size|) may move against the
    position before its liquidation price, computed once at collection by
    ``ledgers.glass.hyperliquid.activity.position_liquidation_distance_percent`` (null: no liquidation price)."""

    side = serializers.CharField(read_only=True)
    return_on_equity_percent = serializers.DecimalField(max_digits=26, decimal_places=6, allow_null=True,
                                                        read_only=True)

    class Meta:
        model = Holding
        fields = ["side", "entry_price_usd", "unrealized_pnl_usd", "return_on_equity", "return_on_equity_percent",
                  "leverage", "leverage_type", "liquidation_price_usd", "liquidation_distance_percent",
                  "margin_used_usd"]
        read_only_fields = fields


class HoldingSerializer(serializers.ModelSerializer):
    """One asset held; ``amount`` in human units, ``value_usd`` at the latest price (null = unpriced, or an
    unverified token); ``token_address`` the contract ("" = the native coin), ``decimals``, and
    ``block_number`` the block the balance was read at (null where the source gives none).

    A perp position (``is_perp``) has a signed ``amount`` (negative = short), ``value_usd`` its position value
    and ``perp`` its risk figures (``PerpPositionSerializer``); ``perp`` is null for spot holdings."""

    perp = serializers.SerializerMethodField()

    class Meta:
        model = Holding
        fields = ["asset", "token_address", "decimals", "amount", "block_number", "value_usd", "portfolio_percent",
                  "is_verified", "is_perp", "perp", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(PerpPositionSerializer(allow_null=True))
    def get_perp(self, holding: Holding) -> dict | None:
        return PerpPositionSerializer(holding).data if holding.is_perp else None


class ScoreComponentSerializer(serializers.Serializer):
    """One component of a smart-money score (``whales.analytics.scoring.score_breakdown``): decimal strings."""

    name = serializers.ChoiceField(choices=list(COMPONENTS), help_text="roi, win_rate, realized_pnl or consistency.")
    input = serializers.CharField(allow_null=True, help_text=(
        "The stored figure: roi and win_rate in percent, realized_pnl in USD, consistency a 0..1 share of "
        "profitable days; null = no evidence (normalized 0)."))
    normalized = serializers.CharField(help_text="The input mapped to 0..1 by formula v1.")
    weight = serializers.CharField(help_text="The component's weight in that run.")
    points = serializers.CharField(help_text="Points of the 0..100 score it earned: 100 x weight x normalized / "
                                             "sum of weights, 2 places.")


class WalletScoreSerializer(serializers.ModelSerializer):
    """A stored smart-money score (``WalletScore``): score 0-100, confidence (the minimum-sample guard), formula
    version, when and by which run it was scored; ``components`` as the run stored them (every input and
    weight, the sample and consistency days) and ``breakdown`` the formula's components with their points."""

    run_id = serializers.IntegerField(allow_null=True, read_only=True)
    breakdown = serializers.SerializerMethodField()

    class Meta:
        model = WalletScore
        fields = ["score", "confidence", "formula_version", "scored_at", "run_id", "components", "breakdown"]
        read_only_fields = fields

    @extend_schema_field(ScoreComponentSerializer(many=True))
    def get_breakdown(self, score: WalletScore) -> list:
        return list(score_breakdown(score.components))


class ClassificationSerializer(serializers.ModelSerializer):
    """The whale's type and why (``whales.analytics.classification``): ``reason`` gives the figures and the
    thresholds that decided it ("" before the first classification, or when an analyst set it);
    ``is_manual`` an analyst's choice that classification keeps; ``classified_at`` null = never classified."""

    reason = serializers.CharField(source="type_reason", read_only=True)
    is_manual = serializers.BooleanField(source="type_is_manual", read_only=True)
    classified_at = serializers.DateTimeField(source="type_classified_at", allow_null=True, read_only=True)

    class Meta:
        model = Whale
        fields = ["type", "reason", "is_manual", "classified_at"]
        read_only_fields = fields


class WalletDetailSerializer(serializers.Serializer):
    """``GET wallets/{chain}/{address}``: {wallet, metrics, holdings, score, classification, context}; score is the
    wallet's current smart-money score (null until a scoring run scored it); classification its type with the
    reason; context lists the wallet's latest events with the catalysts of their coins around them."""

    wallet = WalletSerializer(source="*", read_only=True)
    metrics = serializers.SerializerMethodField()
    holdings = HoldingSerializer(many=True, read_only=True)
    score = serializers.SerializerMethodField()
    classification = ClassificationSerializer(source="*", read_only=True)

    @extend_schema_field({"type": "array", "items": {"type": "object"}, "description": (
        "The wallet's latest events (at most 5, newest first): {event_id, type, block_time, summary, context: "
        "{window_hours, coins, catalysts: [{id, source, source_ref, type, title, url, occurred_at, impact_score, "
        "coins, offset_hours}]}}; the catalysts of the event's coins within CONTEXT_WINDOW_HOURS either side.")})
    def get_context(self, whale: Whale) -> list[dict]:
        return wallet_context(whale_id=whale.pk)

    @extend_schema_field(WalletMetricsSerializer(allow_null=True))
    def get_metrics(self, whale: Whale) -> dict | None:
        return _metrics_or_none(whale)

    @extend_schema_field(WalletScoreSerializer(allow_null=True))
    def get_score(self, whale: Whale) -> dict | None:
        """The current WalletScore (null: never scored, e.g. an untracked whale or one without metrics)."""
        current = wallet_score_current(whale_id=whale.pk)
        return WalletScoreSerializer(current).data if current is not None else None


# The answer's key is "context" (issue 16), which is also the name of every serializer's context property: declared
# here, after the class, so the field is listed without a class attribute that would hide that property.
WalletDetailSerializer._declared_fields["context"] = serializers.SerializerMethodField()


class TradeSerializer(serializers.ModelSerializer):
    """One trade; amounts in human units, ``price_usd`` per base unit, ``external_url`` the explorer link."""

    external_url = serializers.CharField(read_only=True)

    class Meta:
        model = Trade
        fields = ["id", "chain", "tx_hash", "log_index", "block_number", "block_time", "source", "platform",
                  "direction", "base_asset", "base_token_address", "quote_asset", "amount_base", "amount_quote",
                  "price_usd", "value_usd", "fee_usd", "pnl_usd", "counterparty", "counterparty_name",
                  "is_internal", "external_url"]
        read_only_fields = fields


class TradePageSerializer(serializers.Serializer):
    items = TradeSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True, help_text="Cursor of the next page; null on the last.")


class WhaleRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Whale
        fields = ["chain", "address", "name"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    """One live-feed event. ``external_url`` is the transaction's explorer link ("" for a reorg
    retraction, whose ``tx_hash`` is the orphaned block's hash); for a system event (a catalyst, a
    data-quality issue: no chain) the link in its ``details["url"]``, or ""."""

    whale = WhaleRefSerializer(allow_null=True, read_only=True)
    external_url = serializers.SerializerMethodField()

    class Meta:
        model = WhaleEvent
        fields = ["id", "chain", "type", "whale", "block_time", "block_number", "tx_hash", "log_index",
                  "summary", "value_usd", "details", "observed_at", "external_url"]
        read_only_fields = fields

    def get_external_url(self, event: WhaleEvent) -> str:
        if not event.chain:
            return str((event.details or {}).get("url", ""))
        return "" if event.type == EventType.REORG_RETRACTION else tx_url(event.chain, event.tx_hash)


class EventListSerializer(serializers.Serializer):
    items = EventSerializer(many=True)


class WhaleListSerializer(serializers.Serializer):
    items = WhaleListItemSerializer(many=True)
    total = serializers.IntegerField(help_text="Rows matching the filters, ignoring limit/offset.")


class IsoDateTimeField(serializers.DateTimeField):
    """A DateTimeField that also accepts the ISO strings selectors return, rendering them like every
    other time in the API (UTC, ``Z``) instead of passing the string through."""

    def to_representation(  # type: ignore[override]  # also takes str and None, as DRF does at run time
            self, value: datetime | str | None) -> str | None:
        if value is None:  # (DRF renders None as None; its stubs say str)
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return super().to_representation(value)


# --- wallet history (charts) -------------------------------------------------------------------

HISTORY_DEFAULT_DAYS = 90
HISTORY_MAX_DAYS = 3650


class HistoryParamsSerializer(serializers.Serializer):
    """Window of ``GET wallets/{chain}/{address}/roi-history`` and ``.../portfolio-history``."""

    days = serializers.IntegerField(
        required=False, default=HISTORY_DEFAULT_DAYS, min_value=1, max_value=HISTORY_MAX_DAYS,
        help_text=f"Days of history, 1-{HISTORY_MAX_DAYS} (default {HISTORY_DEFAULT_DAYS}), ending at the "
                  "wallet's newest daily row (today for a wallet that is being updated).",
    )


class RoiPointSerializer(serializers.Serializer):
    """One day of ROI: ``timestamp`` = the UTC day's midnight; ``value`` = roi_percent (null = unknown)."""

    timestamp = serializers.DateTimeField()
    value = serializers.DecimalField(max_digits=24, decimal_places=4, allow_null=True)


class PortfolioPointSerializer(serializers.Serializer):
    """One day of portfolio value: ``value`` = portfolio_value_usd (USD string, null = unknown)."""

    timestamp = serializers.DateTimeField()
    value = serializers.DecimalField(max_digits=38, decimal_places=8, allow_null=True)


class ScoreHistoryParamsSerializer(serializers.Serializer):
    """Window of ``GET wallets/{chain}/{address}/score-history``."""

    days = serializers.IntegerField(
        required=False, default=HISTORY_DEFAULT_DAYS, min_value=1, max_value=HISTORY_MAX_DAYS,
        help_text=f"Days of history, 1-{HISTORY_MAX_DAYS} (default {HISTORY_DEFAULT_DAYS}), ending now.",
    )


class ScorePointSerializer(serializers.Serializer):
    """One stored smart-money score: ``timestamp`` = its ``scored_at``; ``value`` the score 0-100; it holds until
    the next point (a run stores a row only when the score, confidence or formula changed)."""

    timestamp = serializers.DateTimeField(source="scored_at")
    value = serializers.DecimalField(source="score", max_digits=6, decimal_places=2)
    confidence = serializers.CharField()
    formula_version = serializers.CharField()


class ScoreHistorySerializer(serializers.Serializer):
    points = ScorePointSerializer(many=True, help_text=(
        "Oldest first: the score in force at the window's start (scored at or before it), then every score "
        "stored since."))


class RoiHistorySerializer(serializers.Serializer):
    points = RoiPointSerializer(many=True, help_text="Oldest day first.")


class PortfolioHistorySerializer(serializers.Serializer):
    points = PortfolioPointSerializer(many=True, help_text="Oldest day first.")


class CatalystEventSerializer(serializers.ModelSerializer):
    """One catalyst: a filing or an exchange announcement, with the coins it concerns (``coins``: symbols)."""

    coins = serializers.SerializerMethodField()

    class Meta:
        model = CatalystEvent
        fields = ["id", "source", "type", "title", "url", "occurred_at", "impact_score", "coins", "details"]
        read_only_fields = fields

    def get_coins(self, event: CatalystEvent) -> list[str]:
        return [symbol for symbol in event.coins.split(",") if symbol]


class CatalystListSerializer(serializers.Serializer):
    items = CatalystEventSerializer(many=True)
