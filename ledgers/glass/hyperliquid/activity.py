"""Turn Hyperliquid Info API records into whale activities (pure: no ORM, no I/O).

The records are the client's dataclasses (``types.py``: ``Fill``, ``LedgerUpdate``, ``Position``); the API's
raw keys are read only by the client.

Fills:
- ``dir`` maps to the trade direction: ``Open Long`` -> long, ``Close Long`` -> close_long,
  ``Open Short`` -> short, ``Close Short`` -> close_short; spot ``Buy``/``Sell`` -> buy/sell. A
  flip (``Long > Short``, ``Short > Long``) is the close of the whole starting position
  (|start_position|) and the open of the rest (quantity - |start_position|): two trades. Any other ``dir``
  (e.g. liquidations) maps by ``side`` (buy / sell), kept with the original ``dir`` in details.
- Key: the fill's ``key`` (its ``tid`` when the API gives one, otherwise, for older fills like the
  recorded ones, hash, oid, time, px, sz, side and startPosition together). ``tx_hash`` is the fill's
  hash and ``log_index`` a stable 31-bit digest of the key (a flip's opening leg: of the key + "open"), so
  a fill is stored once however often it is read.
- Amounts: ``amount_base`` = quantity in coins, ``price_usd`` = price, ``value_usd`` = ``amount_quote`` =
  notional price x quantity (USDC, taken as 1 USD), ``fee_usd`` = fee, ``pnl_usd`` = the exchange's own
  realized P&L (``closedPnl``: Hyperliquid computes it against the position's average entry price), on the
  closing trade. A flip's fee is split between its two trades in proportion to their sizes.
- Events: ``perp_trade`` when the notional reaches the threshold: position opened (from 0),
  increased, reduced or closed (to 0), with direction and notional in the summary.

Ledger updates: ``deposit`` -> a deposit trade of USDC (from the bridge), ``withdraw`` -> a withdraw
trade (fee in ``fee_usd``); transfers between the account's own spot and perp balances
(``accountClassTransfer``) move nothing and are skipped; the rest are skipped too.

Positions: the liquidation distance, ``position_liquidation_distance_percent``.
"""

import hashlib
from decimal import Decimal

from ledgers.glass.hyperliquid.types import Fill, LedgerUpdate, Position
from ledgers.refs import WhaleRef
from whales.chains import Chain
from whales.models import Direction, EventType, TradeSource
from whales.money import q_percent, q_usd
from whales.types import WhaleActivity

PLATFORM = "hyperliquid"
QUOTE = "USDC"
DIRS = {
    "Open Long": Direction.LONG, "Close Long": Direction.CLOSE_LONG, "Open Short": Direction.SHORT,
    "Close Short": Direction.CLOSE_SHORT, "Buy": Direction.BUY, "Sell": Direction.SELL,
}
FLIPS = {
    "Long > Short": (Direction.CLOSE_LONG, Direction.SHORT),
    "Short > Long": (Direction.CLOSE_SHORT, Direction.LONG),
}


# Trade details keep Hyperliquid's own side code (B / A), as stored since the first version.
SIDE_CODES = {"buy": "B", "sell": "A"}


def _usd(value: Decimal) -> Decimal:
    return q_usd(value)


def fill_log_index(fill: Fill, leg: str = "") -> int:
    """A stable 31-bit digest of the fill's ``key`` (Trade.log_index is a 32-bit integer); a flip's opening
    leg (``leg="open"``) has its own, so its trade and event have keys of their own."""
    digest = hashlib.blake2b((fill.key + (f"|{leg}" if leg else "")).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


def _movement(direction: str, start: Decimal, size: Decimal) -> str:
    """opened / increased / reduced / closed, from the signed starting position and this trade."""
    if direction in (Direction.LONG, Direction.SHORT):
        return "opened" if start == 0 else "increased"
    return "closed" if abs(start) == size else "reduced"


def fill_activities(fill: Fill, whale: WhaleRef) -> list[WhaleActivity]:
    """The 1 (or 2, for a flip) activities of one fill (module docstring)."""
    dir_text, size, start, closed_pnl, fee = (fill.dir, fill.quantity, fill.start_position, fill.realized_pnl_usd,
                                             fill.fee_usd)
    if dir_text in FLIPS:
        close_dir, open_dir = FLIPS[dir_text]
        close_size = min(abs(start), size)
        legs = [(close_dir, close_size, closed_pnl, start), (open_dir, size - close_size, None, Decimal(0))]
        legs = [leg for leg in legs if leg[1] > 0]
    elif dir_text in DIRS:
        legs = [(DIRS[dir_text], size, closed_pnl if DIRS[dir_text] in (Direction.CLOSE_LONG, Direction.CLOSE_SHORT)
                 else None, start)]
    else:
        legs = [(Direction.BUY if fill.side == "buy" else Direction.SELL, size, closed_pnl or None, start)]
    px, coin = fill.price_usd, fill.symbol
    activities = []
    for n, (direction, leg_size, pnl, leg_start) in enumerate(legs):
        log_index = fill_log_index(fill, "open" if dir_text in FLIPS and n == 1 else "")
        notional = _usd(px * leg_size)
        leg_fee = _usd(fee * leg_size / size) if fee else None
        is_perp = direction not in (Direction.BUY, Direction.SELL)
        movement = _movement(direction, leg_start, leg_size) if is_perp else direction
        side_word = "long" if direction in (Direction.LONG, Direction.CLOSE_LONG) else "short"
        what = f"{movement} {side_word}" if is_perp else ("bought" if direction == Direction.BUY else "sold")
        who = whale.name or whale.address
        summary = (f"{who} {what} {leg_size.normalize():,f} {coin} (${notional:,.2f}) at {px.normalize():f} "
                   "on Hyperliquid")
        if pnl is not None and pnl != 0:
            summary += f", closed P&L ${pnl:,.2f}"
        activities.append(WhaleActivity(
            whale_id=whale.id, chain=Chain.HYPERLIQUID, block_time=fill.block_time, block_number=None, block_hash="",
            tx_hash=fill.tx_hash, log_index=log_index, source=TradeSource.HYPERLIQUID, platform=PLATFORM,
            direction=direction, base_asset=coin, quote_asset=QUOTE, amount_raw=None, amount_base=leg_size,
            amount_quote=notional, price_usd=px, value_usd=notional, fee_usd=leg_fee,
            pnl_usd=None if pnl is None else _usd(pnl), counterparty="", is_internal=False,
            event_type=EventType.PERP_TRADE if is_perp else "", summary=summary,
            details={"dir": dir_text, "side": SIDE_CODES[fill.side], "oid": fill.oid, "tid": fill.tid,
                     "start_position": str(start), "fill_size": str(size), "crossed": fill.crossed,
                     "movement": movement, "fill_key": fill.key, "pnl_method": "exchange_closedPnl"},
        ))
    return activities


def ledger_activity(update: LedgerUpdate, whale: WhaleRef) -> WhaleActivity | None:
    """A deposit or withdrawal trade from one ledger update, or None for an update that moves no
    money in or out of the account (module docstring)."""
    kind = update.delta_type
    if kind not in ("deposit", "withdraw") or update.amount_usdc is None:
        return None
    amount, fee = update.amount_usdc, update.fee_usd
    direction = Direction.DEPOSIT if kind == "deposit" else Direction.WITHDRAW
    verb = "deposited" if kind == "deposit" else "withdrew"
    value = _usd(amount)
    who = whale.name or whale.address
    return WhaleActivity(
        whale_id=whale.id, chain=Chain.HYPERLIQUID, block_time=update.block_time, block_number=None, block_hash="",
        tx_hash=update.tx_hash, log_index=-1, source=TradeSource.EXCHANGE_FLOW, platform=PLATFORM,
        direction=direction, base_asset=QUOTE, quote_asset="", amount_raw=None, amount_base=amount,
        price_usd=Decimal(1), value_usd=value, fee_usd=_usd(fee) if fee else None, counterparty="",
        is_internal=False, event_type=EventType.EXCHANGE_FLOW,
        summary=f"{who} {verb} {amount.normalize():,f} USDC (${value:,.2f}) "
        f"{'to' if kind == 'deposit' else 'from'} Hyperliquid",
        details={"ledger_type": kind, "nonce": update.nonce},
    )


def position_liquidation_distance_percent(position: Position) -> Decimal | None:
    """How far (in %) the mark price may move against ``position`` before it is liquidated:
    (mark - liq) / mark x 100 for a long, (liq - mark) / mark x 100 for a short, quantized by q_percent;
    None without a liquidation price (Hyperliquid gives none when the account cannot be liquidated).
    The mark price is the position value / |size|."""
    liq = position.liquidation_price_usd
    mark = position.mark_price_usd
    if liq is None or not mark:
        return None
    return q_percent(((mark - liq) if position.size > 0 else (liq - mark)) / mark * 100)
