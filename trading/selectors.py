"""Reads for trading: market prices by symbol, positions, lots, portfolio value, strategy exposure.

Prices (``market_price``) follow ``ledgers.exchange.market.selectors``: a stablecoin is 1 USD, a wrapped
token takes its reference's price, otherwise the newest PriceHistory row at or before ``when`` and
no older than ``TRADING_PRICE_MAX_AGE_HOURS`` (default: ``PRICE_MAX_AGE_HOURS``, 48). An unknown
symbol, no row, or a stale row gives None, and the callers BLOCK trading on None.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, Upper

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


def market_price_series(symbols: Iterable[str], times: Sequence[datetime]) -> dict[str, list[Decimal | None]]:
    """``market_price(symbol, t)`` for every symbol and every t of ``times`` (ascending), set-based.

    Shape: {symbol as given: [price at times[0], price at times[1], ...]}; None where missing or stale.
    Same rules as ``market_price`` (case-insensitive symbol, the native coin then the oldest asset, a
    stablecoin or a stablecoin reference is 1, the newest price at or before t and no older than
    ``trading_price_max_age()``), in two queries for any number of symbols and times: the assets, then their
    PriceHistory rows in [times[0] - max age, times[-1]] streamed in (asset, timestamp) order and merged
    with ``times``, so memory is O(len(times) x symbols), not O(price rows).
    """
    wanted = {symbol: symbol.strip().upper() for symbol in symbols}
    out: dict[str, list[Decimal | None]] = {symbol: [None] * len(times) for symbol in wanted}
    if not wanted or not times:
        return out
    assets: dict[str, dict] = {}  # upper symbol -> the row market_price would pick
    rows = (Asset.objects.annotate(symbol_upper=Upper("symbol")).filter(symbol_upper__in=set(wanted.values()))
            .order_by("contract_address", "id")
            .values("id", "symbol_upper", "price_reference_id", "is_stablecoin", "price_reference__is_stablecoin"))
    for row in rows:
        assets.setdefault(row["symbol_upper"], row)
    max_age = trading_price_max_age()
    series: dict[int, list[Decimal | None]] = {}  # priced asset id -> prices at times
    for row in assets.values():
        if not (row["is_stablecoin"] or row["price_reference__is_stablecoin"]):
            series.setdefault(row["price_reference_id"] or row["id"], [None] * len(times))
    prices = (PriceHistory.objects.filter(asset_id__in=series, timestamp__gte=times[0] - max_age,
                                          timestamp__lte=times[-1])
              .order_by("asset_id", "timestamp").values_list("asset_id", "timestamp", "price_usd"))
    current: int | None = None
    latest: tuple[datetime, Decimal] | None = None
    index = 0

    def emit_until(stop: datetime | None) -> None:
        """Fill the current asset's prices at times before ``stop`` (all remaining without one)."""
        nonlocal index
        while index < len(times) and (stop is None or times[index] < stop):
            if current is not None and latest is not None and latest[0] >= times[index] - max_age:
                series[current][index] = latest[1]
            index += 1

    for asset_id, timestamp, price in prices.iterator(chunk_size=2_000):
        if asset_id != current:
            emit_until(None)
            current, latest, index = asset_id, None, 0
        emit_until(timestamp)  # a row at exactly t counts for t: only times strictly before it are done
        latest = (timestamp, price)
    emit_until(None)
    for symbol, upper in wanted.items():
        asset = assets.get(upper)
        if asset is None:
            continue
        if asset["is_stablecoin"] or asset["price_reference__is_stablecoin"]:
            out[symbol] = [Decimal(1)] * len(times)
        else:
            out[symbol] = list(series[asset["price_reference_id"] or asset["id"]])
    return out


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
