"""The strategy interface: a strategy turns stored data into signals; the runner acts on them.

A strategy implements ``generate_signals(now) -> list[Signal]`` and returns EVERY signal it sees at
``now``, including the ones it will not act on (``skip_reason`` set): nothing is dropped silently,
the runner (``trading.strategies.services.strategy_run``) records each one as a ``StrategySignal``
with its outcome. Signals carry a natural ``key``, so returning a signal again on a later run (or
the same run retried) is harmless: the runner acts on a key once.

Sizing helpers read the account's state through ``trading.selectors`` and prices through the
injected ``price_source`` (by default the account's venue, ``trading.venues.price_source_for``; the
backtest's accounts use stored market prices, evaluated at the simulated ``now``).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from typing import Any, ClassVar, overload

from trading.models import Account, Strategy, symbol_canonical
from trading.pnl import portfolio_value_usd
from trading.selectors import PriceSource, position_list, strategy_net_quantities
from trading.venues import price_source_for
from whales.errors import InvalidParameter

QUANTITY_STEP = Decimal("1e-8")
"""Strategy order quantities are rounded DOWN to 1e-8 asset units (never more than the signal's size)."""


class StrategyParamsError(InvalidParameter):
    """A strategy's ``params`` are invalid: 400 ``invalid_parameter``; the message names the parameter and
    what it needs."""


@dataclass(frozen=True)
class Signal:
    """One signal of a strategy at one run.

    ``key``: natural key, unique per strategy (<= 80 chars). ``symbol``: canonicalised (upper-case).
    ``side``: ``buy``|``sell``.
    ``quantity``: asset units (rounded down to 1e-8), None when it could not be sized (then
    ``skip_reason`` says why). ``reason``: why the strategy emitted it, with the numbers.
    ``source``: JSON-safe reference to the data behind it. ``skip_reason``: set when the strategy
    decided not to order; the runner records the signal as skipped with this reason.
    ``price_usd``: the price the signal saw (USD per unit; e.g. the whale's trade price), the reference of a live
    order's price band; None when the strategy has none.
    """

    key: str
    symbol: str
    side: str
    quantity: Decimal | None
    reason: str
    source: dict[str, Any] = field(default_factory=dict)
    skip_reason: str = ""
    price_usd: Decimal | None = None

    def __post_init__(self) -> None:
        # One spelling per symbol (trading.models.symbol_canonical), as orders and positions store it.
        object.__setattr__(self, "symbol", symbol_canonical(self.symbol))
        if len(self.key) > 80:
            raise ValueError(f"signal key longer than 80 characters: {self.key!r}")
        if self.quantity is None and not self.skip_reason:
            raise ValueError(f"signal {self.key!r} has neither a quantity nor a skip reason")


def quantity_round(quantity: Decimal) -> Decimal:
    """``quantity`` rounded down to ``QUANTITY_STEP`` (asset units)."""
    return quantity.quantize(QUANTITY_STEP, rounding=ROUND_DOWN)


def fmt(value: Decimal) -> str:
    """``value`` for a reason text: plain notation, no trailing zeros (0.400000 -> "0.4")."""
    return f"{value.normalize():f}"


@overload
def decimal_param(params: dict, name: str, default: str, *, positive: bool = True,
                  allow_zero: bool = False) -> Decimal: ...


@overload
def decimal_param(params: dict, name: str, default: None, *, positive: bool = True,
                  allow_zero: bool = False) -> Decimal | None: ...


def decimal_param(params: dict, name: str, default: str | None, *, positive: bool = True,
                  allow_zero: bool = False) -> Decimal | None:
    """``params[name]`` as a Decimal (from a string or an int; floats are refused as inexact); ``default``
    when absent. An optional parameter (``default`` None) gives None when absent or null.

    Raises: StrategyParamsError when null although it has a default, not a number, or out of range."""
    raw = params.get(name, default)
    if raw is None:
        if default is not None:
            raise StrategyParamsError(f"{name}: must be a number, got null (omit it for the default {default})")
        return None
    if isinstance(raw, float) or isinstance(raw, bool):
        raise StrategyParamsError(f"{name}: give a decimal string such as \"{raw}\", not a float")
    try:
        value = Decimal(str(raw))
    except ArithmeticError as exc:
        raise StrategyParamsError(f"{name}: {raw!r} is not a number") from exc
    if not value.is_finite():
        raise StrategyParamsError(f"{name}: {raw!r} is not a finite number")
    if positive and (value < 0 or (value == 0 and not allow_zero)):
        raise StrategyParamsError(f"{name}: must be {'>= 0' if allow_zero else '> 0'}, got {raw}")
    return value


def int_param(params: dict, name: str, default: int, *, minimum: int = 0) -> int:
    """``params[name]`` as an int >= ``minimum``. Raises: StrategyParamsError."""
    raw = params.get(name, default)
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < minimum:
        raise StrategyParamsError(f"{name}: must be an integer >= {minimum}, got {raw!r}")
    return raw


class BaseStrategy(ABC):
    """Base of the strategy implementations; ``kind`` is the ``Strategy.kind`` it implements.

    Subclasses parse ``strategy.params`` in ``__init__`` via ``params_parse`` (raising
    StrategyParamsError) and implement ``generate_signals``.
    """

    kind: ClassVar[str]

    def __init__(self, strategy: Strategy, *, price_source: PriceSource | None = None) -> None:
        self.strategy = strategy
        self.account: Account = strategy.account
        self.price_source = price_source or price_source_for(self.account.venue)
        self.params = self.params_parse(strategy.params or {})

    @classmethod
    @abstractmethod
    def params_parse(cls, params: dict) -> Any:
        """Validated parameters. Raises: StrategyParamsError naming the bad parameter."""

    @abstractmethod
    def generate_signals(self, now: datetime) -> list[Signal]:
        """Every signal at ``now`` (including skipped ones, with ``skip_reason``), in the order to act."""

    # ------------------------------------------------------------ sizing helpers

    def held(self) -> dict[str, Decimal]:
        """This strategy's holdings per symbol: its net filled quantity, capped at the account's
        position (another strategy or a manual order may have sold part of it). Asset units."""
        positions = {p.symbol: p.quantity for p in position_list(account_id=self.account.pk)}
        net = strategy_net_quantities(account_id=self.account.pk, strategy_id=self.strategy.pk)
        return {symbol: min(quantity, positions[symbol])
                for symbol, quantity in net.items() if quantity > 0 and symbol in positions}

    def portfolio_value(self, now: datetime) -> Decimal | None:
        """Cash + open positions at ``now``'s prices (USD); None when a held symbol has no fresh price."""
        self.account.refresh_from_db(fields=["cash_usd"])
        return portfolio_value_usd(account_id=self.account.pk, cash_usd=self.account.cash_usd, now=now,
                                   price_source=self.price_source)
