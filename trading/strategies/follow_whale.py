"""Follow a whale: mirror one whale's buys and sells, scaled to the account.

Data: the whale's ``whales.models.Trade`` rows with ``block_time`` in
(max(strategy.started_at, now - lookback_hours), now], not internal, with an amount, in a trading
direction, and no signal recorded yet (a trade is acted on once, by its key); the lookback lets a
trade ingested late (after the run that covered its block time) still be mirrored.

Mapping: ``buy`` and ``long`` (open long) -> buy; ``sell`` and ``close_long`` -> sell; ``short`` and
``close_short`` are recorded as skipped (the paper account is long-only: no short selling).

Scaling: quantity = the whale's ``amount_base`` x ratio, rounded down to 1e-8, where ratio is
``scale`` when given as a number, else (``scale`` = "portfolio", the default) the account's portfolio
value / the whale's portfolio value at ``now`` (its newest daily WalletMetricsDaily row on or before
``now``'s date, else its current WalletMetrics; USD). A sell is capped at this strategy's holding
(``BaseStrategy.held``); with nothing held it is skipped. Unsizable signals (no whale value, no
account value) are skipped with the reason.

Key: ``fw:<trade id>``. Params (``Strategy.params``): ``whale_id`` (required), ``scale``
("portfolio" or a decimal string > 0), ``lookback_hours`` (default 24).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from trading.models import OrderSide, StrategyKind, StrategySignal
from trading.strategies.base import (
    BaseStrategy,
    Signal,
    StrategyParamsError,
    decimal_param,
    fmt,
    int_param,
    quantity_round,
)
from whales.models import Direction, Trade, WalletMetrics, WalletMetricsDaily, Whale

# Keyed by the stored direction string (Trade.direction is a CharField; Direction members are those strings).
SIDES: dict[str, OrderSide] = {
    Direction.BUY: OrderSide.BUY, Direction.LONG: OrderSide.BUY,
    Direction.SELL: OrderSide.SELL, Direction.CLOSE_LONG: OrderSide.SELL,
}
SHORT_DIRECTIONS = (Direction.SHORT, Direction.CLOSE_SHORT)


@dataclass(frozen=True)
class FollowWhaleParams:
    """Parsed params: the whale's id, a fixed scale (None = by portfolio values), the trade lookback."""

    whale_id: int
    scale: Decimal | None  # None = scale by portfolio values
    lookback: timedelta


def whale_portfolio_value(*, whale_id: int, when: datetime) -> Decimal | None:
    """The whale's portfolio value (USD) as of ``when``: its newest daily metrics row on or before
    ``when``'s UTC date, else its current metrics; None when neither has a value."""
    daily = (WalletMetricsDaily.objects.filter(whale_id=whale_id, date__lte=when.date(),
                                               portfolio_value_usd__isnull=False)
             .order_by("-date").values_list("portfolio_value_usd", flat=True).first())
    if daily is not None:
        return daily
    return (WalletMetrics.objects.filter(whale_id=whale_id, portfolio_value_usd__isnull=False)
            .values_list("portfolio_value_usd", flat=True).first())


class FollowWhale(BaseStrategy):
    """Mirror one whale's trades, scaled to the account (module docstring)."""

    kind = StrategyKind.FOLLOW_WHALE

    @classmethod
    def params_parse(cls, params: dict) -> FollowWhaleParams:
        """Validated params (module docstring). Raises: StrategyParamsError."""
        known = {"whale_id", "scale", "lookback_hours"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise StrategyParamsError(f"unknown parameter(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
        if "whale_id" not in params:
            raise StrategyParamsError("whale_id: required (the id of the whale to follow)")
        whale_id = int_param(params, "whale_id", 0, minimum=1)
        if not Whale.objects.filter(pk=whale_id).exists():
            raise StrategyParamsError(f"whale_id: no whale {whale_id}")
        scale_raw = params.get("scale", "portfolio")
        scale = None if scale_raw == "portfolio" else decimal_param(params, "scale", None)
        return FollowWhaleParams(whale_id=whale_id, scale=scale,
                                 lookback=timedelta(hours=int_param(params, "lookback_hours", 24, minimum=1)))

    def generate_signals(self, now: datetime) -> list[Signal]:
        """One signal per trade of the whale in the window, oldest first (module docstring)."""
        p: FollowWhaleParams = self.params
        since = max(self.strategy.started_at, now - p.lookback)
        # Trades whose signal is already recorded are left out here (the runner would skip them anyway).
        recorded = StrategySignal.objects.filter(
            strategy_id=self.strategy.pk, key=Concat(Value("fw:"), Cast(OuterRef("pk"), CharField())))
        trades = list(Trade.objects.filter(
            whale_id=p.whale_id, block_time__gt=since, block_time__lte=now, is_internal=False,
            amount_base__gt=0, direction__in=[*SIDES, *SHORT_DIRECTIONS],
        ).exclude(Exists(recorded)).order_by("block_time", "id"))
        if not trades:
            return []
        held = self.held()
        ratio, ratio_note = self._ratio(now)
        signals = []
        for trade in trades:
            symbol = trade.base_asset
            source = {"trade_id": trade.pk, "whale_id": p.whale_id, "tx_hash": trade.tx_hash,
                      "direction": trade.direction, "amount_base": str(trade.amount_base),
                      "block_time": trade.block_time.isoformat(), "ratio": str(ratio) if ratio is not None else None}
            key = f"fw:{trade.pk}"
            reason = f"whale {p.whale_id} {trade.direction} {fmt(trade.amount_base)} {symbol} (tx {trade.tx_hash})"
            if trade.direction in SHORT_DIRECTIONS:
                signals.append(Signal(key=key, symbol=symbol, side=OrderSide.SELL, quantity=None, source=source,
                                      reason=reason, skip_reason="short exposure is not mirrored: the paper "
                                                                 "account is long-only"))
                continue
            side = SIDES[trade.direction]
            if ratio is None:
                signals.append(Signal(key=key, symbol=symbol, side=side, quantity=None, source=source, reason=reason,
                                      skip_reason=ratio_note))
                continue
            quantity = quantity_round(trade.amount_base * ratio)
            holding = held.get(symbol, Decimal(0))
            skip = ""
            if side == OrderSide.SELL:
                if holding <= 0:
                    skip = f"no position to sell: this strategy holds no {symbol}"
                elif quantity > holding:
                    quantity = holding
            if not skip and quantity <= 0:
                skip = f"scaled quantity {fmt(trade.amount_base)} x {fmt(ratio)} rounds to 0 {symbol}"
            signals.append(Signal(key=key, symbol=symbol, side=side, quantity=None if skip else quantity,
                                  source=source, reason=f"{reason}; scaled x {fmt(ratio)} ({ratio_note})",
                                  skip_reason=skip, price_usd=trade.price_usd))
            # Later signals of this run see the holding this one will create or remove.
            if not skip:
                held[symbol] = holding + quantity if side == OrderSide.BUY else holding - quantity
        return signals

    def _ratio(self, now: datetime) -> tuple[Decimal | None, str]:
        """(scale ratio, how it was obtained) or (None, why it cannot be)."""
        p: FollowWhaleParams = self.params
        if p.scale is not None:
            return p.scale, "fixed scale"
        whale_value = whale_portfolio_value(whale_id=p.whale_id, when=now)
        if not whale_value or whale_value <= 0:
            return None, f"whale {p.whale_id} has no portfolio value to scale by"
        account_value = self.portfolio_value(now)
        if account_value is None:
            return None, "missing_price: the account's portfolio value cannot be priced"
        return account_value / whale_value, (f"account value {account_value:.2f} USD / whale value "
                                             f"{whale_value:.2f} USD")
