"""The FIFO lot engine (whales.fifo) against a naive reference written here, plus the field's known
cost-basis bugs as named cases. Pure: no database."""

import json
import random
from decimal import Decimal
from fractions import Fraction

import pytest

from whales.fifo import FifoBook, Lot, LotsMissing, lots_take

D = Decimal
Q8 = Decimal("0.00000001")


def round8(x: Fraction) -> Fraction:
    """``x`` rounded half-even to 1e-8, in exact rationals."""
    scaled = x * 10**8
    floor = scaled.numerator // scaled.denominator
    rest = scaled - floor
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and floor % 2 == 1):
        floor += 1
    return Fraction(floor, 10**8)


def reference_fifo(trades):
    """Naive FIFO in exact rationals: lots are [amount, cost] lists; a buy's cost includes its fee; taking
    part of a lot gives up cost x taken / amount rounded half-even to 1e-8 and the lot keeps the rest,
    taking all of it gives up all that is left (the rule of DESIGN.md section 9 as whales.fifo states it).

    Returns (realized, unknown_amount, remaining_amount, remaining_cost, closed_trips, wins). A sell's
    part that no lot covers is unknown (not realized). A round trip closes when the lots run out after
    a sell that consumed at least one lot; its P&L is the sum of its sells' realized P&L.
    """
    lots = []
    realized = Fraction(0)
    unknown = Fraction(0)
    trips = wins = 0
    trip_pnl = Fraction(0)
    for kind, amount, value, fee in trades:
        amount, value, fee = Fraction(amount), Fraction(value), Fraction(fee)
        if kind == "buy":
            if not lots:
                trip_pnl = Fraction(0)
            lots.append([amount, value + fee])
            continue
        had_lots = bool(lots)
        unit_proceeds = (value - fee) / amount
        left = amount
        while left > 0 and lots:
            take = min(left, lots[0][0])
            share = lots[0][1] if take == lots[0][0] else round8(lots[0][1] * take / lots[0][0])
            realized_piece = take * unit_proceeds - share
            realized += realized_piece
            trip_pnl += realized_piece
            lots[0][0] -= take
            lots[0][1] -= share
            left -= take
            if lots[0][0] == 0:
                lots.pop(0)
        unknown += left
        if had_lots and not lots and left == 0:
            trips += 1
            wins += trip_pnl > 0
        if not lots:
            trip_pnl = Fraction(0)
    remaining = sum((lot[0] for lot in lots), Fraction(0))
    remaining_cost = sum((lot[1] for lot in lots), Fraction(0))
    return realized, unknown, remaining, remaining_cost, trips, wins


def run_engine(trades) -> FifoBook:
    book = FifoBook()
    for kind, amount, value, fee in trades:
        (book.buy if kind == "buy" else book.sell)(D(amount), D(value), D(fee))
    return book


def q8(x) -> Decimal:
    if isinstance(x, Fraction):
        return (D(x.numerator) / D(x.denominator)).quantize(Q8) if x.denominator != 1 else D(x.numerator).quantize(Q8)
    return x.quantize(Q8)


def random_trades(rng: random.Random, n: int):
    trades, held = [], 0
    for _ in range(n):
        amount = rng.choice([rng.randint(1, 50), rng.randint(1, 5000) / 100])
        value = rng.randint(1, 10_000_000) / 100
        fee = rng.choice([0, rng.randint(0, 500) / 100])
        if held <= 0 or rng.random() < 0.5:
            kind = "buy"
            held += amount
        else:
            kind = "sell"
            if rng.random() < 0.6:  # often sell exactly what is held, so positions close and reopen
                amount = held
            elif rng.random() < 0.1:  # sometimes oversell: the uncovered part has unknown cost
                amount = held + amount
            held = max(0, held - amount)
        trades.append((kind, str(amount), f"{value:.2f}", f"{fee:.2f}"))
    return trades


@pytest.mark.parametrize("seed", range(300))
def test_engine_matches_the_naive_reference_on_random_sequences(seed):
    rng = random.Random(seed)
    trades = random_trades(rng, rng.randint(1, 60))
    book = run_engine(trades)
    realized, unknown, remaining, remaining_cost, trips, wins = reference_fifo(trades)
    assert q8(book.realized) == q8(realized)
    assert book.unknown_cost_amount == D(unknown.numerator) / D(unknown.denominator)
    assert book.amount == D(remaining.numerator) / D(remaining.denominator)
    assert book.cost == D(remaining_cost.numerator) / D(remaining_cost.denominator)  # exact: rounded shares
    assert (book.round_trips, book.wins) == (trips, wins)


def test_partly_consumed_lot_later_consumed_in_full_keeps_its_remaining_cost():
    # rotki: a lot partly consumed was later charged its full original cost. Lot: 10 @ 1,000 incl. fee.
    book = run_engine([("buy", "10", "990", "10"), ("sell", "4", "600", "0"), ("sell", "6", "1200", "0")])
    # sale 1: 600 - 4/10 x 1,000 = 200; sale 2: 1,200 - (1,000 - 400) = 600 (not 1,200 - 1,000)
    assert book.realized == D(800)
    assert book.amount == 0 and book.cost == 0


def test_partly_consumed_lot_with_a_repeating_share_conserves_its_cost_exactly():
    book = run_engine([("buy", "3", "100", "0"), ("sell", "1", "50", "0"), ("sell", "1", "50", "0"),
                       ("sell", "1", "50", "0")])
    assert book.realized == D(50)  # 150 proceeds - exactly 100 of cost, no 0.0000...1 left behind


def test_closed_and_reopened_position_starts_from_new_lots():
    # ghostfolio: the old average cost survived a close to zero and priced the new position.
    book = run_engine([("buy", "1", "100", "0"), ("sell", "1", "150", "0"),
                       ("buy", "1", "200", "0"), ("sell", "1", "210", "0")])
    assert book.realized == D(60)  # (150 - 100) + (210 - 200)
    assert (book.round_trips, book.wins) == (2, 2)


def test_reopened_position_cost_is_the_new_buys_only():
    book = run_engine([("buy", "2", "100", "0"), ("sell", "2", "300", "0"), ("buy", "5", "1000", "0")])
    assert book.amount == D(5) and book.cost == D(1000)


def test_fees_are_counted_once():
    # the buy fee is in the lot cost, the sell fee reduces the proceeds; neither is subtracted again
    book = run_engine([("buy", "1", "100", "2"), ("sell", "1", "150", "3")])
    assert book.realized == D(45)  # (150 - 3) - (100 + 2)


def test_a_sell_without_a_recorded_buy_has_unknown_cost_not_profit():
    book = run_engine([("sell", "5", "5000", "10")])
    assert book.realized == 0
    assert (book.unknown_cost_sells, book.unknown_cost_amount, book.unknown_cost_proceeds) == (1, D(5), D(4990))
    assert (book.round_trips, book.wins) == (0, 0)


def test_a_sell_larger_than_the_lots_realizes_only_the_covered_part():
    book = run_engine([("buy", "2", "200", "0"), ("sell", "5", "1000", "0")])
    assert book.realized == D(200)  # 2/5 x 1,000 - 200
    assert (book.unknown_cost_sells, book.unknown_cost_amount, book.unknown_cost_proceeds) == (1, D(3), D(600))
    assert book.round_trips == 0  # a trip with an unknown part is not counted in the win rate


def test_a_buy_with_unknown_value_makes_its_sale_unknown():
    book = FifoBook()
    book.buy(D(1), None, None)
    book.sell(D(1), D(100), D(0))
    assert (book.realized, book.unknown_cost_amount, book.unknown_cost_sells) == (0, D(1), 1)


def test_transfers_move_lots_without_realizing():
    book = FifoBook()
    book.transfer_in(D(2), D(300))  # received: a lot at its value on arrival
    book.buy(D(1), D(100), D(0))
    book.transfer_out(D(1))         # sent away at cost: half of the first lot
    assert (book.realized, book.amount, book.cost) == (0, D(2), D(250))
    book.sell(D(2), D(500), D(0))
    assert book.realized == D(250)  # 500 - (150 + 100)


def test_a_losing_round_trip_counts_as_closed_not_won():
    book = run_engine([("buy", "1", "100", "0"), ("sell", "1", "90", "0"), ("buy", "1", "100", "0"),
                       ("sell", "0.5", "60", "0"), ("sell", "0.5", "60", "0")])
    assert book.realized == D(10)
    assert (book.round_trips, book.wins) == (2, 1)


def test_lots_take_rounds_a_partial_lot_so_its_cost_is_conserved():
    lots = [Lot(D(3), D(10))]
    assert lots_take(lots, D(1)) == ([(D(1), D("3.33333333"))], D(0))
    assert lots == [Lot(D(2), D("6.66666667"))]
    assert lots_take(lots, D(2)) == ([(D(2), D("6.66666667"))], D(0))  # all that is left, not 2 x 3.33333333
    assert lots == []


def test_lots_take_reports_what_no_lot_covered():
    lots = [Lot(D(1), D(1)), Lot(D("0.5"), None)]
    assert lots_take(lots, D(2)) == ([(D(1), D(1)), (D("0.5"), None)], D("0.5"))
    assert lots == []


class LotStore:
    """Stored lots as a dict {seq: Lot} with a loader that counts its reads: a stand-in for WalletFifoLot rows,
    so the queue's lazy reads and ``changes()`` are checked without a database."""

    def __init__(self, book: FifoBook) -> None:
        self.rows = {book.lots.head_seq + i: Lot(lot.amount, lot.cost) for i, lot in enumerate(book.lots.lots())}
        self.reads: list[tuple[int, int]] = []

    def load(self, from_seq: int, count: int) -> list[Lot]:
        self.reads.append((from_seq, count))
        if any(seq not in self.rows for seq in range(from_seq, from_seq + count)):
            raise LotsMissing(f"{from_seq}+{count}")
        return [Lot(self.rows[seq].amount, self.rows[seq].cost) for seq in range(from_seq, from_seq + count)]

    def apply(self, book: FifoBook) -> None:
        delete_below, head, new = book.lots.changes()
        if delete_below is not None:
            self.rows = {seq: lot for seq, lot in self.rows.items() if seq >= delete_below}
        for seq, lot in ([head] if head else []) + new:
            self.rows[seq] = Lot(lot.amount, lot.cost)


def resume(book: FifoBook, store: LotStore) -> FifoBook:
    return FifoBook.from_state(json.loads(json.dumps(book.state())), store.load)


def apply_trades(book: FifoBook, trades) -> None:
    for kind, amount, value, fee in trades:
        (book.buy if kind == "buy" else book.sell)(D(amount), D(value), D(fee))


@pytest.mark.parametrize("seed", range(20))
def test_a_book_resumed_from_its_state_and_stored_lots_carries_on_exactly(seed):
    """Resumed in several steps, each storing only its changes, a book ends exactly as one run over every
    trade: figures, header and every stored lot."""
    rng = random.Random(seed)
    trades = random_trades(rng, 160)
    whole = run_engine(trades)
    cuts = sorted(rng.sample(range(1, 160), 4))
    book = run_engine(trades[:cuts[0]])
    store = LotStore(book)
    for start, end in zip(cuts, [*cuts[1:], 160], strict=True):
        book = resume(book, store)
        apply_trades(book, trades[start:end])
        store.apply(book)
    assert book.state() == whole.state()
    expected = {whole.lots.head_seq + i: lot for i, lot in enumerate(whole.lots.lots())}
    assert store.rows == expected


def test_a_resumed_queue_reads_only_the_lots_a_sell_reaches_in_doubling_chunks():
    book = FifoBook()
    for _ in range(300):  # 300 lots of 1 at 10 USD each
        book.buy(D(1), D(10), D(0))
    store = LotStore(book)
    resumed = resume(book, store)
    assert (resumed.amount, resumed.cost, store.reads) == (D(300), D(3000), [])  # totals read no lot
    resumed.buy(D(5), D(100), D(0))          # opened while 300 stored lots are unread
    resumed.sell(D("70.5"), D(1410), D(0))   # reaches lot 70: reads 64, then 128 more
    assert store.reads == [(0, 64), (64, 128)]
    assert resumed.realized == D("1410") - D("705")
    assert (resumed.amount, resumed.cost) == (D("234.5"), D("2395"))  # 3,000 - 705 + 100
    delete_below, head, new = resumed.lots.changes()
    assert (delete_below, head, new) == (70, (70, Lot(D("0.5"), D("5"))), [(300, Lot(D(5), D(100)))])
    store.apply(resumed)
    again = resume(resumed, store)
    again.sell(D("234.5"), D(0), D(0))       # everything: reads the rest, ends with the lot opened above
    assert again.amount == 0 and len(again.lots) == 0
    assert store.reads[2:] == [(70, 64), (134, 128), (262, 39)]


def test_a_queue_whose_stored_lots_went_missing_says_so():
    book = run_engine([("buy", "1", "10", "0"), ("buy", "1", "10", "0")])
    store = LotStore(book)
    resumed = resume(book, store)
    del store.rows[1]
    with pytest.raises(LotsMissing):
        resumed.sell(D(2), D(30), D(0))


def test_a_queue_reads_replaces_and_removes_only_its_head():
    queue = FifoBook().lots
    queue.append(Lot(D(1), D(1)))
    queue.append(Lot(D(2), None))
    assert (queue[0], queue.amount, queue.cost, queue.known_cost) == (Lot(D(1), D(1)), D(3), None, D(1))
    with pytest.raises(IndexError):
        queue[1]
    del queue[0]
    assert (len(queue), queue.head_seq, queue.next_seq, queue.cost) == (1, 1, 2, None)
    queue[0] = Lot(D(1), D(4))
    assert (queue.amount, queue.cost) == (D(1), D(4))
