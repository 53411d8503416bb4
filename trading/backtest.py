"""Backtest: run a strategy over the stored history into a fresh paper account.

The simulated clock steps from ``start`` to ``end`` by ``step``. At each time t, in this order:
the strategy runs at ``now = t`` (``strategy_run``: signals recorded with outcomes, orders through
every safety check), resting limit orders are matched, and the daily-loss guard runs. Prices are
``trading.selectors.market_price`` at t: the newest stored PriceHistory row at or before t (no
look-ahead), blocked when older than TRADING_PRICE_MAX_AGE_HOURS.

Data, as stored: whale trades (follow_whale, by block time <= t), smart-money flows and prices.
Flows (follow_smart_money), by ``flows``:

* ``stored``: the stored SmartMoneyFlow collections, as the live strategy reads them;
* ``recompute``: recomputed at every t from the stored trades with ``whales.analytics.flows.flows_compute``
  (the trades up to t only). The smart-money set is the whales' CURRENT scores, which were computed
  with all the history: a look-ahead bias, reported in ``caveats``;
* ``auto`` (default): ``stored`` when a collection exists in [start, end], else ``recompute``.

Everything runs in ONE transaction: a run killed part-way leaves nothing behind, and a finished
run leaves the account, its strategy (unscheduled), signals, orders and fills for inspection
(admin, ``/api/v1/trading/...``). Re-running creates another fresh account.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone

from trading.models import Account, Order, OrderStatus, SignalOutcome, StrategyKind, StrategySignal
from trading.pnl import PnlSummary, equity_curve, pnl_summary
from trading.services import TradingError, daily_loss_check, limit_orders_match
from trading.strategies import StrategyParamsError
from trading.strategies.services import strategy_create, strategy_run
from trading.strategies.smart_money import FlowSource, stored_flows
from whales.analytics.flows import BUY_DIRECTIONS, SELL_DIRECTIONS, flows_compute, flows_min_score
from whales.models import SmartMoneyFlow, Trade, WalletScore

logger = logging.getLogger(__name__)

FLOW_MODES = ("auto", "stored", "recompute")
MAX_STEPS = 200_000
BACKTEST_OWNER = "backtest"


@dataclass(frozen=True)
class Progress:
    """Reported every ~5% of the steps: the simulated time and the running counts."""

    at: datetime
    steps_done: int
    steps_total: int
    signals: int
    orders_filled: int


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest did. ``summary`` is ``trading.pnl.pnl_summary`` at ``end`` (units in
    ``PnlSummary``); ``starting_cash_usd`` and ``final_equity_usd`` (the last point of the equity
    curve, None without fills) are USD; ``step`` the simulated clock step; ``outcomes`` counts signals
    by outcome; ``reject_reasons`` the most frequent rejection reasons (rule name: count)."""

    account_id: int
    strategy_id: int
    kind: str
    start: datetime
    end: datetime
    step: timedelta
    steps: int
    flows_mode: str | None
    starting_cash_usd: Decimal
    summary: PnlSummary
    final_equity_usd: Decimal | None
    outcomes: dict[str, int]
    orders_filled: int
    orders_rejected: int
    reject_reasons: dict[str, int]
    caveats: list[str] = field(default_factory=list)


def _recompute_source(min_score: Decimal) -> FlowSource:
    def source(window: str, now: datetime, max_age: timedelta) -> list[SmartMoneyFlow]:
        return flows_compute(now=now, min_score=min_score, windows=[window])

    return source


def default_range(*, kind: str, params: dict) -> tuple[datetime, datetime] | None:
    """The stored history a strategy would act on: (first, last) block time of the followed whale's
    trading trades, or of the trading trades of the whales counted as smart money; None when none.
    Raises: StrategyParamsError for a follow_whale ``params`` without ``whale_id``."""
    trades = Trade.objects.filter(direction__in=[*BUY_DIRECTIONS, *SELL_DIRECTIONS], is_internal=False)
    if kind == StrategyKind.FOLLOW_WHALE:
        whale_id = params.get("whale_id")
        if whale_id is None:  # as FollowWhale.params_parse: without it there is no history to range over
            raise StrategyParamsError("whale_id: required (the id of the whale to follow)")
        trades = trades.filter(whale_id=whale_id)
    else:
        scored = WalletScore.objects.filter(is_current=True, score__gte=flows_min_score()).values("whale_id")
        trades = trades.filter(whale_id__in=scored, value_usd__isnull=False)
    bounds = trades.aggregate(first=Min("block_time"), last=Max("block_time"))
    if bounds["first"] is None:
        return None
    return bounds["first"], bounds["last"]


def backtest_run(*, kind: str, params: dict, start: datetime, end: datetime, step: timedelta,
                 starting_cash_usd: Decimal = Decimal("10000"), account_options: dict | None = None,
                 flows: str = "auto", owner_username: str = BACKTEST_OWNER, account_name: str | None = None,
                 progress: Callable[[Progress], None] | None = None) -> BacktestResult:
    """Run a ``kind`` strategy with ``params`` from ``start`` to ``end`` every ``step`` into a fresh
    paper account (module docstring) starting with ``starting_cash_usd`` (USD); return what it did.

    ``account_options``: Account limit/fee fields (e.g. ``fee_bps``, ``max_position_percent``).
    ``account_name``: the new account's name (default ``backtest <kind> <timestamp>``).
    Raises: TradingError for a bad range, step or flows mode, or an account name already used by the
    owner; StrategyParamsError for bad params.
    Nothing is stored when it raises.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise TradingError("start and end must be timezone-aware (UTC)")
    if end <= start:
        raise TradingError(f"end {end.isoformat()} must be after start {start.isoformat()}")
    if step <= timedelta(0):
        raise TradingError("step must be positive")
    steps = int((end - start) / step) + 1
    if steps > MAX_STEPS:
        raise TradingError(f"{steps} steps exceed {MAX_STEPS}; use a longer step or a shorter range")
    if flows not in FLOW_MODES:
        raise TradingError(f"flows must be one of {', '.join(FLOW_MODES)}")
    if starting_cash_usd <= 0:
        raise TradingError("starting cash must be > 0 USD")

    caveats: list[str] = []
    flow_source: FlowSource | None = None
    flows_mode: str | None = None
    if kind == StrategyKind.FOLLOW_SMART_MONEY:
        flows_mode = flows
        if flows == "auto":
            has_stored = SmartMoneyFlow.objects.filter(collected_at__gte=start, collected_at__lte=end).exists()
            flows_mode = "stored" if has_stored else "recompute"
        if flows_mode == "recompute":
            min_score = flows_min_score()
            flow_source = _recompute_source(min_score)
            caveats.append(f"flows recomputed at each step from the stored trades of whales whose CURRENT score is "
                           f">= {min_score}: the scores saw the whole history (look-ahead bias)")
        else:
            flow_source = stored_flows

    with transaction.atomic():
        owner, created = get_user_model().objects.get_or_create(username=owner_username)
        if created:
            owner.set_unusable_password()
            owner.save(update_fields=["password"])
        name = account_name or f"backtest {kind} {timezone.now():%Y%m%dT%H%M%S.%f}"
        if Account.objects.filter(owner=owner, name=name).exists():
            raise TradingError(f"{owner_username} already has an account named {name!r}")
        account = Account.objects.create(owner=owner, name=name, starting_cash_usd=starting_cash_usd,
                                         cash_usd=starting_cash_usd, **(account_options or {}))
        strategy = strategy_create(account_id=account.pk, name=f"backtest {kind}", kind=kind, params=params,
                                   started_at=start, schedule=False)
        report_every = max(1, steps // 20)
        for index in range(steps):
            now = start + step * index
            strategy_run(strategy_id=strategy.pk, now=now, flow_source=flow_source)
            limit_orders_match(now=now)
            daily_loss_check(account_id=account.pk, now=now)
            if progress is not None and (index % report_every == 0 or index == steps - 1):
                progress(Progress(at=now, steps_done=index + 1, steps_total=steps,
                                  signals=StrategySignal.objects.filter(strategy=strategy).count(),
                                  orders_filled=Order.objects.filter(account=account,
                                                                     status=OrderStatus.FILLED).count()))
        last = start + step * (steps - 1)
        summary = pnl_summary(account_id=account.pk, now=last)
        curve = equity_curve(account_id=account.pk, interval="day", now=last)
        outcomes = {outcome: StrategySignal.objects.filter(strategy=strategy, outcome=outcome).count()
                    for outcome in SignalOutcome.values}
        orders = Order.objects.filter(account=account)
        reasons: dict[str, int] = {}
        for reason in orders.filter(status=OrderStatus.REJECTED).values_list("reject_reason", flat=True):
            rule = reason.split(":", 1)[0]
            reasons[rule] = reasons.get(rule, 0) + 1
        return BacktestResult(
            account_id=account.pk, strategy_id=strategy.pk, kind=kind, start=start, end=last, step=step, steps=steps,
            flows_mode=flows_mode, starting_cash_usd=starting_cash_usd, summary=summary,
            final_equity_usd=curve[-1][1] if curve else None, outcomes=outcomes,
            orders_filled=orders.filter(status=OrderStatus.FILLED).count(),
            orders_rejected=orders.filter(status=OrderStatus.REJECTED).count(),
            reject_reasons=dict(sorted(reasons.items(), key=lambda item: (-item[1], item[0]))), caveats=caveats)
