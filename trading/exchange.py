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
    """How (much of) an order fills: price per unit, quantity, notional and fee in USD."""

    price: Decimal
    quantity: Decimal
    notional: Decimal
    fee: Decimal


@dataclass(frozen=True)
class OrderTicket:
    """What an exchange needs of an order (no ORM object crosses the interface)."""

    symbol: str
    side: str
    type: str
    quantity: Decimal
    limit_price: Decimal | None


class Exchange(ABC):
    """A venue. ``execute`` returns the execution of ``ticket`` at the market price ``mark`` now, or
    None when it does not execute now (a resting limit order). ``quote`` is the expected execution of
    a market order, used by the pre-trade checks."""

    name: str = "exchange"
    is_live: bool = False

    @abstractmethod
    def execute(self, *, ticket: OrderTicket, mark: Decimal) -> Execution | None: ...

    @abstractmethod
    def quote(self, *, ticket: OrderTicket, mark: Decimal) -> Execution: ...


class PaperExchange(Exchange):
    """Simulated fills by the module's rules; ``slippage_bps`` and ``fee_bps`` from the account."""

    name = "paper"

    def __init__(self, *, slippage_bps: Decimal, fee_bps: Decimal) -> None:
        self.slippage_bps = Decimal(slippage_bps)
        self.fee_bps = Decimal(fee_bps)

    def _at(self, *, ticket: OrderTicket, price: Decimal) -> Execution:
        price = q_price(price)
        notional = q_usd(ticket.quantity * price)
        return Execution(price=price, quantity=ticket.quantity, notional=notional,
                         fee=q_usd(notional * self.fee_bps / BPS))

    def market_price(self, *, side: str, mark: Decimal) -> Decimal:
        """Fill price of a market order: the mark moved by the slippage against the trader."""
        sign = 1 if side == OrderSide.BUY else -1
        return mark * (1 + sign * self.slippage_bps / BPS)

    def quote(self, *, ticket: OrderTicket, mark: Decimal) -> Execution:
        if ticket.type == OrderType.LIMIT and ticket.limit_price is not None:
            return self._at(ticket=ticket, price=ticket.limit_price)
        return self._at(ticket=ticket, price=self.market_price(side=ticket.side, mark=mark))

    def execute(self, *, ticket: OrderTicket, mark: Decimal) -> Execution | None:
        if ticket.type == OrderType.MARKET:
            return self._at(ticket=ticket, price=self.market_price(side=ticket.side, mark=mark))
        assert ticket.limit_price is not None
        crossed = mark <= ticket.limit_price if ticket.side == OrderSide.BUY else mark >= ticket.limit_price
        return self._at(ticket=ticket, price=ticket.limit_price) if crossed else None
