"""One coin on one time axis (``GET /api/v1/tokens/{symbol}`` and ``/tokens/{symbol}/``): its price, the whale
moves in it, the catalysts about it, the crowd's mood and the smart-money flows, over a window of days.

The window ends at ``until`` (given, else the coin's newest data: its newest price, whale event, catalyst or mood
reading, never after now; offline that is the recordings' end, live it is about now) and spans ``days`` days.
A wrapped token's moves count as its coin's (WETH is ETH), as the context beside a whale move does.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.db.models.functions import TruncDay
from django.utils import timezone

from ledgers.exchange.market.models import Asset, PriceHistory
from whales.context import COIN_ALIASES, catalyst_list, mood
from whales.errors import InvalidParameter, NotFound
from whales.models import EventType, FlowWindow, MoodReading, SmartMoneyFlow, Trade, WhaleEvent

MAX_DAYS = 365
MAX_EVENTS = 200
MAX_CATALYSTS = 200
MOOD_QUANTUM = Decimal("0.0001")
SYMBOL_MAX_LENGTH = 30


class UnknownToken(NotFound):
    """404 ``not_found``: no asset has that symbol."""


@dataclass(frozen=True)
class TokenWindow:
    """The coin and the window a token view covers: ``symbol`` as stored, [``since``, ``until``) aware UTC;
    ``price_asset_id`` the asset whose price series is the coin's."""

    symbol: str
    price_asset_id: int
    name: str
    since: datetime
    until: datetime
    days: int


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def token_window(*, symbol: str, days: int, until: datetime | None = None) -> TokenWindow:
    """Resolve ``symbol`` (case-insensitive, against the Asset table) and the window (module docstring).
    Raises: InvalidParameter (a symbol too long or ``days`` outside 1-365), UnknownToken."""
    if not symbol or len(symbol) > SYMBOL_MAX_LENGTH:
        raise InvalidParameter(f"symbol must be 1 to {SYMBOL_MAX_LENGTH} characters.")
    if not 1 <= days <= MAX_DAYS:
        raise InvalidParameter(f"days must be 1 to {MAX_DAYS}, not {days}.")
    asset = (Asset.objects.filter(symbol__iexact=symbol).order_by("price_reference_id", "id").first())
    if asset is None:
        raise UnknownToken(f"No asset has the symbol {symbol!r}.")
    coin = asset.symbol
    if until is None:
        now = timezone.now()
        newest = [
            PriceHistory.objects.filter(asset_id=asset.price_reference_id or asset.id).aggregate(
                at=Max("timestamp"))["at"],
            _coin_events(coin).aggregate(at=Max("block_time"))["at"],
            catalyst_list(coin=coin).values_list("occurred_at", flat=True).first(),
            MoodReading.objects.filter(coin=coin).aggregate(at=Max("occurred_at"))["at"],
        ]
        known = [at for at in newest if at is not None and at <= now]
        until = (max(known) + timedelta(seconds=1)) if known else now
    return TokenWindow(symbol=coin, price_asset_id=asset.price_reference_id or asset.id, name=asset.name,
                       since=until - timedelta(days=days), until=until, days=days)


def _names(coin: str) -> list[str]:
    """The asset names a trade in ``coin`` may carry: the coin and the wrapped tokens priced as it."""
    return [coin, *(wrapped for wrapped, base in COIN_ALIASES.items() if base == coin)]


def _coin_events(coin: str) -> Any:
    """Whale events whose trade (same chain, transaction, log index and whale) is in ``coin``."""
    names = _names(coin)
    in_coin = Trade.objects.filter(chain=OuterRef("chain"), tx_hash=OuterRef("tx_hash"),
                                   log_index=OuterRef("log_index"), whale_id=OuterRef("whale_id")).filter(
        Q(base_asset__in=names) | Q(quote_asset__in=names))
    return WhaleEvent.objects.filter(whale__isnull=False).exclude(type=EventType.REORG_RETRACTION).filter(
        Exists(in_coin))


def token_overview(window: TokenWindow) -> dict[str, Any]:
    """Everything the token page and API show for ``window``.

    Shape (JSON-safe; money and prices as strings, times ISO-8601 UTC):
    {"symbol", "name", "days", "since", "until",
     "price": {"latest_usd", "at", "change_percent"} (the window's last price and its change from the first;
              null without prices),
     "prices": [{"at", "price_usd"}] (every stored price in the window, oldest first; its asset's own series),
     "events": [{"id", "type", "block_time", "summary", "value_usd", "whale": {"chain", "address", "name"}}]
               (newest first, at most 200),
     "catalysts": [{"id", "source", "type", "title", "url", "occurred_at", "impact_score"}] (newest first, ≤ 200),
     "sentiment": {"window": whales.context.mood over the window, "daily": [{"day", "posts",
                   "weighted_compound"}]} (days with posts, oldest first),
     "flows": [{"window", "net_flow_usd", "bought_usd", "sold_usd", "buying_wallets",
                "selling_wallets", "collected_at"}] (the newest collection of each window 1h/24h/7d/30d)}.
    Queries: about ten, each on an index (prices by asset and time, events by time, catalysts and moods by coin
    and time, flows by token and time).
    """
    coin, since, until = window.symbol, window.since, window.until
    prices = list(PriceHistory.objects.filter(asset_id=window.price_asset_id, timestamp__gte=since,
                                              timestamp__lt=until)
                  .order_by("timestamp", "id").values_list("timestamp", "price_usd"))
    price = None
    if prices:
        first, last = prices[0][1], prices[-1][1]
        change = ((last - first) / first * 100).quantize(Decimal("0.01"), ROUND_HALF_EVEN) if first else None
        price = {"latest_usd": str(last), "at": _iso(prices[-1][0]),
                 "change_percent": str(change) if change is not None else None}
    events = (_coin_events(coin).filter(block_time__gte=since, block_time__lt=until).select_related("whale")
              .order_by("-block_time", "-id")[:MAX_EVENTS])
    catalysts = catalyst_list(coin=coin, since=since, until=until)[:MAX_CATALYSTS]
    daily = (MoodReading.objects.filter(coin=coin, occurred_at__gte=since, occurred_at__lt=until)
             .annotate(day=TruncDay("occurred_at")).values("day")
             .annotate(posts=Count("id"), weighted=Sum(F("weight") * F("compound")), weights=Sum("weight"))
             .order_by("day"))
    flows = []
    for flow_window in FlowWindow.values:
        flow = SmartMoneyFlow.objects.filter(token=coin, window=flow_window).order_by("-collected_at").first()
        if flow is not None:
            flows.append({"window": flow_window, "net_flow_usd": str(flow.net_flow_usd),
                          "bought_usd": str(flow.bought_usd), "sold_usd": str(flow.sold_usd),
                          "buying_wallets": flow.buying_wallets, "selling_wallets": flow.selling_wallets,
                          "collected_at": _iso(flow.collected_at)})
    return {
        "symbol": coin, "name": window.name, "days": window.days, "since": _iso(since), "until": _iso(until),
        "price": price,
        "prices": [{"at": _iso(at), "price_usd": str(value)} for at, value in prices],
        "events": [{"id": e.id, "type": e.type, "block_time": _iso(e.block_time), "summary": e.summary,
                    "value_usd": str(e.value_usd) if e.value_usd is not None else None,
                    "whale": {"chain": e.whale.chain, "address": e.whale.address, "name": e.whale.name}}
                   for e in events],
        "catalysts": [{"id": c.id, "source": c.source, "type": c.type, "title": c.title, "url": c.url,
                       "occurred_at": _iso(c.occurred_at), "impact_score": c.impact_score} for c in catalysts],
        "sentiment": {"window": mood(coin=coin, since=since, until=until), "daily": [
            {"day": row["day"].date().isoformat(), "posts": row["posts"],
             "weighted_compound": str((Decimal(row["weighted"]) / Decimal(row["weights"])).quantize(
                 MOOD_QUANTUM, ROUND_HALF_EVEN))} for row in daily]},
        "flows": flows,
    }
