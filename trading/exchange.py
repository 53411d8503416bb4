"""The exchange interface and the paper exchange.

``Exchange`` is what a live adapter implements later: given an order and the market, say how it
executes now. The paper exchange writes nothing; ``trading.services`` applies its executions to
cash, positions and lots in the order's transaction.

Paper fill rules:
- market order: fills in full at the market price (``ledgers.exchange.market``, newest row within the max age)
  moved by ``slippage_bps`` against the trader: buy pays price x (1 + bps/10^4), sell gets
  price x (1 - bps/10^4);
- limit order: rests (``submitted``) until the market price crosses it (buy: price <= limit, sell:
  price >= limit), then fills in full at the limit price, no slippage (a resting limit order is
  filled at its own price; the paper book has no depth to improve on it);
- fee: ``fee_bps`` of the notional (quantity x fill price), in USD, on every fill;
- no partial fills in paper v1.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import Decimal

from trading.models import OrderSide, OrderType
from whales.money import q_price, q_usd

BPS = Decimal(10_000)


@dataclass(frozen=True)
class Execution:
    """How (much of) an order fills. Units: ``price_usd`` USD per unit, ``quantity`` asset units,
    ``notional_usd`` (quantity x price) and ``fee_usd`` in USD."""

    price_usd: Decimal
    quantity: Decimal
    notional_usd: Decimal
    fee_usd: Decimal


@dataclass(frozen=True)
class OrderTicket:
    """What an exchange needs of an order (no ORM object crosses the interface). Units: ``quantity``
    in asset units, ``limit_price_usd`` USD per unit (None for a market order)."""

    symbol: str
    side: str
    type: str
    quantity: Decimal
    limit_price_usd: Decimal | None


class Exchange(ABC):
    """A venue. ``execute`` returns the execution of ``ticket`` at the market price ``mark_usd`` now, or
    None when it does not execute now (a resting limit order). ``quote`` is the expected execution of
    a market order, used by the pre-trade checks."""

    name: str = "exchange"
    is_live: bool = False

    @abstractmethod
    def execute(self, *, ticket: OrderTicket, mark_usd: Decimal) -> Execution | None: ...

    @abstractmethod
    def quote(self, *, ticket: OrderTicket, mark_usd: Decimal) -> Execution: ...


class PaperExchange(Exchange):
    """Simulated fills by the module's rules; ``slippage_bps`` and ``fee_bps`` from the account."""

    name = "paper"

    def __init__(self, *, slippage_bps: Decimal, fee_bps: Decimal) -> None:
        self.slippage_bps = Decimal(slippage_bps)
        self.fee_bps = Decimal(fee_bps)

    def _at(self, *, ticket: OrderTicket, price_usd: Decimal) -> Execution:
        price_usd = q_price(price_usd)
        notional_usd = q_usd(ticket.quantity * price_usd)
        return Execution(price_usd=price_usd, quantity=ticket.quantity, notional_usd=notional_usd,
                         fee_usd=q_usd(notional_usd * self.fee_bps / BPS))

    def market_price(self, *, side: str, mark_usd: Decimal) -> Decimal:
        """Fill price of a market order (USD per unit): the mark moved by the slippage against the trader."""
        sign = 1 if side == OrderSide.BUY else -1
        return mark_usd * (1 + sign * self.slippage_bps / BPS)

    def quote(self, *, ticket: OrderTicket, mark_usd: Decimal) -> Execution:
        if ticket.type == OrderType.LIMIT and ticket.limit_price_usd is not None:
            return self._at(ticket=ticket, price_usd=ticket.limit_price_usd)
        return self._at(ticket=ticket, price_usd=self.market_price(side=ticket.side, mark_usd=mark_usd))

    def execute(self, *, ticket: OrderTicket, mark_usd: Decimal) -> Execution | None:
        if ticket.type == OrderType.MARKET:
            return self._at(ticket=ticket, price_usd=self.market_price(side=ticket.side, mark_usd=mark_usd))
        assert ticket.limit_price_usd is not None
        limit = ticket.limit_price_usd
        crossed = mark_usd <= limit if ticket.side == OrderSide.BUY else mark_usd >= limit
        return self._at(ticket=ticket, price_usd=limit) if crossed else None
