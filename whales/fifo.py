"""The one FIFO lot engine (DESIGN.md section 9), for wallet metrics and paper trading alike.

Rule: lots are consumed oldest first. A lot consumed whole gives up all of its remaining cost. A lot
consumed in part gives up ``cost x taken / amount`` rounded half-even to 1e-8 USD (the storage quantum)
and keeps exactly the rest (``cost - share``), so what a lot gives up over its life adds up to its cost
to the last 1e-8, however it is split. A lot of unknown cost (None) gives up unknown cost. A position
closed to nothing and reopened starts from new lots. Fees are counted once: a buy's fee is in its lot's
cost, a sell's fee comes off its proceeds.

``lots_take`` is the primitive (trading books its lots with it); ``FifoBook`` adds what the metrics
need over it: realized P&L, sells of unknown cost, round trips and wins, and a JSON state
(``state``/``from_state``) so a recompute can carry on from where the last one stopped.
"""

from collections import deque
from collections.abc import MutableSequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

from whales.money import WIDE, q_usd

ZERO = Decimal(0)


@dataclass(slots=True)
class Lot:
    """An open lot: the amount still held and its remaining cost in USD (None = unknown cost)."""

    amount: Decimal
    cost: Decimal | None


def lot_share(cost: Decimal, taken: Decimal, amount: Decimal) -> Decimal:
    """The cost ``taken`` of a lot holding ``amount`` at ``cost`` gives up: all of it when it is all taken,
    else ``cost x taken / amount`` rounded half-even to 1e-8 USD."""
    if taken >= amount:
        return cost
    with localcontext(WIDE):
        return q_usd(cost * taken / amount)


def lots_take(lots: MutableSequence[Lot], amount: Decimal) -> tuple[list[tuple[Decimal, Decimal | None]], Decimal]:
    """Consume up to ``amount`` from ``lots`` (oldest first, changed in place: emptied lots are removed).

    Returns the consumed pieces ``[(amount taken, cost given up or None), ...]`` in order, and the part of
    ``amount`` no lot covered (0 when the lots held enough).
    """
    pieces: list[tuple[Decimal, Decimal | None]] = []
    rest = amount
    while rest > 0 and lots:
        lot = lots[0]
        taken = min(lot.amount, rest)
        share = None if lot.cost is None else lot_share(lot.cost, taken, lot.amount)
        pieces.append((taken, share))
        rest -= taken
        if taken == lot.amount:
            del lots[0]
        else:
            lot.amount -= taken
            if lot.cost is not None and share is not None:
                lot.cost -= share
    return pieces, rest


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


@dataclass
class FifoBook:
    """The FIFO lots of one (whale, asset) and what they realized; feed it the asset's trades in time order.

    Units: amounts in human units, USD as Decimal; realized P&L is kept unrounded (lot costs are rounded
    by the rule above) and quantized only when stored.
    """

    lots: deque[Lot] = field(default_factory=deque)
    realized: Decimal = ZERO
    sells: int = 0
    unknown_cost_sells: int = 0
    unknown_cost_amount: Decimal = ZERO
    unknown_cost_proceeds: Decimal = ZERO
    round_trips: int = 0
    wins: int = 0
    _trip_pnl: Decimal = ZERO
    _trip_sold: bool = False
    _trip_unknown: bool = False

    @property
    def amount(self) -> Decimal:
        return sum((lot.amount for lot in self.lots), ZERO)

    @property
    def cost(self) -> Decimal | None:
        """Cost of the remaining lots; None when any of them has an unknown cost."""
        total = ZERO
        for lot in self.lots:
            if lot.cost is None:
                return None
            total += lot.cost
        return total

    def _open(self, amount: Decimal, cost: Decimal | None) -> None:
        if amount <= 0:
            return
        if not self.lots:  # a new round trip starts from an empty book (a reopened position: new lots)
            self._trip_pnl, self._trip_sold, self._trip_unknown = ZERO, False, False
        self.lots.append(Lot(amount, cost))

    def buy(self, amount: Decimal, value_usd: Decimal | None, fee_usd: Decimal | None) -> None:
        """Open a lot at value_usd + fee_usd (None value -> unknown cost)."""
        self._open(amount, None if value_usd is None else value_usd + (fee_usd or ZERO))

    def transfer_in(self, amount: Decimal, value_usd: Decimal | None) -> None:
        """Open a lot at the market value on arrival; realizes nothing."""
        self._open(amount, value_usd)

    def transfer_out(self, amount: Decimal) -> None:
        """Remove lots FIFO at cost; realizes nothing."""
        lots_take(self.lots, amount)

    def sell(self, amount: Decimal, value_usd: Decimal | None, fee_usd: Decimal | None) -> None:
        """Consume lots FIFO and realize proceeds share - cost per piece; unknown parts go to unknown_*."""
        if amount <= 0:
            return
        self.sells += 1
        had_lots = bool(self.lots)
        pieces, uncovered = lots_take(self.lots, amount)
        unknown = uncovered > 0
        with localcontext(WIDE):
            proceeds = None if value_usd is None else value_usd - (fee_usd or ZERO)
            unknown_amount = uncovered
            realized = ZERO
            for piece_amount, piece_cost in pieces:
                if proceeds is None or piece_cost is None:
                    unknown, unknown_amount = True, unknown_amount + piece_amount
                    continue
                realized += proceeds * piece_amount / amount - piece_cost
            if unknown:
                self.unknown_cost_sells += 1
                self.unknown_cost_amount += unknown_amount
                if proceeds is not None:
                    self.unknown_cost_proceeds += proceeds * unknown_amount / amount
            self.realized += realized
        if had_lots:
            self._trip_pnl += realized
            self._trip_sold = True
            self._trip_unknown = self._trip_unknown or unknown
            if not self.lots:  # back to flat: the round trip is closed
                if not self._trip_unknown:
                    self.round_trips += 1
                    self.wins += self._trip_pnl > 0
                self._trip_pnl, self._trip_sold, self._trip_unknown = ZERO, False, False

    def state(self) -> dict[str, Any]:
        """Everything the book holds, JSON-safe (Decimals as exact strings); ``from_state`` reads it back."""
        return {
            "lots": [[str(lot.amount), None if lot.cost is None else str(lot.cost)] for lot in self.lots],
            "realized": str(self.realized), "sells": self.sells, "unknown_cost_sells": self.unknown_cost_sells,
            "unknown_cost_amount": str(self.unknown_cost_amount),
            "unknown_cost_proceeds": str(self.unknown_cost_proceeds), "round_trips": self.round_trips,
            "wins": self.wins, "trip_pnl": str(self._trip_pnl), "trip_sold": self._trip_sold,
            "trip_unknown": self._trip_unknown,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "FifoBook":
        """The book ``state()`` described. Raises: KeyError / ValueError / TypeError for another shape."""
        return cls(
            lots=deque(Lot(Decimal(amount), _dec(cost)) for amount, cost in state["lots"]),
            realized=Decimal(state["realized"]), sells=int(state["sells"]),
            unknown_cost_sells=int(state["unknown_cost_sells"]),
            unknown_cost_amount=Decimal(state["unknown_cost_amount"]),
            unknown_cost_proceeds=Decimal(state["unknown_cost_proceeds"]), round_trips=int(state["round_trips"]),
            wins=int(state["wins"]), _trip_pnl=Decimal(state["trip_pnl"]), _trip_sold=bool(state["trip_sold"]),
            _trip_unknown=bool(state["trip_unknown"]),
        )
