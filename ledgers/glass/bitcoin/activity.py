"""Turn Esplora transactions of a tracked Bitcoin address into whale activities.

Pure functions over ``types.py`` dataclasses (no ORM, no I/O), tested directly on the recorded
``/address/:addr/txs`` pages and ``/tx/:txid`` answers. The rules, per transaction (``details`` keys
in parentheses; every amount in sat, named ``*_sat``):

1. Net movement: ``received`` = outputs paid to the whale's address, ``spent`` = the values of the
   inputs it spent (their prevouts), ``net = received - spent`` in sat (``net_sat``, ``received_sat``,
   ``spent_sat``). A transaction with net 0 (or not touching the address) is no activity.
2. Coinjoin (the equal-output heuristic): at least 2 distinct input addresses and one output value
   paid at least twice but no more times than there are distinct input addresses (Whirlpool 5x5,
   WabiSabi, JoinMarket). A coinjoin is ONE trade, ``send`` or ``receive`` by the sign of net,
   amount |net|, no counterparty (participants are not counterparties), never an exchange flow;
   ``details.coinjoin`` = true.
3. Receiving (net > 0): one trade of ``net`` sat. ``withdraw`` (source exchange_flow) when at least
   half of the other inputs' value comes from exchange KnownAddresses, else ``receive``.
   Counterparty = the largest such input (the largest exchange input for a withdrawal).
4. Sending (net < 0), when the whale funded every input: the outputs to others are split by
   destination: those to exchange KnownAddresses form one ``deposit`` trade (their total), the rest
   one ``send`` trade (their total, e.g. a 143-output batch payout = 1 send + 1 deposit when one
   output is an exchange's). Counterparty = the group's largest output; ``details.recipients`` =
   how many outputs. When the whale funded only some inputs (a shared transaction that is not a
   coinjoin), one ``send`` of |net|.
5. Internal: every counterparty address (inputs for a receive, outputs for a send) belongs to the
   whale's own entity (a KnownAddress or another tracked whale of that entity): recorded as
   ``send``/``receive`` with ``is_internal``, no event.
6. Fee: the transaction fee in sat when the whale funded every input; its share
   ``fee x own inputs / all inputs`` (integer division) when it funded some; nothing when it only
   received. Charged once: on the ``send`` trade if there is one, else the first trade (``fee_sat``,
   0 on the other trades; ``tx_fee_sat`` = the whole transaction's fee on every trade). ``fee_amount``
   (BTC) only where the fee is on top of the legs' amounts (the whale funded every input), so that the
   legs' signed amounts minus ``fee_amount`` are exactly ``net`` (a coinjoin's or shared send's |net|
   already holds its fee share).
7. Amounts: ``amount_raw`` in sat (``amount_sat``), ``amount_base`` in BTC (sat / 10^8, exact); USD at the BTC price
   at block time (``ledgers.exchange.market`` rules: daily CoinGecko closes, refused past PRICE_MAX_AGE_HOURS),
   rounded half-even to 8 decimals. An unconfirmed transaction is stored with ``block_number``
   None and ``block_time`` = ``seen_at`` (when the collector first saw it); confirmation fills them.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from ledgers.exchange.market.selectors import AssetInfo, PriceBook
from ledgers.glass.bitcoin.types import SAT_PER_BTC, BitcoinTx
from ledgers.refs import Counterparty, WhaleRef
from whales.chains import Chain
from whales.models import AddressCategory, Direction, EventType, TradeSource
from whales.money import q_usd
from whales.types import WhaleActivity

BTC = Decimal(SAT_PER_BTC)
# What a leg's direction (a Direction value) says in an event summary.
_VERBS: dict[str, str] = {Direction.SEND: "sent", Direction.RECEIVE: "received", Direction.DEPOSIT: "deposited",
                          Direction.WITHDRAW: "withdrew"}


@dataclass
class AddressContext:
    """Lookups for one address's transactions: the whale, labelled counterparties, BTC and its prices."""

    whale: WhaleRef
    known: dict[str, Counterparty]
    btc: AssetInfo | None
    prices: PriceBook | None


def sat_to_btc(amount_sat: int) -> Decimal:
    """Exact BTC amount of ``amount_sat`` satoshis."""
    return Decimal(amount_sat) / BTC


def net_movement(tx: BitcoinTx, address: str) -> tuple[int, int]:
    """(received, spent) in sat for ``address`` in ``tx`` (outputs paid to it, inputs it spent)."""
    received = sum(o.value_sat for o in tx.outputs if o.address == address)
    spent = sum(i.value_sat for i in tx.inputs if i.address == address)
    return received, spent


def is_coinjoin(tx: BitcoinTx) -> bool:
    """The equal-output heuristic of rule 2 (module docstring)."""
    input_addresses = {i.address for i in tx.inputs if i.address}
    if len(input_addresses) < 2:
        return False
    counts = Counter(o.value_sat for o in tx.outputs if o.value_sat > 0)
    if not counts:
        return False
    _, equal_outputs = counts.most_common(1)[0]
    return 2 <= equal_outputs <= len(input_addresses)


def _usd(amount_btc: Decimal, price: Decimal | None) -> Decimal | None:
    if price is None:
        return None
    return q_usd(amount_btc * price)


def _fmt_btc(amount: Decimal) -> str:
    return f"{amount.normalize():,f} BTC"


def _fmt_usd(value: Decimal | None) -> str:
    return "" if value is None else f" (${value:,.2f})"


@dataclass(frozen=True, slots=True)
class _Leg:
    direction: str
    amount_sat: int
    counterparty: str
    recipients: int
    is_internal: bool
    exchange: Counterparty | None


def _is_exchange(cp: Counterparty | None) -> bool:
    return cp is not None and cp.category == AddressCategory.EXCHANGE


def _own_entity(ctx: AddressContext, addresses: list[str]) -> bool:
    entity = ctx.whale.entity_id
    if entity is None or not addresses:
        return False
    return all((cp := ctx.known.get(a)) is not None and cp.entity_id == entity for a in addresses)


def _largest(values: dict[str, int]) -> str:
    return max(values, key=lambda a: (values[a], a)) if values else ""


def tx_activities(tx: BitcoinTx, ctx: AddressContext, *, seen_at: datetime) -> list[WhaleActivity]:
    """The whale activities of ``ctx.whale`` in ``tx``, by the rules in this module's docstring.

    Shape: 0-2 activities (``log_index`` -1; directions differ, so natural keys differ).
    ``seen_at``: aware UTC time standing in for the block time of an unconfirmed transaction.
    """
    address = ctx.whale.address
    received, spent = net_movement(tx, address)
    net = received - spent
    if net == 0:
        return []
    total_in = sum(i.value_sat for i in tx.inputs)
    funded_all = spent > 0 and spent == total_in
    coinjoin = is_coinjoin(tx)
    if spent == 0:
        fee = 0
    elif funded_all:
        fee = tx.fee_sat
    else:
        fee = tx.fee_sat * spent // total_in if total_in else 0

    legs: list[_Leg] = []
    if coinjoin:
        legs.append(_Leg(Direction.RECEIVE if net > 0 else Direction.SEND, abs(net), "", len(tx.outputs), False, None))
    elif net > 0:
        senders: dict[str, int] = {}
        for i in tx.inputs:
            if i.address and i.address != address:
                senders[i.address] = senders.get(i.address, 0) + i.value_sat
        exchange_in = {a: v for a, v in senders.items() if _is_exchange(ctx.known.get(a))}
        internal = _own_entity(ctx, list(senders))
        withdraw = not internal and exchange_in and 2 * sum(exchange_in.values()) >= sum(senders.values())
        counterparty = _largest(exchange_in) if withdraw else _largest(senders)
        legs.append(_Leg(Direction.WITHDRAW if withdraw else Direction.RECEIVE, net, counterparty, len(senders),
                         internal, ctx.known.get(counterparty) if withdraw else None))
    elif funded_all:
        recipients: dict[str, int] = {}
        for o in tx.outputs:
            if o.address != address and o.value_sat > 0:
                key = o.address or f"output:{o.n}"  # OP_RETURN / bare multisig: no address
                recipients[key] = recipients.get(key, 0) + o.value_sat
        internal = _own_entity(ctx, list(recipients))
        to_exchange = {} if internal else {a: v for a, v in recipients.items() if _is_exchange(ctx.known.get(a))}
        others = {a: v for a, v in recipients.items() if a not in to_exchange}
        if others:
            legs.append(_Leg(Direction.SEND, sum(others.values()), _largest(others), len(others), internal, None))
        if to_exchange:
            largest = _largest(to_exchange)
            legs.append(_Leg(Direction.DEPOSIT, sum(to_exchange.values()), largest, len(to_exchange), False,
                             ctx.known.get(largest)))
        if not legs:  # paid only the fee (e.g. a consolidation back to itself)
            legs.append(_Leg(Direction.SEND, abs(net) - fee, "", 0, True, None))
    else:
        legs.append(_Leg(Direction.SEND, abs(net), "", len(tx.outputs), False, None))

    when = tx.status.block_time if tx.status.confirmed and tx.status.block_time else seen_at
    price = ctx.prices.usd(ctx.btc, when) if ctx.btc is not None and ctx.prices is not None else None
    fee_leg = next((n for n, leg in enumerate(legs) if leg.direction == Direction.SEND), 0)
    common = {
        "net_sat": net, "received_sat": received, "spent_sat": spent, "tx_fee_sat": tx.fee_sat,
        "inputs": len(tx.inputs), "outputs": len(tx.outputs), "coinjoin": coinjoin,
        "confirmed": tx.status.confirmed,
    }
    # The fee is on top of the legs' amounts only when the whale funded every input and the legs are its
    # outputs to others; a coinjoin's or a shared transaction's |net| already contains its share.
    on_top = funded_all and not coinjoin
    return [_activity(ctx, tx, leg, when, price, fee if n == fee_leg else None, common, fee_on_top=on_top)
            for n, leg in enumerate(legs)]


def _activity(ctx: AddressContext, tx: BitcoinTx, leg: _Leg, when: datetime, price: Decimal | None,
              fee_sat: int | None, common: dict, *, fee_on_top: bool) -> WhaleActivity:
    whale = ctx.whale
    amount = sat_to_btc(leg.amount_sat)
    value_usd = _usd(amount, price)
    fee_usd = _usd(sat_to_btc(fee_sat), price) if fee_sat else None
    cp = ctx.known.get(leg.counterparty)
    cp_name = cp.name if cp else ""
    event_type: str  # "" = no event (an internal transfer)
    if leg.direction in (Direction.DEPOSIT, Direction.WITHDRAW):
        source, event_type = TradeSource.EXCHANGE_FLOW, EventType.EXCHANGE_FLOW
        platform = (leg.exchange.entity_slug or leg.exchange.name) if leg.exchange else ""
    else:
        source, platform = TradeSource.ONCHAIN, ""
        event_type = "" if leg.is_internal else EventType.LARGE_TRANSFER
    verb = _VERBS[leg.direction]
    preposition = "to" if leg.direction in (Direction.SEND, Direction.DEPOSIT) else "from"
    if common["coinjoin"]:
        where = " in a coinjoin"
    elif leg.recipients > 1 and leg.direction in (Direction.SEND, Direction.DEPOSIT):
        where = f" {preposition} {leg.recipients} addresses"
    elif leg.counterparty:
        where = f" {preposition} {cp_name or leg.counterparty}"
    else:
        where = ""
    pending = "" if tx.status.confirmed else " (unconfirmed)"
    summary = f"{whale.name or whale.address} {verb} {_fmt_btc(amount)}{_fmt_usd(value_usd)}{where}{pending}"
    return WhaleActivity(
        whale_id=whale.id, chain=Chain.BITCOIN, block_time=when,
        block_number=tx.status.block_number if tx.status.confirmed else None,
        block_hash=tx.status.block_hash if tx.status.confirmed else "",
        tx_hash=tx.tx_hash, log_index=-1, source=source, platform=platform, direction=leg.direction,
        base_asset="BTC", amount_raw=Decimal(leg.amount_sat), amount_base=amount, price_usd=price,
        value_usd=value_usd, fee_usd=fee_usd, fee_amount=sat_to_btc(fee_sat) if fee_sat and fee_on_top else None,
        counterparty=leg.counterparty if not leg.counterparty.startswith("output:") else "",
        counterparty_name=cp_name, is_internal=leg.is_internal, event_type=event_type, summary=summary,
        details={**common, "amount_sat": leg.amount_sat, "fee_sat": fee_sat or 0, "counterparties": leg.recipients},
    )
