"""Turn Ethereum blocks and receipts into whale activities: transfers, swaps and exchange flows.

Pure functions over ``types.py`` dataclasses (no ORM, no I/O), so they are tested directly on the
recorded blocks. The rules, in the order they apply to each successful transaction:

1. Movements: the transaction's ETH value (``log_index`` -1; to the created contract for a
   creation), every ERC-20 ``Transfer(from, to, value)`` log (3 topics, one 32-byte word of
   data; ERC-721 transfers have 4 topics and are skipped), and, where the node gives call traces,
   the ETH its inner calls moved (``log_index`` -2 - k for the k-th). Reverted transactions move
   nothing.
2. Swaps: if the transaction has a Uniswap V2- or V3-style ``Swap`` log and the whale's net
   movement in it is exactly one asset out and one asset in, it is ONE trade: ``buy`` or ``sell``
   of the base asset against the quote asset (quote = a stablecoin, else ETH/WETH, else the asset
   given up). ETH a router pays out through an internal call is not in the receipts: where the node
   gives call traces (``RawBlock.internal_transfers``) it is a movement like any other (exact);
   without traces, when the whale sent the transaction and only gave something up, the WETH the
   transaction unwrapped (WETH ``Withdrawal`` logs not by the whale) stands in for the ETH it
   received (a stated heuristic). ``log_index``
   is the first Swap log's; ``platform`` is ``uniswap_v3``/``uniswap_v2`` (pool interface, forks
   included), ``uniswap`` when both kinds are present.
3. Otherwise every movement touching a whale is its own trade: to/from an address of the whale's
   own entity = internal (``send``/``receive``, ``is_internal``, no event); to an exchange
   KnownAddress = ``deposit``, from one = ``withdraw`` (source ``exchange_flow``, platform = the
   exchange's entity); else ``send``/``receive``.
4. Amounts: ``value_raw / 10**decimals`` of the seeded Asset (exact Decimal); a token without an
   Asset keeps ``amount_base`` None, ``base_asset`` = its contract, ``value_usd`` None. USD values
   use the price at block time (``ledgers.exchange.market`` rules), rounded half-even to 8 decimals.
5. Fee: gas_used x effective_gas_price in ETH, valued at block time, on the FIRST trade of the
   whale that sent the transaction (so summing fee_usd counts each fee once).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ledgers.exchange.market.selectors import AssetInfo, PriceBook
from ledgers.glass.ethereum.types import InternalTransfer, RawBlock, RawLog, RawReceipt, RawTransaction
from ledgers.refs import Counterparty, WhaleRef
from whales.chains import Chain
from whales.models import AddressCategory, Direction, EventType, TradeSource
from whales.money import from_base_units, q_price, q_usd
from whales.types import WhaleActivity

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
UNISWAP_V2_SWAP_TOPIC = "0xd78ad95fa46c994b6551d0da85fc275fe613ce37657fb8d5e3d130840159d822"
UNISWAP_V3_SWAP_TOPIC = "0xc42079f94a6350d7e6235f29174924f928cc2ac818eb64fed8004e115fbcca67"
WETH_WITHDRAWAL_TOPIC = "0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65"
WETH_ADDRESS = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
INTERNAL_LOG_INDEX = -2  # the k-th traced inner ETH movement of a transaction has log_index -2 - k
NATIVE = ""  # asset key of ETH itself


@dataclass
class ParseContext:
    """Lookups for one batch: whales and known addresses by address, assets by contract, prices."""

    whales: dict[str, WhaleRef]
    known: dict[str, Counterparty]
    assets: dict[str, AssetInfo]
    prices: PriceBook
    chain: str = Chain.ETHEREUM
    fee_charged: set = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Movement:
    """One asset movement inside a transaction (ETH value or an ERC-20 Transfer)."""

    from_address: str
    to_address: str
    token_address: str  # "" = ETH
    value_raw: int
    log_index: int


def _word_address(topic: str) -> str:
    return "0x" + topic[-40:]


def transfer_movement(log: RawLog) -> Movement | None:
    """The ERC-20 Transfer in ``log``, or None when it is not one (other event, ERC-721, bad data)."""
    if len(log.topics) != 3 or log.topics[0] != TRANSFER_TOPIC or len(log.data) != 66:
        return None
    return Movement(_word_address(log.topics[1]), _word_address(log.topics[2]), log.address,
                    int(log.data, 16), log.log_index)


def tx_movements(tx: RawTransaction, receipt: RawReceipt,
                 internal: Iterable[InternalTransfer] = ()) -> list[Movement]:
    """Every movement of a successful transaction: ETH value first, then Transfer logs in log order, then
    the ETH of its inner calls (from call traces) in call order."""
    if receipt.status != 1:
        return []
    movements = []
    if tx.value_wei:
        movements.append(Movement(tx.from_address, tx.to_address or receipt.contract_address, NATIVE, tx.value_wei, -1))
    for log in receipt.logs:
        movement = transfer_movement(log)
        if movement is not None:
            movements.append(movement)
    movements += [Movement(t.from_address, t.to_address, NATIVE, t.value_wei, INTERNAL_LOG_INDEX - t.index)
                  for t in internal]
    return movements


def internal_by_tx(block: RawBlock) -> dict[str, list[InternalTransfer]]:
    """``block.internal_transfers`` grouped by transaction (empty without traces)."""
    grouped: dict[str, list[InternalTransfer]] = {}
    for transfer in block.internal_transfers or ():
        grouped.setdefault(transfer.tx_hash, []).append(transfer)
    return grouped


def counterparties_of(blocks: Iterable[RawBlock], whale_addresses: set[str]) -> set[str]:
    """Addresses that moved assets with a whale in ``blocks`` (to look up in KnownAddress once)."""
    found: set[str] = set()
    for block in blocks:
        internal = internal_by_tx(block)
        for tx, receipt in zip(block.transactions, block.receipts, strict=True):
            for m in tx_movements(tx, receipt, internal.get(tx.tx_hash, ())):
                if m.from_address in whale_addresses:
                    found.add(m.to_address)
                if m.to_address in whale_addresses:
                    found.add(m.from_address)
            if tx.from_address in whale_addresses and tx.to_address:
                found.add(tx.to_address)
    return found


class _Valuer:
    """Amount scaling and USD valuation for one block."""

    def __init__(self, ctx: ParseContext, block: RawBlock) -> None:
        self.ctx = ctx
        self.block = block

    def asset(self, token_address: str) -> AssetInfo | None:
        return self.ctx.assets.get(token_address)

    def symbol(self, token_address: str) -> str:
        asset = self.asset(token_address)
        return asset.symbol if asset else token_address

    def amount(self, token_address: str, value_raw: int) -> Decimal | None:
        asset = self.asset(token_address)
        return None if asset is None else from_base_units(value_raw, asset.decimals)

    def price(self, token_address: str) -> Decimal | None:
        asset = self.asset(token_address)
        return None if asset is None else self.ctx.prices.usd(asset, self.block.block_time)

    def usd(self, token_address: str, value_raw: int) -> Decimal | None:
        amount, price = self.amount(token_address, value_raw), self.price(token_address)
        if amount is None or price is None:
            return None
        return q_usd(amount * price)

    def fee_usd(self, receipt: RawReceipt) -> Decimal | None:
        return self.usd(NATIVE, receipt.gas_used * receipt.effective_gas_price)


def _fmt_amount(amount: Decimal | None, symbol: str) -> str:
    if amount is None:
        return f"an unknown amount of {symbol}"
    return f"{amount.normalize():,f} {symbol}"


def _fmt_usd(value: Decimal | None) -> str:
    return "" if value is None else f" (${value:,.2f})"


def block_activities(block: RawBlock, ctx: ParseContext) -> list[WhaleActivity]:
    """Every whale activity in ``block``, by the rules in this module's docstring.

    Shape: activities in transaction order, then log order; one per (whale, movement), or one per
    (whale, transaction) for a swap. Addresses and tx hashes lowercase; ``block_time`` aware UTC.
    """
    valuer = _Valuer(ctx, block)
    internal = internal_by_tx(block)
    traced = block.internal_transfers is not None
    activities: list[WhaleActivity] = []
    for tx, receipt in zip(block.transactions, block.receipts, strict=True):
        movements = tx_movements(tx, receipt, internal.get(tx.tx_hash, ()))
        involved = sorted({a for m in movements for a in (m.from_address, m.to_address) if a in ctx.whales})
        if not involved:
            continue
        swap_logs = [log for log in receipt.logs
                     if log.topics and log.topics[0] in (UNISWAP_V2_SWAP_TOPIC, UNISWAP_V3_SWAP_TOPIC)]
        for address in involved:
            whale = ctx.whales[address]
            swap = (_swap_activity(whale, address, tx, receipt, movements, swap_logs, valuer, traced=traced)
                    if swap_logs else None)
            if swap is not None:
                activities.append(swap)
                continue
            for m in movements:
                if m.from_address == m.to_address:
                    continue
                if m.from_address == address:
                    activities.append(_transfer_activity(whale, address, m, True, tx, receipt, valuer))
                elif m.to_address == address:
                    activities.append(_transfer_activity(whale, address, m, False, tx, receipt, valuer))
    return activities


def _fee_for(whale_address: str, tx: RawTransaction, receipt: RawReceipt, valuer: _Valuer
             ) -> tuple[Decimal | None, Decimal | None]:
    """(``fee_usd``, ``fee_amount``): gas used x effective gas price, in USD and in ETH, of the whale's first trade in a
    transaction it sent; None for every other trade (a fee is charged once)."""
    key = (tx.tx_hash, whale_address)
    if tx.from_address != whale_address or key in valuer.ctx.fee_charged:
        return None, None
    valuer.ctx.fee_charged.add(key)
    fee_wei = receipt.gas_used * receipt.effective_gas_price
    return valuer.fee_usd(receipt), from_base_units(fee_wei, 18)


def _transfer_activity(whale: WhaleRef, address: str, m: Movement, outgoing: bool, tx: RawTransaction,
                       receipt: RawReceipt, valuer: _Valuer) -> WhaleActivity:
    ctx = valuer.ctx
    counterparty = m.to_address if outgoing else m.from_address
    known = ctx.known.get(counterparty)
    other_whale = ctx.whales.get(counterparty)
    cp_entity = (known.entity_id if known else None) or (other_whale.entity_id if other_whale else None)
    cp_name = (known.name if known else "") or (other_whale.name if other_whale else "")
    is_internal = whale.entity_id is not None and cp_entity == whale.entity_id
    event_type: str  # "" = no event (an internal transfer)
    if not is_internal and known is not None and known.category == AddressCategory.EXCHANGE:
        direction = Direction.DEPOSIT if outgoing else Direction.WITHDRAW
        source, event_type = TradeSource.EXCHANGE_FLOW, EventType.EXCHANGE_FLOW
        platform = known.entity_slug or known.name
    else:
        direction = Direction.SEND if outgoing else Direction.RECEIVE
        source, platform = TradeSource.ONCHAIN, ""
        event_type = "" if is_internal else EventType.LARGE_TRANSFER
    symbol = valuer.symbol(m.token_address)
    amount = valuer.amount(m.token_address, m.value_raw)
    value_usd = valuer.usd(m.token_address, m.value_raw)
    verb = {Direction.SEND: "sent", Direction.RECEIVE: "received", Direction.DEPOSIT: "deposited",
            Direction.WITHDRAW: "withdrew"}[direction]
    preposition = "to" if outgoing else "from"
    who = whale.name or address
    summary = f"{who} {verb} {_fmt_amount(amount, symbol)}{_fmt_usd(value_usd)} {preposition} {cp_name or counterparty}"
    fee_usd, fee_amount = _fee_for(address, tx, receipt, valuer)
    return WhaleActivity(
        whale_id=whale.id, chain=ctx.chain, block_time=valuer.block.block_time, block_number=valuer.block.number,
        block_hash=valuer.block.block_hash, tx_hash=tx.tx_hash, log_index=m.log_index, source=source,
        platform=platform, direction=direction, base_asset=symbol, base_token_address=m.token_address,
        amount_raw=Decimal(m.value_raw), amount_base=amount, price_usd=valuer.price(m.token_address),
        value_usd=value_usd, fee_usd=fee_usd, fee_amount=fee_amount, counterparty=counterparty,
        counterparty_name=cp_name, is_internal=is_internal, event_type=event_type, summary=summary,
        details={"token_address": m.token_address, "value_raw": str(m.value_raw), "counterparty": counterparty},
    )


def _quote_rank(token_address: str, valuer: _Valuer) -> int:
    asset = valuer.asset(token_address)
    if asset is not None and asset.is_stablecoin:
        return 0
    if token_address in (NATIVE, WETH_ADDRESS):
        return 1
    return 2


def _swap_activity(whale: WhaleRef, address: str, tx: RawTransaction, receipt: RawReceipt,
                   movements: list[Movement], swap_logs: list[RawLog], valuer: _Valuer, *,
                   traced: bool = False) -> WhaleActivity | None:
    net: dict[str, int] = {}
    for m in movements:
        if m.from_address == address:
            net[m.token_address] = net.get(m.token_address, 0) - m.value_raw
        if m.to_address == address:
            net[m.token_address] = net.get(m.token_address, 0) + m.value_raw
    net = {token: value for token, value in net.items() if value}
    gave = [t for t, v in net.items() if v < 0]
    got = [t for t, v in net.items() if v > 0]
    if not traced and tx.from_address == address and len(gave) == 1 and not got and gave[0] != NATIVE:
        unwrapped = sum(
            int(log.data, 16) for log in receipt.logs
            if log.address == WETH_ADDRESS and len(log.topics) == 2 and log.topics[0] == WETH_WITHDRAWAL_TOPIC
            and _word_address(log.topics[1]) != address and len(log.data) == 66
        )
        if unwrapped:
            net[NATIVE] = unwrapped
            got = [NATIVE]
    if len(gave) != 1 or len(got) != 1:
        return None
    given, received = gave[0], got[0]
    # The quote is the asset the price is expressed in: stablecoin, then ETH/WETH, then what was given.
    if _quote_rank(received, valuer) < _quote_rank(given, valuer):
        base, quote, direction = given, received, Direction.SELL
    else:
        base, quote, direction = received, given, Direction.BUY
    base_raw, quote_raw = abs(net[base]), abs(net[quote])
    amount_base, amount_quote = valuer.amount(base, base_raw), valuer.amount(quote, quote_raw)
    value_usd = valuer.usd(quote, quote_raw)
    if value_usd is None:
        value_usd = valuer.usd(base, base_raw)
    price_usd = None
    if value_usd is not None and amount_base:
        price_usd = q_price(value_usd / amount_base)
    kinds = {log.topics[0] for log in swap_logs}
    platform = ("uniswap" if len(kinds) == 2 else
                "uniswap_v3" if UNISWAP_V3_SWAP_TOPIC in kinds else "uniswap_v2")
    router = tx.to_address
    known = valuer.ctx.known.get(router)
    base_symbol, quote_symbol = valuer.symbol(base), valuer.symbol(quote)
    verb = "bought" if direction == Direction.BUY else "sold"
    summary = (f"{whale.name or address} {verb} {_fmt_amount(amount_base, base_symbol)} for "
               f"{_fmt_amount(amount_quote, quote_symbol)}{_fmt_usd(value_usd)} on {platform}")
    fee_usd, fee_amount = _fee_for(address, tx, receipt, valuer)
    return WhaleActivity(
        whale_id=whale.id, chain=valuer.ctx.chain, block_time=valuer.block.block_time,
        block_number=valuer.block.number, block_hash=valuer.block.block_hash, tx_hash=tx.tx_hash,
        log_index=swap_logs[0].log_index, source=TradeSource.ONCHAIN, platform=platform, direction=direction,
        base_asset=base_symbol, base_token_address=base, quote_asset=quote_symbol, quote_token_address=quote,
        amount_raw=Decimal(base_raw), amount_base=amount_base, amount_quote=amount_quote, price_usd=price_usd,
        value_usd=value_usd, fee_usd=fee_usd, fee_amount=fee_amount, counterparty=router,
        counterparty_name=known.name if known else "", event_type=EventType.LARGE_SWAP, summary=summary,
        details={"base_raw": str(base_raw), "quote_raw": str(quote_raw), "swap_logs": len(swap_logs),
                 "router": router},
    )
