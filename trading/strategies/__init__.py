"""Strategies: the interface (``base``), the implementations and the registry by ``Strategy.kind``.

Import the runner and scheduling services from ``trading.strategies.services``.
"""

from trading.models import Strategy
from trading.selectors import PriceSource
from trading.strategies.base import BaseStrategy, Signal, StrategyParamsError
from trading.strategies.follow_whale import FollowWhale
from trading.strategies.smart_money import FollowSmartMoney

STRATEGIES: dict[str, type[BaseStrategy]] = {cls.kind: cls for cls in (FollowSmartMoney, FollowWhale)}

__all__ = ["STRATEGIES", "BaseStrategy", "FollowSmartMoney", "FollowWhale", "Signal", "StrategyParamsError",
           "strategy_impl"]


def strategy_impl(strategy: Strategy, *, price_source: PriceSource | None = None, **kwargs) -> BaseStrategy:
    """The implementation of ``strategy`` (by its kind) with its params parsed.

    Raises: StrategyParamsError for an unknown kind or invalid params."""
    cls = STRATEGIES.get(strategy.kind)
    if cls is None:
        raise StrategyParamsError(f"kind: unknown strategy kind {strategy.kind!r}; expected {', '.join(STRATEGIES)}")
    return cls(strategy, price_source=price_source, **kwargs)
