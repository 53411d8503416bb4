"""The one FIFO lot engine (DESIGN.md section 9), for wallet metrics and paper trading alike.

Rule: lots are consumed oldest first. A lot consumed whole gives up all of its remaining cost. A lot
consumed in part gives up ``cost x taken / amount`` rounded half-even to 1e-8 USD (the storage quantum)
and keeps exactly the rest (``cost - share``), so what a lot gives up over its life adds up to its cost
to the last 1e-8, however it is split. A lot of unknown cost (None) gives up unknown cost. A position
closed to nothing and reopened starts from new lots. Fees are counted once: a buy's fee is in its lot's
cost, a sell's fee comes off its proceeds.

``lots_take`` is the primitive (trading books its lots with it); ``FifoBook`` adds what the metrics
need over it: realized P&L, sells of unknown cost, round trips and wins, and a small JSON state
(``state``/``from_state``) so a recompute can carry on from where the last one stopped. A book's lots
sit in a ``LotQueue``: the open lots are numbered by a sequence (``seq``) that only grows, the oldest
open lot first, and the queue keeps the running totals (amount, known cost, lots of unknown cost), so
a book resumed from storage reads only the lots a sell or transfer out reaches (``LotLoader``) and
hands back only what changed (``LotQueue.changes``): the cost of a compute follows the trades it
applies, not the lots the whale has piled up.
"""

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Protocol

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


class HeadLots(Protocol):
    """What ``lots_take`` needs of a lot queue: its length, and read, replace or remove the oldest lot
    (index 0). A list is one; so is a ``LotQueue``."""

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> Lot: ...

    def __setitem__(self, index: int, lot: Lot, /) -> None: ...

    def __delitem__(self, index: int, /) -> None: ...


def lots_take(lots: HeadLots, amount: Decimal) -> tuple[list[tuple[Decimal, Decimal | None]], Decimal]:
    """Consume up to ``amount`` from ``lots`` (oldest first, changed in place: emptied lots are removed, a
    lot consumed in part is replaced at index 0 by what is left of it; the Lot objects are not mutated).

    Returns the consumed pieces ``[(amount taken, cost given up or None), ...]`` in order, and the part of
    ``amount`` no lot covered (0 when the lots held enough).
    """
    pieces: list[tuple[Decimal, Decimal | None]] = []
    rest = amount
    with localcontext(WIDE):  # exact: an amount of 18 decimals can hold more digits than the default 28
        while rest > 0 and len(lots):
            lot = lots[0]
            taken = min(lot.amount, rest)
            share = None if lot.cost is None else lot_share(lot.cost, taken, lot.amount)
            pieces.append((taken, share))
            rest -= taken
            if taken == lot.amount:
                del lots[0]
            else:
                lots[0] = Lot(lot.amount - taken, None if lot.cost is None or share is None else lot.cost - share)
    return pieces, rest


class LotsMissing(Exception):
    """A ``LotLoader`` found fewer stored lots than the queue's header counts: the stored books changed
    under the reader (forgotten or rewritten meanwhile); the caller rebuilds them from the trades."""


LotLoader = Callable[[int, int], list[Lot]]
"""``loader(from_seq, count)``: the stored lots numbered ``from_seq`` .. ``from_seq + count - 1``, in order.
Raises LotsMissing when any is absent."""

LOAD_FIRST = 64       # lots read the first time a resumed queue's head is needed
LOAD_MAX = 8192       # each further read doubles, up to this


class LotQueue:
    """The open lots of one book, oldest first, numbered by ``seq`` (contiguous: ``head_seq`` ..
    ``head_seq + len - 1``), with running totals kept exact in the WIDE context.

    Built empty (everything in memory) or from a stored header (``head_seq``, ``count``, totals) with a
    ``loader`` that reads stored lots on demand, in doubling chunks from the head, only when a consumer
    reaches them; lots appended meanwhile queue after the unread ones. ``changes()`` tells the caller what
    to write back: stored lots consumed (every seq below the new head), the stored head lot if it was
    consumed in part, and the lots opened since that are still open. Only the head can be replaced or
    removed (``HeadLots``); ``lots()`` reads the whole queue (loading what is unread).
    """

    __slots__ = ("_dirty_head", "_first_head", "_loader", "_lots", "_new", "_next_load", "_stored_end", "_unread",
                 "amount", "head_seq", "known_cost", "unknown_lots")

    def __init__(self, *, head_seq: int = 0, count: int = 0, amount: Decimal = ZERO, known_cost: Decimal = ZERO,
                 unknown_lots: int = 0, loader: LotLoader | None = None) -> None:
        if count and loader is None:
            raise ValueError("a queue with stored lots needs a loader")
        self._lots: deque[Lot] = deque()   # seqs head_seq .. head_seq + len(_lots) - 1
        self._unread = count               # stored lots after _lots, not read yet
        self._new: list[Lot] = []          # opened while some stored lots are unread: they follow those
        self._loader = loader
        self._next_load = LOAD_FIRST
        self.head_seq = head_seq
        self.amount = amount               # sum of the open lots' amounts
        self.known_cost = known_cost       # sum of the open lots' costs, those of unknown cost left out
        self.unknown_lots = unknown_lots   # open lots of unknown cost
        self._first_head = head_seq        # stored lots: seqs _first_head .. _stored_end - 1
        self._stored_end = head_seq + count
        self._dirty_head = False           # the stored head lot was replaced (consumed in part)

    def __len__(self) -> int:
        return len(self._lots) + self._unread + len(self._new)

    @property
    def next_seq(self) -> int:
        """The seq the next lot opened gets."""
        return self.head_seq + len(self)

    @property
    def cost(self) -> Decimal | None:
        """Cost of the open lots, USD; None when any of them has an unknown cost."""
        return None if self.unknown_lots else self.known_cost

    def _read_more(self) -> None:
        assert self._loader is not None and self._unread
        count = min(self._unread, self._next_load)
        first = self.head_seq + len(self._lots)
        lots = self._loader(first, count)
        if len(lots) != count:
            raise LotsMissing(f"lots {first}..{first + count - 1}: {len(lots)} stored")
        self._lots.extend(lots)
        self._unread -= count
        self._next_load = min(self._next_load * 2, LOAD_MAX)
        if not self._unread:
            self._lots.extend(self._new)
            self._new.clear()

    def _head(self) -> Lot:
        if not self._lots:
            if not self._unread:
                raise IndexError("no open lot")
            self._read_more()
        return self._lots[0]

    @staticmethod
    def _check(index: int) -> None:
        if index != 0:
            raise IndexError("a FIFO queue reads, replaces and removes its oldest lot (index 0) only")

    def __getitem__(self, index: int) -> Lot:
        self._check(index)
        return self._head()

    def __setitem__(self, index: int, lot: Lot) -> None:
        self._check(index)
        old = self._head()
        with localcontext(WIDE):
            self.amount += lot.amount - old.amount
            self.known_cost += (lot.cost or ZERO) - (old.cost or ZERO)
        self.unknown_lots += (lot.cost is None) - (old.cost is None)
        self._lots[0] = lot
        self._dirty_head = True

    def __delitem__(self, index: int) -> None:
        self._check(index)
        old = self._head()
        with localcontext(WIDE):
            self.amount -= old.amount
            self.known_cost -= old.cost or ZERO
        self.unknown_lots -= old.cost is None
        self._lots.popleft()
        self.head_seq += 1
        self._dirty_head = False

    def append(self, lot: Lot) -> None:
        """Open ``lot`` after every other."""
        with localcontext(WIDE):
            self.amount += lot.amount
            self.known_cost += lot.cost or ZERO
        self.unknown_lots += lot.cost is None
        (self._new if self._unread else self._lots).append(lot)

    def lots(self) -> list[Lot]:
        """Every open lot, oldest first (reads the unread stored ones)."""
        while self._unread:
            self._read_more()
        return list(self._lots)

    def header(self) -> dict[str, Any]:
        """The queue without its lots, JSON-safe: ``from_header`` with a loader reads it back."""
        return {"head_seq": self.head_seq, "count": len(self), "amount": str(self.amount),
                "known_cost": str(self.known_cost), "unknown_lots": self.unknown_lots}

    @classmethod
    def from_header(cls, header: dict[str, Any], loader: LotLoader | None) -> "LotQueue":
        """The queue ``header()`` described, its lots read through ``loader``. Raises: KeyError /
        ValueError / TypeError for another shape."""
        return cls(head_seq=int(header["head_seq"]), count=int(header["count"]), amount=Decimal(header["amount"]),
                   known_cost=Decimal(header["known_cost"]), unknown_lots=int(header["unknown_lots"]),
                   loader=loader)

    def changes(self) -> tuple[int | None, tuple[int, Lot] | None, list[tuple[int, Lot]]]:
        """What to write so the stored lots equal the queue: (delete the stored lots with seq below this, or
        None when none was consumed; the stored lot to overwrite as (seq, lot), or None; the lots to insert
        as [(seq, lot), ...]).

        Stored lots are those the queue was built with (seqs from its first head to the first head plus its
        stored count); every other open lot was opened since and is inserted. Reads no lot."""
        consumed = self.head_seq > self._first_head and self._stored_end > self._first_head
        delete_below = min(self.head_seq, self._stored_end) if consumed else None
        head = (self.head_seq, self._lots[0]) if self._dirty_head and self.head_seq < self._stored_end else None
        first_new = max(self.head_seq, self._stored_end)
        new_seq = self.head_seq + len(self._lots) + self._unread  # the unread are stored: none of them is new
        numbered = [(self.head_seq + i, lot) for i, lot in enumerate(self._lots)]
        numbered += [(new_seq + i, lot) for i, lot in enumerate(self._new)]
        return delete_below, head, [(seq, lot) for seq, lot in numbered if seq >= first_new]


@dataclass
class FifoBook:
    """The FIFO lots of one (whale, asset) and what they realized; feed it the asset's trades in time order.

    Units: amounts in human units, USD as Decimal; realized P&L is kept unrounded (lot costs are rounded
    by the rule above) and quantized only when stored. ``amount`` and ``cost`` are the queue's running
    totals: reading them reads no lot.
    """

    lots: LotQueue = field(default_factory=LotQueue)
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
        """Amount the open lots hold."""
        return self.lots.amount

    @property
    def cost(self) -> Decimal | None:
        """Cost of the remaining lots; None when any of them has an unknown cost."""
        return self.lots.cost

    def _open(self, amount: Decimal, cost: Decimal | None) -> None:
        if amount <= 0:
            return
        if not len(self.lots):  # a new round trip starts from an empty book (a reopened position: new lots)
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
        had_lots = len(self.lots) > 0
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
            if not len(self.lots):  # back to flat: the round trip is closed
                if not self._trip_unknown:
                    self.round_trips += 1
                    self.wins += self._trip_pnl > 0
                self._trip_pnl, self._trip_sold, self._trip_unknown = ZERO, False, False

    def state(self) -> dict[str, Any]:
        """Everything the book holds but its lots, JSON-safe (Decimals as exact strings): the lot queue's
        header under "lots" (``LotQueue.header``). ``from_state`` reads it back, with the lots' loader."""
        return {
            "lots": self.lots.header(),
            "realized": str(self.realized), "sells": self.sells, "unknown_cost_sells": self.unknown_cost_sells,
            "unknown_cost_amount": str(self.unknown_cost_amount),
            "unknown_cost_proceeds": str(self.unknown_cost_proceeds), "round_trips": self.round_trips,
            "wins": self.wins, "trip_pnl": str(self._trip_pnl), "trip_sold": self._trip_sold,
            "trip_unknown": self._trip_unknown,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any], loader: LotLoader | None) -> "FifoBook":
        """The book ``state()`` described, its stored lots read through ``loader`` when a sell or transfer
        out reaches them. Raises: KeyError / ValueError / TypeError for another shape (a state of the
        earlier format, which held the lots themselves, is one)."""
        return cls(
            lots=LotQueue.from_header(state["lots"], loader),
            realized=Decimal(state["realized"]), sells=int(state["sells"]),
            unknown_cost_sells=int(state["unknown_cost_sells"]),
            unknown_cost_amount=Decimal(state["unknown_cost_amount"]),
            unknown_cost_proceeds=Decimal(state["unknown_cost_proceeds"]), round_trips=int(state["round_trips"]),
            wins=int(state["wins"]), _trip_pnl=Decimal(state["trip_pnl"]), _trip_sold=bool(state["trip_sold"]),
            _trip_unknown=bool(state["trip_unknown"]),
        )
