"""The venue interface: place, cancel, look up, open orders, fills since, balances, positions, mid and health.

Every adapter speaks in these shapes, so the services (``trading.live``) and the API never know which venue is
behind an account. Units: quantities in asset units, prices and fees in USD per unit / USD (a venue quoting in
USDC or USDT is taken at par with USD; README "Live trading" says so), times aware UTC. Money is Decimal.

Errors say what the caller may assume about the venue's state:
- ``VenueUnavailable``: the request certainly did nothing (refused before it was sent, or answered 429): safe to
  retry as is.
- ``VenueTimeout``: the request may or may not have been applied (a timeout or a dropped connection after it
  was sent). For a placement the order's state is unknown: resolve it (``VenueAdapter.order_lookup``) before
  anything is resent.
- ``VenueRejected``: the venue answered and refused; ``reason`` is its own words. ``VenueAuthError`` is the
  refusal of the credentials themselves.
"""

import hashlib
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal


class VenueError(Exception):
    """Base of the venue errors; ``str()`` is safe to show (no secret in it)."""


class VenueUnavailable(VenueError):
    """The venue could not be asked (refused connection, 429, 5xx before acceptance): nothing was done."""


class VenueTimeout(VenueError):
    """No answer after the request was sent: the venue may have applied it. Resolve before resending."""


class VenueRejected(VenueError):
    """The venue refused the request; the message is the venue's reason."""


class VenueAuthError(VenueRejected):
    """The venue refused the credentials (bad key, bad signature, unknown agent)."""


class VenueStatus:
    """An order's state as the venue reports it."""

    OPEN = "open"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@dataclass(frozen=True)
class PlaceRequest:
    """An order for a venue. ``cloid``: our client order id in the venue's format (``cloid_for``), so the
    venue can be asked for it after a timeout; ``limit_price_usd`` None = a market order, which the adapter sends
    as the venue's own market order or as an immediate-or-cancel limit ``max_slippage_percent`` away from
    ``reference_price_usd`` (the venue mid the checks used). ``reduce_only``: may only shrink a position."""

    cloid: str
    symbol: str
    side: str
    quantity: Decimal
    limit_price_usd: Decimal | None = None
    reference_price_usd: Decimal | None = None
    max_slippage_percent: Decimal = Decimal("1")
    reduce_only: bool = False


@dataclass(frozen=True)
class VenueOrder:
    """An order at the venue. ``status`` is a ``VenueStatus``; ``venue_order_id`` the venue's id (a string
    whatever the venue uses); ``filled_quantity`` and ``average_price_usd`` what has executed so far."""

    venue_order_id: str
    symbol: str
    side: str
    status: str
    quantity: Decimal
    filled_quantity: Decimal = Decimal(0)
    limit_price_usd: Decimal | None = None
    average_price_usd: Decimal | None = None
    cloid: str | None = None
    placed_at: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class VenueFill:
    """One execution at the venue. ``venue_fill_id`` is unique per venue account (the import key).
    ``notional_usd``: what the venue charged or paid for it before the fee, when it says (a venue that rounds
    price x quantity its own way); None = price x quantity. ``fee_asset``: what the fee was paid in, when the venue
    says ("" = the quote, USD at par); a fee in anything else is not booked (``trading.live``)."""

    venue_fill_id: str
    venue_order_id: str
    symbol: str
    side: str
    price_usd: Decimal
    quantity: Decimal
    fee_usd: Decimal
    filled_at: datetime
    cloid: str | None = None
    notional_usd: Decimal | None = None
    fee_asset: str = ""


@dataclass(frozen=True)
class VenueBalance:
    """A balance at the venue: ``total`` and ``available`` in units of ``asset``."""

    asset: str
    total: Decimal
    available: Decimal


@dataclass(frozen=True)
class VenuePosition:
    """A position at the venue: ``quantity`` in asset units (negative = short)."""

    symbol: str
    quantity: Decimal
    entry_price_usd: Decimal | None = None


@dataclass(frozen=True)
class VenueHealth:
    """The answer of a read-only probe: ``ok``, what was seen (``detail``) and how long it took (ms)."""

    ok: bool
    detail: str
    latency_ms: int


def cloid_for(client_order_id: str, *, account_id: int) -> str:
    """Our client order id as a venue cloid: ``0x`` + the first 16 bytes of SHA-256(account id, client order id),
    hex. Deterministic, so a retry of the same order always sends the same cloid."""
    digest = hashlib.sha256(f"{account_id}:{client_order_id}".encode()).hexdigest()
    return "0x" + digest[:32]


class VenueAdapter(ABC):
    """One account's connection to one venue. Each network call has the adapter's timeout; none retries a
    placement by itself (the caller resolves a ``VenueTimeout`` first). Every method may raise
    ``VenueUnavailable`` or ``VenueTimeout``; ``place``/``cancel`` also ``VenueRejected``."""

    name: str = "venue"
    is_simulated_book: bool = False

    def quantity_round(self, symbol: str, quantity: Decimal) -> Decimal:
        """``quantity`` cut down to the venue's lot size for ``symbol`` (default: unchanged)."""
        return quantity

    @abstractmethod
    def place(self, request: PlaceRequest) -> VenueOrder:
        """Send ``request``; return the order as the venue answered (filled, open, partially filled). Raises:
        VenueRejected (the venue refused; nothing placed), VenueTimeout (state unknown), VenueUnavailable."""

    @abstractmethod
    def cancel(self, *, venue_order_id: str, symbol: str, side: str) -> bool:
        """Cancel an open order; True when the venue cancelled it, False when it was no longer open."""

    @abstractmethod
    def order_lookup(self, *, cloid: str, symbol: str, side: str, quantity: Decimal, placed_after: datetime,
                     venue_order_id: str = "", exclude: frozenset[str] = frozenset()) -> VenueOrder | None:
        """The order we sent as ``cloid``; None when the venue has no such order (it was never placed). On a venue
        without client ids: the order ``venue_order_id`` when we know its id, else the one matching symbol, side
        and quantity placed after ``placed_after`` that is not one of ``exclude`` (the venue ids our other orders
        already hold, so that one venue order is never claimed by two of ours)."""

    @abstractmethod
    def open_orders(self) -> list[VenueOrder]:
        """Every order resting at the venue for this account."""

    @abstractmethod
    def fills_since(self, since: datetime) -> list[VenueFill]:
        """Every fill at or after ``since``, oldest first."""

    @abstractmethod
    def balances(self) -> list[VenueBalance]:
        """Balances by asset (the read-only call "Test connection" makes)."""

    @abstractmethod
    def positions(self) -> list[VenuePosition]:
        """Open positions by symbol (for a spot venue: the non-quote balances)."""

    @abstractmethod
    def mid(self, symbol: str) -> Decimal | None:
        """The venue's mid price of ``symbol`` now (USD per unit), None when it has none."""

    def health(self) -> VenueHealth:
        """A read-only probe: the balances call, timed. Never raises."""
        started = time.monotonic()
        try:
            balances = self.balances()
        except VenueError as exc:
            return VenueHealth(ok=False, detail=f"{type(exc).__name__}: {exc}",
                               latency_ms=int((time.monotonic() - started) * 1000))
        shown = ", ".join(f"{b.asset} {b.total:f}" for b in balances[:5]) or "no balances"
        return VenueHealth(ok=True, detail=f"balances: {shown}", latency_ms=int((time.monotonic() - started) * 1000))

    def close(self) -> None:
        """Release the adapter's connections (default: nothing to release)."""
        return None
