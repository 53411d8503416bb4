"""Follow smart money: buy tokens that smart-money whales are net buying, sell on reversal.

Data: ``whales.models.SmartMoneyFlow`` rows (net USD flow per token among whales scoring at least the
flows threshold; see ``whales.analytics.flows``), read through a ``FlowSource``. The default source reads the
stored rows: the newest collection of the configured ``window`` at or before ``now`` and no older
than ``max_flow_age_minutes``; with no fresh collection the strategy emits nothing (and logs it).

Rules, per token of that collection (``net`` = its ``net_flow_usd``, ``held`` = this strategy's
holding, see ``BaseStrategy.held``):

* entry: ``net >= min_net_flow_usd`` and ``buying_wallets >= min_buying_wallets`` -> a ``buy``
  signal sized ``order_usd`` (or ``order_percent`` of the portfolio value) / price, rounded down
  to 1e-8. Skipped (recorded, not ordered) when the strategy already holds the token (one entry per
  position), when the token has no fresh price (it cannot be sized), or when the portfolio value
  cannot be priced.
* exit (reversal): ``net < exit_below_usd`` and ``held > 0`` -> a ``sell`` of the whole holding.
  A token with no position and a negative flow is not a signal.
* a held token absent from the collection (no counted trade in the window) is left alone.

Key: ``sm:<collected_at as %Y%m%dT%H%M%S>:<window>:<token>:<side>``, so each collection is acted on once.

Params (``Strategy.params``; decimals as strings): ``window`` (1h|24h|7d|30d, default 24h),
``min_net_flow_usd`` (default "100000"), ``min_buying_wallets`` (default 1), ``exit_below_usd``
(default "0": any net selling), ``order_usd`` (fixed USD per entry; optional) or ``order_percent``
(of portfolio value, default "5"), ``max_flow_age_minutes`` (default 60), ``tokens`` (optional list:
only these tokens).
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial

from django.db.models import Max

from trading.models import OrderSide, StrategyKind
from trading.strategies.base import (
    BaseStrategy,
    Signal,
    StrategyParamsError,
    decimal_param,
    fmt,
    int_param,
    quantity_round,
)
from whales.models import FlowWindow, SmartMoneyFlow

logger = logging.getLogger(__name__)

FlowSource = Callable[[str, datetime, timedelta], list[SmartMoneyFlow]]
"""``flow_source(window, now, max_age) -> rows of ONE collection`` (all with the same
``collected_at``, at or before ``now`` and not older than ``max_age``), or [] when there is none."""

HUNDRED = Decimal(100)


def stored_flows(window: str, now: datetime, max_age: timedelta) -> list[SmartMoneyFlow]:
    """The newest stored collection of ``window`` at or before ``now``, within ``max_age`` (FlowSource)."""
    recent = SmartMoneyFlow.objects.filter(window=window, collected_at__lte=now, collected_at__gte=now - max_age)
    latest = recent.aggregate(at=Max("collected_at"))["at"]
    if latest is None:
        return []
    return list(recent.filter(collected_at=latest).order_by("token", "id"))


@dataclass(frozen=True)
class SmartMoneyParams:
    """Parsed params (module docstring): USD as Decimal, the flow age as a timedelta, tokens or None."""

    window: str
    min_net_flow_usd: Decimal
    min_buying_wallets: int
    exit_below_usd: Decimal
    order_usd: Decimal | None
    order_percent: Decimal
    max_flow_age: timedelta
    tokens: frozenset[str] | None


class FollowSmartMoney(BaseStrategy):
    """Enter on positive smart-money net flow above a threshold; exit on reversal (module docstring)."""

    kind = StrategyKind.FOLLOW_SMART_MONEY

    def __init__(self, *args, flow_source: FlowSource | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.flow_source = flow_source or stored_flows

    @classmethod
    def params_parse(cls, params: dict) -> SmartMoneyParams:
        """Validated params (module docstring). Raises: StrategyParamsError."""
        known = {"window", "min_net_flow_usd", "min_buying_wallets", "exit_below_usd", "order_usd", "order_percent",
                 "max_flow_age_minutes", "tokens"}
        unknown = sorted(set(params) - known)
        if unknown:
            raise StrategyParamsError(f"unknown parameter(s) {', '.join(unknown)}; expected {', '.join(sorted(known))}")
        window = params.get("window", FlowWindow.H24)
        if window not in FlowWindow.values:
            raise StrategyParamsError(f"window: must be one of {', '.join(FlowWindow.values)}, got {window!r}")
        order_percent = decimal_param(params, "order_percent", "5")
        if order_percent > HUNDRED:
            raise StrategyParamsError(f"order_percent: must be at most 100, got {order_percent}")
        tokens = params.get("tokens")
        if tokens is not None and (not isinstance(tokens, list) or not all(isinstance(t, str) and t for t in tokens)):
            raise StrategyParamsError("tokens: must be a list of token symbols")
        return SmartMoneyParams(
            window=window,
            min_net_flow_usd=decimal_param(params, "min_net_flow_usd", "100000", allow_zero=True),
            min_buying_wallets=int_param(params, "min_buying_wallets", 1),
            exit_below_usd=decimal_param(params, "exit_below_usd", "0", positive=False),
            order_usd=decimal_param(params, "order_usd", None),
            order_percent=order_percent,
            max_flow_age=timedelta(minutes=int_param(params, "max_flow_age_minutes", 60, minimum=1)),
            tokens=frozenset(tokens) if tokens is not None else None,
        )

    def generate_signals(self, now: datetime) -> list[Signal]:
        """Signals from the newest fresh flow collection (rules in the module docstring)."""
        p: SmartMoneyParams = self.params
        flows = [f for f in self.flow_source(p.window, now, p.max_flow_age) if p.tokens is None or f.token in p.tokens]
        if not flows:
            logger.info("trading.strategy.no_flows", extra={"strategy": self.strategy.pk, "window": p.window})
            return []
        held = self.held()
        signals: list[Signal] = []
        budget_usd: Decimal | None = None
        for flow in flows:
            stamp = f"sm:{flow.collected_at:%Y%m%dT%H%M%S}:{p.window}:{flow.token}"
            source = {"flow_id": flow.pk, "collected_at": flow.collected_at.isoformat(), "window": p.window,
                      "net_flow_usd": str(flow.net_flow_usd), "buying_wallets": flow.buying_wallets,
                      "selling_wallets": flow.selling_wallets, "min_score": str(flow.min_score)}
            holding = held.get(flow.token, Decimal(0))
            if flow.net_flow_usd >= p.min_net_flow_usd and flow.buying_wallets >= p.min_buying_wallets:
                if budget_usd is None:
                    budget_usd = self._entry_budget(now)
                signals.append(self._entry(flow, f"{stamp}:buy", source, holding, budget_usd, now))
            elif flow.net_flow_usd < p.exit_below_usd and holding > 0:
                signals.append(Signal(
                    key=f"{stamp}:sell", symbol=flow.token, side=OrderSide.SELL, quantity=holding, source=source,
                    reason=(f"reversal: smart-money net flow {fmt(flow.net_flow_usd)} USD ({p.window}) < "
                            f"{fmt(p.exit_below_usd)} USD; selling the holding of {fmt(holding)}")))
        return signals

    def _entry_budget(self, now: datetime) -> Decimal | None:
        """USD per entry: ``order_usd``, else ``order_percent`` of the portfolio value (None if unpriced)."""
        p: SmartMoneyParams = self.params
        if p.order_usd is not None:
            return p.order_usd
        value = self.portfolio_value(now)
        return None if value is None else value * p.order_percent / HUNDRED

    def _entry(self, flow: SmartMoneyFlow, key: str, source: dict, holding: Decimal, budget_usd: Decimal | None,
               now: datetime) -> Signal:
        p: SmartMoneyParams = self.params
        reason = (f"smart-money net flow {fmt(flow.net_flow_usd)} USD ({p.window}) >= {fmt(p.min_net_flow_usd)} USD "
                  f"with {flow.buying_wallets} buying wallet(s) >= {p.min_buying_wallets}")
        signal = partial(Signal, key=key, symbol=flow.token, side=OrderSide.BUY, source=source, reason=reason)
        if holding > 0:
            return signal(quantity=None,
                          skip_reason=f"already holding {fmt(holding)} {flow.token}: one entry per position")
        price = self.price_source(flow.token, now)
        if price is None:
            return signal(quantity=None,
                          skip_reason=f"missing_price: no fresh price for {flow.token} at {now.isoformat()}; "
                                      "cannot size the order")
        if budget_usd is None:
            return signal(quantity=None,
                          skip_reason="missing_price: the portfolio value cannot be priced; cannot size the order")
        quantity = quantity_round(budget_usd / price)
        if quantity <= 0:
            return signal(quantity=None,
                          skip_reason=f"order size {budget_usd} USD at {price} USD rounds to 0 {flow.token}")
        return signal(quantity=quantity)

