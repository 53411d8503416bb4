"""Turn Hyperliquid Info API answers into whale activities and positions (pure: no ORM, no I/O).

Fills (``userFills`` / ``userFillsByTime`` items: coin, px, sz, side, dir, closedPnl, startPosition,
hash, oid, time, fee, tid?):
- ``dir`` maps to the trade direction: ``Open Long`` -> long, ``Close Long`` -> close_long,
  ``Open Short`` -> short, ``Close Short`` -> close_short; spot ``Buy``/``Sell`` -> buy/sell. A
  flip (``Long > Short``, ``Short > Long``) is the close of the whole starting position
  (|startPosition|) and the open of the rest (sz - |startPosition|): two trades. Any other ``dir``
  (e.g. liquidations) maps by ``side``: B -> buy, A -> sell, kept with the original ``dir`` in details.
- Key: the fill's ``tid`` when the API gives one, otherwise (older fills, like the recorded ones)
  hash, oid, time, px, sz, side and startPosition together. ``tx_hash`` is the fill's hash and
  ``log_index`` a stable 31-bit digest of the key (a flip's opening leg: of the key + "open"), so a
  fill is stored once however often it is read.
- Amounts: ``amount_base`` = size in coins, ``price_usd`` = px, ``value_usd`` = ``amount_quote`` =
  notional px x size (USDC, taken as 1 USD), ``fee_usd`` = fee, ``pnl_usd`` = the exchange's own
  ``closedPnl`` (Hyperliquid computes it against the position's average entry price), on the
  closing trade. A flip's fee is split between its two trades in proportion to their sizes.
- Events: ``perp_trade`` when the notional reaches the threshold: position opened (from 0),
  increased, reduced or closed (to 0), with direction and notional in the summary.

Ledger updates (``userNonFundingLedgerUpdates``): ``deposit`` -> a deposit trade of USDC (from the
bridge), ``withdraw`` -> a withdraw trade (fee in ``fee``); transfers between the account's own spot
and perp balances (``accountClassTransfer``) move nothing and are skipped; the rest are skipped
and counted.

Positions (``clearinghouseState.assetPositions``): see ``positions_of``.
"""

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

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


class BadRecord(ValueError):
    """A fill, ledger update or position the parser cannot use (logged and skipped by the caller)."""


def _dec(value: object, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise BadRecord(f"{field}: not a number: {value!r}") from exc


def _usd(value: Decimal) -> Decimal:
    return q_usd(value)


def ms_time(ms: object) -> datetime:
    """An API time in milliseconds as aware UTC. Raises: BadRecord."""
    try:
        return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise BadRecord(f"time: {ms!r}") from exc


def fill_key(fill: dict) -> str:
    """The fill's identity: ``tid:<tid>`` when given, else its identifying fields joined."""
    if fill.get("tid") is not None:
        return f"tid:{fill['tid']}"
    return "|".join(str(fill.get(k)) for k in ("hash", "oid", "time", "px", "sz", "side", "startPosition"))


def fill_log_index(fill: dict, leg: str = "") -> int:
    """A stable 31-bit digest of ``fill_key`` (Trade.log_index is a 32-bit integer); a flip's opening
    leg (``leg="open"``) has its own, so its trade and event have keys of their own."""
    digest = hashlib.blake2b((fill_key(fill) + (f"|{leg}" if leg else "")).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFFFFFF


def _movement(direction: str, start: Decimal, size: Decimal) -> str:
    """opened / increased / reduced / closed, from the signed starting position and this trade."""
    if direction in (Direction.LONG, Direction.SHORT):
        return "opened" if start == 0 else "increased"
    return "closed" if abs(start) == size else "reduced"


def fill_activities(fill: dict, whale: WhaleRef) -> list[WhaleActivity]:
    """The 1 (or 2, for a flip) activities of one fill (module docstring). Raises: BadRecord."""
    try:
        coin, dir_text, side, tx_hash = str(fill["coin"]), str(fill["dir"]), fill["side"], str(fill["hash"])
        px, size = _dec(fill["px"], "px"), _dec(fill["sz"], "sz")
        start = _dec(fill.get("startPosition", "0"), "startPosition")
        closed_pnl = _dec(fill.get("closedPnl", "0"), "closedPnl")
        fee = _dec(fill.get("fee", "0"), "fee")
        when = ms_time(fill["time"])
    except KeyError as exc:
        raise BadRecord(f"fill without {exc}") from exc
    if size <= 0 or px <= 0:
        raise BadRecord(f"fill {tx_hash}: size {size} / price {px} must be positive")
    if dir_text in FLIPS:
        close_dir, open_dir = FLIPS[dir_text]
        close_size = min(abs(start), size)
        legs = [(close_dir, close_size, closed_pnl, start), (open_dir, size - close_size, None, Decimal(0))]
        legs = [leg for leg in legs if leg[1] > 0]
    elif dir_text in DIRS:
        legs = [(DIRS[dir_text], size, closed_pnl if DIRS[dir_text] in (Direction.CLOSE_LONG, Direction.CLOSE_SHORT)
                 else None, start)]
    elif side in ("B", "A"):
        legs = [(Direction.BUY if side == "B" else Direction.SELL, size, closed_pnl or None, start)]
    else:
        raise BadRecord(f"fill {tx_hash}: unknown dir {dir_text!r} and side {side!r}")
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
            whale_id=whale.id, chain=Chain.HYPERLIQUID, block_time=when, block_number=None, block_hash="",
            tx_hash=tx_hash, log_index=log_index, source=TradeSource.HYPERLIQUID, platform=PLATFORM,
            direction=direction, base_asset=coin, quote_asset=QUOTE, amount_raw=None, amount_base=leg_size,
            amount_quote=notional, price_usd=px, value_usd=notional, fee_usd=leg_fee,
            pnl_usd=None if pnl is None else _usd(pnl), counterparty="", is_internal=False,
            event_type=EventType.PERP_TRADE if is_perp else "", summary=summary,
            details={"dir": dir_text, "side": side, "oid": fill.get("oid"), "tid": fill.get("tid"),
                     "start_position": str(start), "fill_size": str(size), "crossed": fill.get("crossed"),
                     "movement": movement, "fill_key": fill_key(fill), "pnl_method": "exchange_closedPnl"},
        ))
    return activities


def ledger_activity(update: dict, whale: WhaleRef) -> WhaleActivity | None:
    """A deposit or withdrawal trade from one ledger update, or None for an update that moves no
    money in or out of the account (module docstring). Raises: BadRecord."""
    try:
        delta, tx_hash, when = update["delta"], str(update["hash"]), ms_time(update["time"])
        kind = delta["type"]
    except (KeyError, TypeError) as exc:
        raise BadRecord(f"ledger update without {exc}") from exc
    if kind not in ("deposit", "withdraw"):
        return None
    amount = _dec(delta.get("usdc"), "usdc")
    fee = _dec(delta.get("fee", "0"), "fee")
    direction = Direction.DEPOSIT if kind == "deposit" else Direction.WITHDRAW
    verb = "deposited" if kind == "deposit" else "withdrew"
    value = _usd(amount)
    who = whale.name or whale.address
    return WhaleActivity(
        whale_id=whale.id, chain=Chain.HYPERLIQUID, block_time=when, block_number=None, block_hash="",
        tx_hash=tx_hash, log_index=-1, source=TradeSource.EXCHANGE_FLOW, platform=PLATFORM, direction=direction,
        base_asset=QUOTE, quote_asset="", amount_raw=None, amount_base=amount, price_usd=Decimal(1),
        value_usd=value, fee_usd=_usd(fee) if fee else None, counterparty="", is_internal=False,
        event_type=EventType.EXCHANGE_FLOW, summary=f"{who} {verb} {amount.normalize():,f} USDC (${value:,.2f}) "
        f"{'to' if kind == 'deposit' else 'from'} Hyperliquid",
        details={"ledger_type": kind, "nonce": delta.get("nonce")},
    )


@dataclass(frozen=True)
class Position:
    """One open perp position from ``clearinghouseState`` (USD = USDC).

    ``size`` is signed (negative = short); ``mark_price`` = position value / |size|;
    ``liquidation_distance_percent`` = how far the mark price may move against the position before
    liquidation: (mark - liq) / mark x 100 for a long, (liq - mark) / mark x 100 for a short; None
    without a liquidation price (Hyperliquid gives none when the account cannot be liquidated).
    """

    coin: str
    size: Decimal
    entry_price: Decimal
    position_value: Decimal
    unrealized_pnl: Decimal
    return_on_equity: Decimal
    leverage_type: str
    leverage: Decimal
    liquidation_price: Decimal | None
    liquidation_distance_percent: Decimal | None
    margin_used: Decimal

    @property
    def mark_price(self) -> Decimal:
        return self.position_value / abs(self.size)


def positions_of(state: dict) -> tuple[list[Position], Decimal]:
    """(open positions, account value in USD) of a ``clearinghouseState`` answer. Raises: BadRecord."""
    try:
        account_value = _dec(state["marginSummary"]["accountValue"], "accountValue")
        items = state["assetPositions"]
    except (KeyError, TypeError) as exc:
        raise BadRecord(f"clearinghouseState without {exc}") from exc
    positions = []
    for item in items:
        try:
            p = item["position"]
            size = _dec(p["szi"], "szi")
            if size == 0:
                continue
            value = _dec(p["positionValue"], "positionValue")
            liq = None if p.get("liquidationPx") is None else _dec(p["liquidationPx"], "liquidationPx")
            mark = value / abs(size)
            distance = None
            if liq is not None and mark:
                distance = ((mark - liq) if size > 0 else (liq - mark)) / mark * 100
                distance = q_percent(distance)
            leverage = p.get("leverage") or {}
            positions.append(Position(
                coin=str(p["coin"]), size=size, entry_price=_dec(p["entryPx"], "entryPx"), position_value=value,
                unrealized_pnl=_dec(p["unrealizedPnl"], "unrealizedPnl"),
                return_on_equity=_dec(p["returnOnEquity"], "returnOnEquity"),
                leverage_type=str(leverage.get("type", "")), leverage=_dec(leverage.get("value", 0), "leverage"),
                liquidation_price=liq, liquidation_distance_percent=distance,
                margin_used=_dec(p.get("marginUsed", "0"), "marginUsed"),
            ))
        except (KeyError, TypeError) as exc:
            raise BadRecord(f"position without {exc}") from exc
    return positions, account_value
