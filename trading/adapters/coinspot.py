"""Coinspot through ccxt (``ccxt.coinspot``), which signs every private call (HMAC-SHA512 of the JSON body with
an increasing nonce, in the ``sign`` header). This module maps our shapes to Coinspot's API v2 and back, through
ccxt's implicit v2 methods (its unified ``create_order`` places limit orders only).

Markets: ``<COIN>/USDT`` (``markettype`` USDT), USDT taken at par with USD. Amounts go out with at most 8
decimals (``quantity_round``). A market order is "buy now" / "sell now" with the reference price as ``rate`` and the
account's price band as ``threshold`` (the venue refuses it when its price moved further, ``direction`` UP for a
buy, DOWN for a sell); a limit order is what Coinspot calls a market order (``my/buy``, ``my/sell``: an order at a
rate, resting until the market reaches it).

Coinspot has no client order id. An order is found again (after a timeout, or to learn the id a buy-now answer
does not give) by coin, side and amount among the orders created after its submit time: the open orders
(``ro/my/orders/market/open``) and the completed ones (``ro/my/orders/completed``, one entry per fill, carrying the
order's id). Two identical orders submitted in the same moment cannot be told apart; the README says so.

Fills: each completed entry, keyed ``<order id>:<solddate>:<amount>``; its notional is the entry's ``total`` (the
venue's own rounding of amount x rate) and its fee ``audfeeExGst + audGst`` (in the market's quote, USDT here).
Errors: ccxt's RequestTimeout or a dropped connection after sending -> VenueTimeout; a 429, an unreachable host or
a refused nonce (nothing applied; retried up to three times) -> VenueUnavailable; Coinspot's
``{"status": "error"}`` -> VenueRejected (VenueAuthError for the key or signature).
"""

import logging
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any

import ccxt

from trading.adapters.base import (
    PlaceRequest,
    VenueAdapter,
    VenueAuthError,
    VenueBalance,
    VenueError,
    VenueFill,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueStatus,
    VenueTimeout,
    VenueUnavailable,
)

logger = logging.getLogger(__name__)

QUOTE = "USDT"
AMOUNT_PLACES = Decimal("0.00000001")
AUTH_WORDS = ("Invalid API key", "Invalid signature", "read only")
NONCE_WORDS = ("Invalid nonce", "nonce")
NONCE_RETRIES = 3
HISTORY_LIMIT = 500


def _dec(value: Any) -> Decimal:
    return Decimal(str(value))


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class CoinspotVenue(VenueAdapter):
    """One Coinspot API key (``api_key``, ``secret``) at ``base_url`` (ccxt calls ``/api`` and ``/pubapi`` under it)."""

    name = "coinspot"

    def __init__(self, *, base_url: str, api_key: str, secret: str, timeout_s: float) -> None:
        base = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._ex = ccxt.coinspot({"apiKey": api_key, "secret": secret, "timeout": int(timeout_s * 1000),
                                  "enableRateLimit": False})
        self._ex.urls["api"] = {"public": base + "/pubapi", "private": base + "/api"}

    def _call(self, method: str, params: dict[str, Any] | None = None, *, mutating: bool = False) -> Any:
        for attempt in range(NONCE_RETRIES):
            try:
                return getattr(self._ex, method)(params or {})
            except ccxt.RequestTimeout as exc:
                if mutating:
                    raise VenueTimeout(f"Coinspot did not answer within {self.timeout_s:g} s") from exc
                raise VenueUnavailable(f"Coinspot did not answer within {self.timeout_s:g} s") from exc
            except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
                raise VenueUnavailable(f"Coinspot answered 429 (rate limited): {exc}"[:300]) from exc
            except ccxt.NetworkError as exc:
                if mutating and "refused" not in str(exc).lower():
                    raise VenueTimeout(f"Coinspot dropped the connection after the request was sent: {exc}"[:300]) \
                        from exc
                raise VenueUnavailable(f"Coinspot unreachable: {exc}"[:300]) from exc
            except ccxt.AuthenticationError as exc:
                raise VenueAuthError(str(exc)[:500]) from exc
            except ccxt.ExchangeError as exc:
                message = str(exc)
                if any(word in message for word in NONCE_WORDS):
                    if attempt + 1 < NONCE_RETRIES:
                        continue  # refused before anything was applied: a new nonce is safe
                    raise VenueUnavailable(f"Coinspot refused the nonce {NONCE_RETRIES} times: {message}"[:300]) \
                        from exc
                error = VenueAuthError if any(word in message for word in AUTH_WORDS) else VenueRejected
                raise error(message[:500]) from exc
        raise AssertionError("unreachable")  # the loop returns or raises

    # -- the interface ----------------------------------------------------------------------------

    def quantity_round(self, symbol: str, quantity: Decimal) -> Decimal:
        """``quantity`` cut down to 8 decimals (Coinspot's amounts)."""
        return quantity.quantize(AMOUNT_PLACES, rounding=ROUND_DOWN)

    def place(self, request: PlaceRequest) -> VenueOrder:
        coin = request.symbol.lower()
        side = request.side
        if request.quantity != self.quantity_round(request.symbol, request.quantity) or request.quantity <= 0:
            raise VenueRejected(f"amount {request.quantity} must be > 0 with at most 8 decimals")
        if request.limit_price_usd is None:
            if request.reference_price_usd is None:
                raise VenueRejected("a market order needs a reference price")
            method = "v2PrivatePostMyBuyNow" if side == "buy" else "v2PrivatePostMySellNow"
            answer = self._call(method, {
                "cointype": coin, "amounttype": "coin", "amount": f"{request.quantity:f}", "markettype": QUOTE,
                "rate": f"{request.reference_price_usd:f}", "threshold": f"{request.max_slippage_percent:f}",
                "direction": "UP" if side == "buy" else "DOWN"}, mutating=True)
            amount, total = _dec(answer["amount"]), _dec(answer["total"])
            found = self._find(request, placed_after=None, kind_instant=True)
            return VenueOrder(venue_order_id=found.venue_order_id if found else "", symbol=request.symbol, side=side,
                              status=VenueStatus.FILLED, quantity=amount, filled_quantity=amount,
                              average_price_usd=total / amount if amount else None, cloid=request.cloid)
        method = "v2PrivatePostMyBuy" if side == "buy" else "v2PrivatePostMySell"
        answer = self._call(method, {"cointype": coin, "amount": f"{request.quantity:f}",
                                     "rate": f"{request.limit_price_usd:f}", "markettype": QUOTE}, mutating=True)
        venue_order_id = str(answer["id"])
        state = self._state(venue_order_id, request)
        return state or VenueOrder(venue_order_id=venue_order_id, symbol=request.symbol, side=side,
                                   status=VenueStatus.OPEN, quantity=request.quantity,
                                   limit_price_usd=request.limit_price_usd, cloid=request.cloid)

    def _state(self, venue_order_id: str, request: PlaceRequest) -> VenueOrder | None:
        """The order's state from the open and completed lists (None when the lists could not be read)."""
        try:
            return self._state_of(venue_order_id, request)
        except VenueError:  # the order is placed whatever these reads say: a refused read is not a refused order
            return None

    def _state_of(self, venue_order_id: str, request: PlaceRequest) -> VenueOrder:
        """The order's state from the open and completed lists: open (partly filled), else filled when its fills
        add up to its quantity, else cancelled. Raises the venue's errors."""
        open_orders = {o.venue_order_id: o for o in self.open_orders()}
        fills = [f for f in self._completed(None) if f.venue_order_id == venue_order_id]
        filled = sum((f.quantity for f in fills), Decimal(0))
        average = (sum((f.quantity * f.price_usd for f in fills), Decimal(0)) / filled) if filled else None
        if venue_order_id in open_orders:
            status = VenueStatus.PARTIALLY_FILLED if filled else VenueStatus.OPEN
        elif filled >= request.quantity:
            status = VenueStatus.FILLED
        else:
            status = VenueStatus.CANCELLED
        return VenueOrder(venue_order_id=venue_order_id, symbol=request.symbol, side=request.side, status=status,
                          quantity=request.quantity, filled_quantity=filled, limit_price_usd=request.limit_price_usd,
                          average_price_usd=average, cloid=request.cloid)

    def _find(self, request: PlaceRequest, *, placed_after: datetime | None, kind_instant: bool) -> VenueOrder | None:
        """The newest completed buy/sell-now entry matching ``request`` (the answer of buy now has no id)."""
        try:
            entries = self._history(None)
        except VenueError:  # the buy/sell now was applied: a refused read must not turn it into a rejection
            return None
        for entry in entries:
            if (entry["side"] == request.side and entry["coin"].upper() == request.symbol
                    and _dec(entry["amount"]) == request.quantity
                    and (entry.get("type") == "instant") == kind_instant
                    and (placed_after is None or _when(entry["created"]) >= placed_after)):
                return self._fill_of(entry).as_order(request)
        return None

    def _history(self, since: datetime | None) -> list[dict]:
        params: dict[str, Any] = {"markettype": QUOTE, "limit": HISTORY_LIMIT}
        if since is not None:
            params["startdate"] = since.isoformat().replace("+00:00", "Z")
        answer = self._call("v2PrivatePostRoMyOrdersCompleted", params)
        entries = [dict(e, side="buy") for e in answer.get("buyorders", [])]
        entries += [dict(e, side="sell") for e in answer.get("sellorders", [])]
        return sorted(entries, key=lambda e: e.get("solddate") or e["created"], reverse=True)

    def _fill_of(self, entry: dict) -> "_Fill":
        return _Fill(entry)

    def _completed(self, since: datetime | None) -> list[VenueFill]:
        return [self._fill_of(e).fill for e in self._history(since)]

    def cancel(self, *, venue_order_id: str, symbol: str, side: str) -> bool:
        method = "v2PrivatePostMyBuyCancel" if side == "buy" else "v2PrivatePostMySellCancel"
        try:
            self._call(method, {"id": venue_order_id}, mutating=True)
        except VenueRejected as exc:
            if "not found" in str(exc).lower():
                return False
            raise
        return True

    def order_lookup(self, *, cloid: str, symbol: str, side: str, quantity: Decimal, placed_after: datetime,
                     venue_order_id: str = "", exclude: frozenset[str] = frozenset()) -> VenueOrder | None:
        """By its id when we know it; else (no client ids on Coinspot) the first order not in ``exclude`` that
        matches: an open one of that coin and side placed after ``placed_after`` with at most ``quantity`` left,
        or a completed one whose fills add up to ``quantity``."""
        if venue_order_id:
            return self._state_of(venue_order_id, PlaceRequest(cloid=cloid, symbol=symbol, side=side,
                                                               quantity=quantity))
        for order in self.open_orders():
            if (order.venue_order_id not in exclude and order.symbol == symbol and order.side == side
                    and order.placed_at is not None and order.placed_at >= placed_after and order.quantity <= quantity):
                partly = order.quantity < quantity
                return VenueOrder(venue_order_id=order.venue_order_id, symbol=symbol, side=side,
                                  status=VenueStatus.PARTIALLY_FILLED if partly else VenueStatus.OPEN,
                                  quantity=quantity, filled_quantity=quantity - order.quantity,
                                  limit_price_usd=order.limit_price_usd, cloid=cloid, placed_at=order.placed_at)
        request = PlaceRequest(cloid=cloid, symbol=symbol, side=side, quantity=quantity)
        by_order: dict[str, list[VenueFill]] = {}
        for entry in self._history(placed_after):
            fill = self._fill_of(entry).fill
            if (fill.venue_order_id not in exclude and fill.side == side and fill.symbol == symbol
                    and _when(entry["created"]) >= placed_after):
                by_order.setdefault(fill.venue_order_id, []).append(fill)
        for venue_order_id, fills in sorted(by_order.items()):
            filled = sum((f.quantity for f in fills), Decimal(0))
            if filled == quantity:
                average = sum((f.quantity * f.price_usd for f in fills), Decimal(0)) / filled
                return VenueOrder(venue_order_id=venue_order_id, symbol=symbol, side=side,
                                  status=VenueStatus.FILLED, quantity=quantity, filled_quantity=filled,
                                  average_price_usd=average, cloid=request.cloid)
        return None

    def open_orders(self) -> list[VenueOrder]:
        answer = self._call("v2PrivatePostRoMyOrdersMarketOpen", {"markettype": QUOTE})
        out = []
        for side, key in (("buy", "buyorders"), ("sell", "sellorders")):
            for row in answer.get(key, []):
                out.append(VenueOrder(venue_order_id=str(row["id"]), symbol=str(row["coin"]).upper(), side=side,
                                      status=VenueStatus.OPEN, quantity=_dec(row["amount"]),
                                      limit_price_usd=_dec(row["rate"]), placed_at=_when(row["created"])))
        return sorted(out, key=lambda o: (o.placed_at or datetime.min, o.venue_order_id))

    def fills_since(self, since: datetime) -> list[VenueFill]:
        fills = [f for f in self._completed(since) if f.filled_at >= since]
        return sorted(fills, key=lambda f: (f.filled_at, f.venue_fill_id))

    def balances(self) -> list[VenueBalance]:
        answer = self._call("v2PrivatePostRoMyBalances", {})
        out = []
        for item in answer.get("balances", []):
            for asset, row in item.items():
                total = _dec(row["balance"])
                out.append(VenueBalance(asset=asset.upper(), total=total, available=total))
        return sorted(out, key=lambda b: b.asset)

    def positions(self) -> list[VenuePosition]:
        return [VenuePosition(symbol=b.asset, quantity=b.total) for b in self.balances()
                if b.asset != QUOTE and b.total != 0]

    def mid(self, symbol: str) -> Decimal | None:
        try:
            answer = self._call("v2PublicGetLatestCointypeMarkettype",
                                {"cointype": symbol.lower(), "markettype": QUOTE.lower()})
        except VenueRejected:
            return None
        prices = answer.get("prices", {})
        if not prices.get("bid") or not prices.get("ask"):
            return None
        return (_dec(prices["bid"]) + _dec(prices["ask"])) / 2


class _Fill:
    """One ``ro/my/orders/completed`` entry as a VenueFill (and as the order it belongs to)."""

    def __init__(self, entry: dict) -> None:
        self.entry = entry
        sold = entry.get("solddate") or entry["created"]
        self.fill = VenueFill(
            venue_fill_id=f"{entry['id']}:{sold}:{_dec(entry['amount']):f}", venue_order_id=str(entry["id"]),
            symbol=str(entry["coin"]).upper(), side=entry["side"], price_usd=_dec(entry["rate"]),
            quantity=_dec(entry["amount"]), fee_usd=_dec(entry.get("audfeeExGst", 0)) + _dec(entry.get("audGst", 0)),
            filled_at=_when(sold), notional_usd=_dec(entry["total"]) if entry.get("total") is not None else None)

    def as_order(self, request: PlaceRequest) -> VenueOrder:
        return VenueOrder(venue_order_id=self.fill.venue_order_id, symbol=request.symbol, side=request.side,
                          status=VenueStatus.FILLED, quantity=self.fill.quantity, filled_quantity=self.fill.quantity,
                          average_price_usd=self.fill.price_usd, cloid=request.cloid)
