"""Serializers of the trading API: query parameters, request bodies and responses.

Units: every USD value's key ends in ``_usd``: amounts are Decimal strings with 8 decimal places,
unit prices (``limit_price_usd``, ``price_usd``, ``average_*_price_usd``) 18 places; quantities 30
places, percents 4 places (as the model fields), bps 4 places; times are ISO-8601 UTC. No serializer
here exposes ``ExchangeCredential`` (API keys never leave the database).

Deprecated request keys: bodies still accept the pre-``_usd`` names (``starting_cash`` for
``starting_cash_usd``, ``limit_price`` for ``limit_price_usd``) for one release (``RenamedKeysSerializer``);
responses carry the new keys only.
"""

from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from trading.models import (
    Account,
    AccountMode,
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    SignalOutcome,
    Strategy,
    StrategyKind,
    StrategySignal,
    Venue,
)
from trading.pnl import INTERVALS
from trading.services import TradingError
from trading.strategies.services import crontab_parse
from whales.api.serializers import limit_field, offset_field

ZERO = Decimal(0)
MAX_ID = 2**63 - 1
LIMIT_FIELDS = ["max_position_percent", "max_daily_loss_percent", "max_strategy_exposure_percent",
                "max_orders_per_day", "min_order_usd", "flatten_on_daily_loss", "slippage_bps", "fee_bps",
                "max_order_notional_usd", "max_daily_notional_usd", "price_band_percent"]


def usd_field(**kwargs) -> serializers.DecimalField:
    """A read-only USD amount rendered with 8 decimal places (rounded half up, as NUMERIC)."""
    return serializers.DecimalField(max_digits=48, decimal_places=8, rounding=ROUND_HALF_UP, read_only=True,
                                    **kwargs)


def price_field(**kwargs) -> serializers.DecimalField:
    """A read-only USD unit price, 18 decimal places."""
    return serializers.DecimalField(max_digits=38, decimal_places=18, rounding=ROUND_HALF_UP, read_only=True,
                                    **kwargs)


def quantity_field(**kwargs) -> serializers.DecimalField:
    """A read-only quantity in asset units, 30 decimal places."""
    return serializers.DecimalField(max_digits=78, decimal_places=30, rounding=ROUND_HALF_UP, read_only=True,
                                    **kwargs)


def _account_field(required: bool = True) -> serializers.IntegerField:
    return serializers.IntegerField(required=required, min_value=1, max_value=MAX_ID,
                                    help_text="Id of one of your trading accounts.")



def _positive(value: Decimal, what: str = "Ensure this value is greater than 0.") -> Decimal:
    if value <= 0:
        raise serializers.ValidationError(what)
    return value


class RenamedKeysSerializer(serializers.Serializer):
    """Accepts a body's deprecated keys for one release: ``renamed_keys`` maps old -> new name.

    An old key is read as its new one; giving both is a 400 naming the old key. Responses and the
    OpenAPI schema carry the new names only. Remove the aliases in the release after the rename.
    """

    renamed_keys: ClassVar[dict[str, str]] = {}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping) and any(old in data for old in self.renamed_keys):
            # A QueryDict (form body) copies to a mutable QueryDict; a JSON body is a dict.
            data = data.copy() if hasattr(data, "copy") else dict(data)
            for old, new in self.renamed_keys.items():
                if old not in data:
                    continue
                if new in data:
                    raise serializers.ValidationError({old: f"Deprecated alias of {new}; give {new} only."})
                data[new] = data[old]
                del data[old]
        return super().to_internal_value(data)


# --- query parameters ------------------------------------------------------------------------------


class AccountParamsSerializer(serializers.Serializer):
    """``?account=`` of positions and pnl/* (required)."""

    account = _account_field()


class HistoryParamsSerializer(AccountParamsSerializer):
    """``?account=&interval=`` of ``GET trading/pnl/history``."""

    interval = serializers.ChoiceField(choices=[(i, i) for i in INTERVALS], required=False, default="day",
                                       help_text="Spacing of the points, UTC calendar (default day).")


class RealizedParamsSerializer(AccountParamsSerializer):
    """``?account=&limit=&offset=`` of ``GET trading/pnl/realized``."""

    limit = limit_field()
    offset = offset_field()


class OrderListParamsSerializer(serializers.Serializer):
    """Filters and paging of ``GET trading/orders``: each given filter must match."""

    account = _account_field(required=False)
    status = serializers.ChoiceField(choices=OrderStatus.choices, required=False, help_text="Only this status.")
    symbol = serializers.CharField(required=False, max_length=30, help_text="Only this symbol (case-insensitive).")
    side = serializers.ChoiceField(choices=OrderSide.choices, required=False, help_text="Only buys or sells.")
    strategy = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                        help_text="Only orders of this strategy.")
    since = serializers.DateTimeField(required=False, help_text="Created at or after (ISO-8601).")
    until = serializers.DateTimeField(required=False, help_text="Created before (ISO-8601).")
    limit = limit_field()
    offset = offset_field()

    def validate(self, attrs: dict) -> dict:
        if "since" in attrs and "until" in attrs and attrs["since"] >= attrs["until"]:
            raise serializers.ValidationError({"until": "Must be later than since."})
        return attrs


# --- accounts --------------------------------------------------------------------------------------


class AccountSerializer(serializers.ModelSerializer):
    """A trading account: cash, halt state, limits and ``portfolio_value_usd`` (cash + positions at
    market; null when a held symbol has no fresh price), taken from ``context["portfolio_values"]``."""

    portfolio_value_usd = serializers.SerializerMethodField()
    live_venue = serializers.CharField(read_only=True, help_text="Venue of live orders: hyperliquid, coinspot, or "
                                                                 "empty for a paper account.")

    class Meta:
        model = Account
        fields = ["id", "name", "mode", "venue", "live_venue", "base_currency", "starting_cash_usd", "cash_usd",
                  "portfolio_value_usd", "halted", "halted_reason", "halted_at", *LIMIT_FIELDS, "created_at",
                  "updated_at"]
        read_only_fields = fields

    @extend_schema_field(usd_field(allow_null=True))
    def get_portfolio_value_usd(self, account: Account) -> str | None:
        value = self.context["portfolio_values"].get(account.pk)
        return None if value is None else usd_field().to_representation(value)


class AccountListSerializer(serializers.Serializer):
    items = AccountSerializer(many=True)
    total = serializers.IntegerField()


def _percent() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=24, decimal_places=4, required=False, min_value=Decimal("0.0001"),
                                    max_value=Decimal(100), help_text="Percent, 0 < x <= 100.")


def _bps() -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=4, required=False, min_value=ZERO,
                                    max_value=Decimal(10000), help_text="Basis points, 0-10000.")


class AccountCreateSerializer(RenamedKeysSerializer):
    """Body of ``POST trading/accounts``: a paper account (the API never creates a live one).

    ``cash_usd`` starts at ``starting_cash_usd``; omitted limits take the model defaults (DESIGN.md §10).
    Deprecated: ``starting_cash`` is accepted as ``starting_cash_usd`` for one release.
    """

    renamed_keys: ClassVar[dict[str, str]] = {"starting_cash": "starting_cash_usd"}

    name = serializers.CharField(max_length=100)
    mode = serializers.ChoiceField(choices=[(AccountMode.PAPER.value, AccountMode.PAPER.label)], required=False,
                                   default=AccountMode.PAPER.value, help_text="Only paper via the API.")
    venue = serializers.ChoiceField(choices=Venue.choices, required=False, default=Venue.MARKET,
                                    help_text="Price source: stored market prices (default) or the Hyperliquid mid.")
    starting_cash_usd = serializers.DecimalField(
        max_digits=38, decimal_places=8, required=False, default=Decimal("10000"),
        help_text="USD, > 0 (default 10000). The deprecated key starting_cash is still accepted.")
    max_position_percent = _percent()
    max_daily_loss_percent = _percent()
    max_strategy_exposure_percent = _percent()
    max_orders_per_day = serializers.IntegerField(required=False, min_value=1, max_value=1_000_000)
    min_order_usd = serializers.DecimalField(max_digits=38, decimal_places=8, required=False, min_value=ZERO,
                                             help_text="USD, >= 0.")
    flatten_on_daily_loss = serializers.BooleanField(required=False)
    slippage_bps = _bps()
    fee_bps = _bps()
    max_order_notional_usd = serializers.DecimalField(
        max_digits=38, decimal_places=8, required=False, min_value=ZERO,
        help_text="USD, >= 0: the largest notional of one live order (default 1000).")
    max_daily_notional_usd = serializers.DecimalField(
        max_digits=38, decimal_places=8, required=False, min_value=ZERO,
        help_text="USD, >= 0: the largest notional of live orders per UTC day (default 5000).")
    price_band_percent = _percent()

    def validate_starting_cash_usd(self, value: Decimal) -> Decimal:
        return _positive(value)


class HaltSerializer(serializers.Serializer):
    """Body of ``POST trading/accounts/{id}/halt`` and ``.../resume``: an optional reason (audited)."""

    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=1000)


# --- orders ----------------------------------------------------------------------------------------


class OrderSerializer(serializers.ModelSerializer):
    """One order (a rejected order keeps its ``reject_reason``)."""

    class Meta:
        model = Order
        fields = ["id", "account", "strategy", "client_order_id", "symbol", "side", "type", "quantity",
                  "limit_price_usd", "status", "reject_reason", "filled_quantity", "average_fill_price_usd",
                  "venue", "venue_order_id", "reduce_only", "created_at", "submitted_at", "filled_at", "cancelled_at"]
        read_only_fields = fields


class OrderListSerializer(serializers.Serializer):
    items = OrderSerializer(many=True)
    total = serializers.IntegerField()


class OrderCreateSerializer(RenamedKeysSerializer):
    """Body of ``POST trading/orders``. ``quantity`` (asset units) and ``limit_price_usd`` (USD per
    unit) are Decimals (send strings to keep every digit). A limit order needs ``limit_price_usd``; a
    market order takes none. Without ``client_order_id`` one is generated (``api:<uuid4 hex>``);
    reusing one returns the stored order. Deprecated: ``limit_price`` is accepted as
    ``limit_price_usd`` for one release."""

    renamed_keys: ClassVar[dict[str, str]] = {"limit_price": "limit_price_usd"}

    account = _account_field()
    symbol = serializers.CharField(max_length=30)
    side = serializers.ChoiceField(choices=OrderSide.choices)
    quantity = serializers.DecimalField(max_digits=48, decimal_places=30,
                                        help_text="Asset units, > 0: at most 18 digits before the point and 30 after.")
    type = serializers.ChoiceField(choices=OrderType.choices, required=False, default=OrderType.MARKET.value)
    limit_price_usd = serializers.DecimalField(
        max_digits=38, decimal_places=18, required=False, allow_null=True, default=None,
        help_text="USD per unit, > 0; limit orders only. The deprecated key limit_price is still accepted.")
    client_order_id = serializers.CharField(max_length=100, required=False,
                                            help_text="Your idempotency key, unique per account.")
    strategy = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=MAX_ID,
                                        help_text="Id of a strategy of the account.")

    def validate_quantity(self, value: Decimal) -> Decimal:
        return _positive(value)

    def validate_limit_price_usd(self, value: Decimal | None) -> Decimal | None:
        return None if value is None else _positive(value)

    def validate(self, attrs: dict) -> dict:
        if attrs["type"] == OrderType.LIMIT and attrs["limit_price_usd"] is None:
            raise serializers.ValidationError({"limit_price_usd": "Required for a limit order."})
        if attrs["type"] == OrderType.MARKET and attrs["limit_price_usd"] is not None:
            raise serializers.ValidationError({"limit_price_usd": "A market order takes no limit_price_usd."})
        return attrs


# --- positions and P&L -----------------------------------------------------------------------------


class PositionSerializer(serializers.Serializer):
    """An open position at market (``trading.pnl.PositionValuation``); price/value/P&L null when unpriced."""

    symbol = serializers.CharField()
    quantity = quantity_field()
    average_price_usd = price_field(help_text="total_cost_usd / quantity.")
    total_cost_usd = usd_field(help_text="Cost of the remaining FIFO lots, buy fees included.")
    price_usd = price_field(allow_null=True)
    value_usd = usd_field(allow_null=True)
    unrealized_pnl_usd = usd_field(allow_null=True)


class PositionListSerializer(serializers.Serializer):
    items = PositionSerializer(many=True)
    total = serializers.IntegerField()


class UnrealizedSerializer(serializers.Serializer):
    """``trading.pnl.pnl_unrealized``: per open position and in total (null when a symbol is unpriced)."""

    items = PositionSerializer(many=True)
    total_unrealized_pnl_usd = usd_field(allow_null=True, source="unrealized_pnl_usd")


class PnlSummarySerializer(serializers.Serializer):
    """``trading.pnl.PnlSummary`` (``pnl_summary``; units in that class, definitions in its module's
    docstring): exactly its 18 keys."""

    realized_pnl_usd = usd_field()
    unrealized_pnl_usd = usd_field(allow_null=True)
    closed_trades = serializers.IntegerField()
    wins = serializers.IntegerField()
    losses = serializers.IntegerField()
    win_rate_percent = serializers.DecimalField(max_digits=24, decimal_places=4, rounding=ROUND_HALF_UP,
                                                read_only=True, allow_null=True)
    gross_profit_usd = usd_field()
    gross_loss_usd = usd_field()
    profit_factor = serializers.DecimalField(max_digits=38, decimal_places=8, rounding=ROUND_HALF_UP,
                                             read_only=True, allow_null=True)
    average_win_usd = usd_field(allow_null=True)
    largest_win_usd = usd_field(allow_null=True)
    average_loss_usd = usd_field(allow_null=True)
    largest_loss_usd = usd_field(allow_null=True)
    volume_usd = usd_field()
    fees_usd = usd_field()
    fill_count = serializers.IntegerField()
    max_drawdown_percent = serializers.DecimalField(max_digits=24, decimal_places=4, rounding=ROUND_HALF_UP,
                                                    read_only=True, allow_null=True)
    sharpe_ratio = serializers.FloatField(allow_null=True, help_text="Annualized (365 days) from daily equity.")


class CoinPnlSerializer(serializers.Serializer):
    """``trading.pnl.CoinPnl``."""

    symbol = serializers.CharField()
    realized_pnl_usd = usd_field()
    unrealized_pnl_usd = usd_field(allow_null=True)
    volume_usd = usd_field()
    fees_usd = usd_field()
    fill_count = serializers.IntegerField()
    quantity = quantity_field(help_text="Open position (0 without one).")


class CoinPnlListSerializer(serializers.Serializer):
    items = CoinPnlSerializer(many=True)


class StrategyPnlSerializer(serializers.Serializer):
    """``trading.pnl.StrategyPnl``; the row with ``strategy_id`` null is the manual orders."""

    strategy_id = serializers.IntegerField(allow_null=True)
    strategy_name = serializers.CharField(allow_null=True)
    realized_pnl_usd = usd_field()
    unrealized_pnl_usd = usd_field(allow_null=True)
    volume_usd = usd_field()
    fees_usd = usd_field()
    fill_count = serializers.IntegerField()


class StrategyPnlListSerializer(serializers.Serializer):
    items = StrategyPnlSerializer(many=True)


class EquityPointSerializer(serializers.Serializer):
    timestamp = serializers.DateTimeField()
    equity_usd = usd_field()

    def to_representation(self, point: tuple) -> dict:
        timestamp, equity = point
        return super().to_representation({"timestamp": timestamp, "equity_usd": equity})


class HistorySerializer(serializers.Serializer):
    """``trading.pnl.equity_curve``: end-of-interval equity (cash + positions at market)."""

    interval = serializers.ChoiceField(choices=[(i, i) for i in INTERVALS])
    points = EquityPointSerializer(many=True)


class RealizedFillSerializer(serializers.ModelSerializer):
    """A sell fill with its FIFO realized P&L (net of its fee); ``venue`` says where it executed (paper,
    hyperliquid, coinspot) and ``venue_fill_id`` is the venue's id of a live execution."""

    strategy = serializers.IntegerField(source="order.strategy_id", allow_null=True, read_only=True)

    class Meta:
        model = Fill
        fields = ["id", "order", "strategy", "symbol", "side", "price_usd", "quantity", "notional_usd", "fee_usd",
                  "realized_pnl_usd", "filled_at", "venue", "venue_fill_id"]
        read_only_fields = fields


class RealizedSerializer(serializers.Serializer):
    """Page of realized fills, newest first; ``total`` counts them all, ``total_realized_pnl_usd`` sums
    them all (not only the page)."""

    items = RealizedFillSerializer(many=True)
    total = serializers.IntegerField()
    total_realized_pnl_usd = usd_field()


# --- strategies and signals ------------------------------------------------------------------------


class StrategySerializer(serializers.ModelSerializer):
    """A strategy with its schedule (its own beat row: ``every_seconds`` or ``crontab``, ``enabled``)
    and its last run's counts."""

    schedule = serializers.SerializerMethodField()

    class Meta:
        model = Strategy
        fields = ["id", "account", "name", "kind", "status", "params", "schedule", "started_at", "last_run_at",
                  "last_run_summary", "created_at"]

    @extend_schema_field({"type": "object", "nullable": True, "properties": {
        "every_seconds": {"type": "integer", "nullable": True}, "crontab": {"type": "string", "nullable": True},
        "enabled": {"type": "boolean"}}})
    def get_schedule(self, obj: Strategy) -> dict | None:
        task = obj.periodic_task
        if task is None:
            return None
        crontab = task.crontab
        return {
            "every_seconds": int(task.interval.schedule.run_every.total_seconds()) if task.interval else None,
            "crontab": (f"{crontab.minute} {crontab.hour} {crontab.day_of_month} {crontab.month_of_year} "
                        f"{crontab.day_of_week}") if crontab else None,
            "enabled": task.enabled,
        }


class StrategyListSerializer(serializers.Serializer):
    items = StrategySerializer(many=True)
    total = serializers.IntegerField()


class StrategyListParamsSerializer(serializers.Serializer):
    """``?account=`` of ``GET trading/strategies`` (optional: all of yours)."""

    account = _account_field(required=False)


class StrategyCreateSerializer(serializers.Serializer):
    """Body of ``POST trading/strategies``: ``params`` as the kind documents them (decimals as strings);
    ``every_seconds`` (>= ``LIMITS_STRATEGY_MIN_INTERVAL_S``, default 60) or ``crontab`` (5 fields, UTC;
    at most once a minute by nature), default every 300 s."""

    account = _account_field()
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=StrategyKind.choices)
    params = serializers.DictField(required=False, default=dict)
    every_seconds = serializers.IntegerField(required=False, min_value=1, max_value=86_400 * 31)
    crontab = serializers.CharField(required=False, max_length=100)

    def validate_every_seconds(self, value: int) -> int:
        minimum = settings.LIMITS_STRATEGY_MIN_INTERVAL_S  # read per request: a setting, not a schema constant
        if value < minimum:
            raise serializers.ValidationError(f"Ensure this value is greater than or equal to {minimum}.")
        return value

    def validate_crontab(self, value: str) -> str:
        """Build the Celery schedule now (as beat will): a value it cannot parse is a 400, never a beat row."""
        try:
            crontab_parse(value)
        except TradingError as exc:
            raise serializers.ValidationError(str(exc).removeprefix("crontab: ")) from exc
        return " ".join(value.split())

    def validate(self, attrs: dict) -> dict:
        if "every_seconds" in attrs and "crontab" in attrs:
            raise serializers.ValidationError({"crontab": "Give every_seconds or crontab, not both."})
        return attrs


class SignalSerializer(serializers.ModelSerializer):
    """One signal of a strategy and what was done with it (``outcome``, ``outcome_reason``, ``order``)."""

    quantity = quantity_field(allow_null=True)

    class Meta:
        model = StrategySignal
        fields = ["id", "strategy", "key", "generated_at", "symbol", "side", "quantity", "reason", "source",
                  "outcome", "outcome_reason", "order", "created_at"]


class SignalListSerializer(serializers.Serializer):
    items = SignalSerializer(many=True)
    total = serializers.IntegerField()


class SignalListParamsSerializer(serializers.Serializer):
    """Filters and paging of ``GET trading/signals``."""

    account = _account_field(required=False)
    strategy = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID,
                                        help_text="Only signals of this strategy.")
    outcome = serializers.ChoiceField(choices=SignalOutcome.choices, required=False, help_text="Only this outcome.")
    limit = limit_field()
    offset = offset_field()
