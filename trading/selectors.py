"""Reads for trading: market prices by symbol, positions, lots, portfolio value, strategy exposure.

Prices (``market_price``) follow ``ledgers.exchange.market.selectors``: a stablecoin is 1 USD, a wrapped
token takes its reference's price, otherwise the newest PriceHistory row at or before ``when`` and
no older than ``TRADING_PRICE_MAX_AGE_HOURS`` (default: ``PRICE_MAX_AGE_HOURS``, 48). An unknown
symbol, no row, or a stale row gives None, and the callers BLOCK trading on None.
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from ledgers.exchange.market.models import Asset, PriceHistory
from trading.models import Fill, Order, OrderSide, Position, PositionLot, StrategySignal

PriceSource = Callable[[str, datetime], Decimal | None]
"""``price_source(symbol, when) -> USD price or None`` (missing or stale)."""

ZERO = Decimal(0)


def trading_price_max_age() -> timedelta:
    """How old a price may be and still trade (TRADING_PRICE_MAX_AGE_HOURS, else PRICE_MAX_AGE_HOURS)."""
    trading_hours = getattr(settings, "TRADING_PRICE_MAX_AGE_HOURS", None)
    hours = trading_hours if trading_hours is not None else getattr(settings, "PRICE_MAX_AGE_HOURS", 48)
    return timedelta(hours=float(hours))


def market_price(symbol: str, when: datetime) -> Decimal | None:
    """USD price of ``symbol`` at ``when`` by the module's rules; None when missing or stale.

    One query: the asset with that symbol (case-insensitive; a chain's native coin, contract "", first,
    then the oldest row) with its newest fresh price (its reference's for a wrapped token) as a
    subquery. Source: ledgers.exchange.market PriceHistory. Units: USD per unit of the asset.
    """
    latest = (PriceHistory.objects.filter(asset_id=Coalesce(OuterRef("price_reference_id"), OuterRef("id")),
                                          timestamp__lte=when, timestamp__gte=when - trading_price_max_age())
              .order_by("-timestamp").values("price_usd")[:1])
    row = (Asset.objects.filter(symbol__iexact=symbol.strip()).order_by("contract_address", "id")
           .values("is_stablecoin", "price_reference__is_stablecoin").annotate(price_usd=Subquery(latest)).first())
    if row is None:
        return None
    if row["is_stablecoin"] or row["price_reference__is_stablecoin"]:
        return Decimal(1)
    return row["price_usd"]


def position_list(*, account_id: int) -> QuerySet[Position]:
    """Open positions of the account, by symbol."""
    return Position.objects.filter(account_id=account_id, quantity__gt=0).order_by("symbol")


def open_lots(*, account_id: int, symbol: str) -> QuerySet[PositionLot]:
    """The account's FIFO lots of ``symbol`` with quantity remaining, oldest first."""
    return PositionLot.objects.filter(account_id=account_id, symbol=symbol, quantity_remaining__gt=0).order_by(
        "opened_at", "id")


def realized_pnl(*, account_id: int) -> Decimal:
    """Sum of the FIFO realized P&L of the account's sell fills (USD)."""
    totals = Fill.objects.filter(account_id=account_id).aggregate(realized_usd=Sum("realized_pnl_usd"))
    return totals["realized_usd"] or ZERO


def strategy_net_quantities(*, account_id: int, strategy_id: int) -> dict[str, Decimal]:
    """Net quantity (buys - sells) per symbol of the strategy's fills: its share of the positions."""
    rows = (Fill.objects.filter(account_id=account_id, order__strategy_id=strategy_id)
            .values_list("symbol", "side").annotate(q=Sum("quantity")))
    net: dict[str, Decimal] = {}
    for symbol, side, quantity in rows:
        net[symbol] = net.get(symbol, ZERO) + (quantity if side == OrderSide.BUY else -quantity)
    return net


def order_list(*, owner_id: int, account_id: int | None = None, status: str | None = None,
               symbol: str | None = None, side: str | None = None, strategy_id: int | None = None,
               since: datetime | None = None, until: datetime | None = None) -> QuerySet[Order]:
    """The owner's orders matching every given filter, newest first (created_at, id).

    ``symbol`` is case-insensitive; ``since`` inclusive, ``until`` exclusive (on created_at)."""
    orders = Order.objects.filter(account__owner_id=owner_id)
    filters = {"account_id": account_id, "status": status, "side": side, "strategy_id": strategy_id,
               "created_at__gte": since, "created_at__lt": until}
    orders = orders.filter(**{key: value for key, value in filters.items() if value is not None})
    if symbol is not None:
        orders = orders.filter(symbol__iexact=symbol.strip())
    return orders.order_by("-created_at", "-id")


def signal_list(*, owner_id: int, account_id: int | None = None, strategy_id: int | None = None,
                outcome: str | None = None) -> QuerySet[StrategySignal]:
    """The owner's strategy signals with their outcomes, newest first (generated_at, id)."""
    signals = StrategySignal.objects.filter(strategy__account__owner_id=owner_id).select_related("strategy")
    filters = {"strategy__account_id": account_id, "strategy_id": strategy_id, "outcome": outcome}
    return signals.filter(**{key: value for key, value in filters.items() if value is not None}).order_by(
        "-generated_at", "-id")
