"""The paper book behind the venue interface: its "venue" is our own database, its matching the paper exchange
(``trading.exchange.PaperExchange`` through ``trading.services.order_place``), its prices the account's price
source (``trading.venues``). Nothing here leaves the process, so nothing here times out.

A paper account's client ids are its ``client_order_id``s (``PlaceRequest.cloid`` is used as one); ids are our
primary keys as strings. Its balance is the account's cash in USD.
"""

from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from trading.adapters.base import (
    PlaceRequest,
    VenueAdapter,
    VenueBalance,
    VenueFill,
    VenueOrder,
    VenuePosition,
    VenueRejected,
    VenueStatus,
)
from trading.models import OPEN_STATUSES, Account, Fill, Order, OrderStatus, OrderType, Position

STATUS: dict[str, str] = {OrderStatus.PENDING: VenueStatus.OPEN, OrderStatus.SUBMITTED: VenueStatus.OPEN,
          OrderStatus.PARTIALLY_FILLED: VenueStatus.PARTIALLY_FILLED, OrderStatus.FILLED: VenueStatus.FILLED,
          OrderStatus.CANCELLED: VenueStatus.CANCELLED, OrderStatus.REJECTED: VenueStatus.REJECTED,
          OrderStatus.FAILED: VenueStatus.REJECTED, OrderStatus.UNKNOWN: VenueStatus.OPEN}


def _venue_order(order: Order) -> VenueOrder:
    return VenueOrder(venue_order_id=str(order.pk), symbol=order.symbol, side=order.side, status=STATUS[order.status],
                      quantity=order.quantity, filled_quantity=order.filled_quantity,
                      limit_price_usd=order.limit_price_usd, average_price_usd=order.average_fill_price_usd,
                      cloid=order.client_order_id, placed_at=order.submitted_at or order.created_at,
                      reason=order.reject_reason)


class PaperVenue(VenueAdapter):
    """The paper book of account ``account_id``."""

    name = "paper"
    is_simulated_book = True

    def __init__(self, *, account_id: int) -> None:
        self.account_id = account_id

    def place(self, request: PlaceRequest) -> VenueOrder:
        from trading.services import order_place  # the paper engine (imports this package's siblings)

        order = order_place(account_id=self.account_id, symbol=request.symbol, side=request.side,
                            quantity=request.quantity, client_order_id=request.cloid,
                            order_type=OrderType.MARKET if request.limit_price_usd is None else OrderType.LIMIT,
                            limit_price_usd=request.limit_price_usd)
        if order.status == OrderStatus.REJECTED:
            raise VenueRejected(order.reject_reason)
        return _venue_order(order)

    def cancel(self, *, venue_order_id: str, symbol: str, side: str) -> bool:
        from trading.services import OrderNotOpen, order_cancel

        try:
            order_cancel(account_id=self.account_id, order_id=int(venue_order_id))
        except OrderNotOpen:
            return False
        return True

    def order_lookup(self, *, cloid: str, symbol: str, side: str, quantity: Decimal, placed_after: datetime,
                     venue_order_id: str = "", exclude: frozenset[str] = frozenset()) -> VenueOrder | None:
        order = Order.objects.filter(account_id=self.account_id, client_order_id=cloid).first()
        return _venue_order(order) if order is not None else None

    def open_orders(self) -> list[VenueOrder]:
        return [_venue_order(o) for o in Order.objects.filter(account_id=self.account_id, status__in=OPEN_STATUSES)
                .order_by("created_at", "id")]

    def fills_since(self, since: datetime) -> list[VenueFill]:
        return [VenueFill(venue_fill_id=str(f.pk), venue_order_id=str(f.order_id), symbol=f.symbol, side=f.side,
                          price_usd=f.price_usd, quantity=f.quantity, fee_usd=f.fee_usd, filled_at=f.filled_at)
                for f in Fill.objects.filter(account_id=self.account_id, filled_at__gte=since)
                .order_by("filled_at", "id")]

    def balances(self) -> list[VenueBalance]:
        cash = Account.objects.values_list("cash_usd", flat=True).get(pk=self.account_id)
        return [VenueBalance(asset="USD", total=cash, available=cash)]

    def positions(self) -> list[VenuePosition]:
        return [VenuePosition(symbol=p.symbol, quantity=p.quantity, entry_price_usd=p.average_price_usd)
                for p in Position.objects.filter(account_id=self.account_id).order_by("symbol")]

    def mid(self, symbol: str) -> Decimal | None:
        from trading.venues import price_source_for

        venue = Account.objects.values_list("venue", flat=True).get(pk=self.account_id)
        return price_source_for(venue)(symbol.strip().upper(), timezone.now())
