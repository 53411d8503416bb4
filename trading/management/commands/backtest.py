"""``python manage.py backtest KIND [options]``: run a strategy over the stored history into a fresh
paper account and print its P&L summary (``trading.backtest``).

Examples::

    manage.py backtest follow_whale --whale hyperliquid:0x... --step 1m
    manage.py backtest follow_smart_money --params '{"order_usd": "500"}' --start 2023-05-04 --end 2023-05-06
"""

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TypedDict

from django.core.management.base import BaseCommand, CommandError, CommandParser

from trading.backtest import FLOW_MODES, BacktestResult, Progress, backtest_run, default_range
from trading.models import StrategyKind
from trading.services import TradingError
from trading.strategies import StrategyParamsError
from whales.models import Whale

STEP_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
ACCOUNT_OPTIONS = ("fee_bps", "slippage_bps", "max_position_percent", "max_daily_loss_percent",
                   "max_strategy_exposure_percent", "min_order_usd")


def parse_step(text: str) -> timedelta:
    """``"15m"`` -> 15 minutes (units s, m, h, d). Raises: CommandError."""
    match = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not match or int(match.group(1)) == 0:
        raise CommandError(f"--step: expected a positive number with a unit s, m, h or d (e.g. 15m), got {text!r}")
    return timedelta(**{STEP_UNITS[match.group(2)]: int(match.group(1))})


def parse_time(text: str, option: str) -> datetime:
    """ISO date or datetime; naive means UTC. Raises: CommandError."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option}: expected an ISO date or datetime (UTC), got {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def parse_decimal(text: str, option: str) -> Decimal:
    """``text`` as a finite Decimal. Raises: CommandError naming ``option``."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommandError(f"{option}: expected a number, got {text!r}") from None
    if not value.is_finite():
        raise CommandError(f"{option}: expected a finite number, got {text!r}")
    return value


class Command(BaseCommand):
    help = "Backtest a strategy over the stored history into a fresh paper account; print its P&L summary."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=StrategyKind.values, help="strategy kind")
        parser.add_argument("--params", default="{}", help="strategy params as a JSON object (decimals as strings)")
        parser.add_argument("--whale", help="(follow_whale) the whale to follow, as CHAIN:ADDRESS or its id")
        parser.add_argument("--start", help="ISO date/datetime, UTC (default: the first relevant stored trade)")
        parser.add_argument("--end", help="ISO date/datetime, UTC (default: one day after the last relevant trade)")
        parser.add_argument("--step", default="15m", help="simulated clock step: 30s, 15m, 1h, 1d (default 15m)")
        parser.add_argument("--cash-usd", "--cash", dest="cash_usd", default="10000",
                            help="starting cash, USD (default 10000); --cash is a deprecated alias")
        parser.add_argument("--flows", choices=FLOW_MODES, default="auto",
                            help="(follow_smart_money) stored flows, recomputed from trades, or auto")
        for name in ACCOUNT_OPTIONS:
            parser.add_argument(f"--{name.replace('_', '-')}", help=f"account {name} (default: the account default)")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options) -> None:
        try:
            params = json.loads(options["params"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--params: not JSON ({exc})") from None
        if not isinstance(params, dict):
            raise CommandError("--params: expected a JSON object")
        kind = options["kind"]
        if options["whale"]:
            if kind != StrategyKind.FOLLOW_WHALE:
                raise CommandError("--whale applies to follow_whale only")
            params["whale_id"] = self._whale_id(options["whale"])
        step = parse_step(options["step"])
        if options["start"] and options["end"]:
            start, end = parse_time(options["start"], "--start"), parse_time(options["end"], "--end")
        else:
            try:
                bounds = default_range(kind=kind, params=params)
            except StrategyParamsError as exc:
                raise CommandError(str(exc)) from exc
            if bounds is None:
                raise CommandError("no stored trades for this strategy to backtest over; give --start and --end")
            start = parse_time(options["start"], "--start") if options["start"] else bounds[0] - step
            end = parse_time(options["end"], "--end") if options["end"] else bounds[1] + timedelta(days=1)
        account_options = {name: parse_decimal(options[name], f"--{name.replace('_', '-')}")
                           for name in ACCOUNT_OPTIONS if options[name] is not None}
        self.stdout.write(f"backtest {kind} from {start.isoformat()} to {end.isoformat()} every {step}")
        try:
            result = backtest_run(kind=kind, params=params, start=start, end=end, step=step,
                                  starting_cash_usd=parse_decimal(options["cash_usd"], "--cash-usd"),
                                  account_options=account_options, flows=options["flows"],
                                  progress=None if options["json"] else self._progress)
        except (TradingError, StrategyParamsError) as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result_json(result), indent=2))
        else:
            self._print(result)

    def _whale_id(self, text: str) -> int:
        if text.isdigit():
            whale = Whale.objects.filter(pk=int(text)).first()
        else:
            chain, _, address = text.partition(":")
            whale = Whale.objects.filter(chain=chain, address__iexact=address).first() if address else None
        if whale is None:
            raise CommandError(f"--whale: no tracked whale {text!r} (give CHAIN:ADDRESS or an id)")
        return whale.pk

    def _progress(self, p: Progress) -> None:
        self.stdout.write(f"  {p.at:%Y-%m-%d %H:%M:%S} ({p.steps_done}/{p.steps_total} steps): "
                          f"{p.signals} signals, {p.orders_filled} orders filled")

    def _print(self, r: BacktestResult) -> None:
        s = r.summary
        lines = [
            f"account {r.account_id} (strategy {r.strategy_id}), {r.steps} steps"
            + (f", flows: {r.flows_mode}" if r.flows_mode else ""),
            f"signals: {r.outcomes.get('ordered', 0)} ordered, {r.outcomes.get('rejected', 0)} rejected, "
            f"{r.outcomes.get('skipped', 0)} skipped",
            f"orders: {r.orders_filled} filled, {r.orders_rejected} rejected"
            + (f" ({', '.join(f'{k}: {v}' for k, v in r.reject_reasons.items())})" if r.reject_reasons else ""),
            f"starting cash       {r.starting_cash_usd} USD",
            f"final equity        {_usd(r.final_equity_usd)}",
            f"realized P&L        {_usd(s['realized_pnl_usd'])}",
            f"unrealized P&L      {_usd(s['unrealized_pnl_usd'])}",
            f"closed trades       {s['closed_trades']} ({s['wins']} won, {s['losses']} lost), "
            f"win rate {_num(s['win_rate_percent'], '%')}",
            f"profit factor       {_num(s['profit_factor'])}",
            f"average win / loss  {_usd(s['average_win_usd'])} / {_usd(s['average_loss_usd'])}",
            f"largest win / loss  {_usd(s['largest_win_usd'])} / {_usd(s['largest_loss_usd'])}",
            f"volume / fees       {_usd(s['volume_usd'])} / {_usd(s['fees_usd'])}",
            f"max drawdown        {_num(s['max_drawdown_percent'], '%')}",
            f"sharpe (daily)      {s['sharpe_ratio'] if s['sharpe_ratio'] is not None else '-'}",
        ]
        for line in lines:
            self.stdout.write(line)
        for caveat in r.caveats:
            self.stdout.write(self.style.WARNING(f"note: {caveat}"))


def _usd(value: Decimal | None) -> str:
    return "-" if value is None else f"{value:,.2f} USD"


def _num(value: Decimal | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:,.2f}{unit}"


JsonScalar = str | int | float | None


class BacktestJson(TypedDict):
    """``backtest --json``: a ``BacktestResult`` as JSON-safe values.

    Units: ``starting_cash_usd``, ``final_equity_usd`` and the summary's ``*_usd`` keys are USD as
    decimal strings (the summary has ``trading.pnl.PnlSummary``'s keys, every Decimal as a string);
    ``start``/``end`` ISO-8601 UTC; ``step_seconds`` seconds; the rest are counts, names and notes.
    """

    account_id: int
    strategy_id: int
    kind: str
    start: str
    end: str
    step_seconds: float
    steps: int
    flows_mode: str | None
    starting_cash_usd: str
    final_equity_usd: str | None
    summary: dict[str, JsonScalar]
    outcomes: dict[str, int]
    orders_filled: int
    orders_rejected: int
    reject_reasons: dict[str, int]
    caveats: list[str]


def _json_scalar(value: object) -> JsonScalar:
    """A summary value JSON-safe: Decimal -> str; int, float and None as they are."""
    if isinstance(value, Decimal):
        return str(value)
    if value is None or isinstance(value, int | float | str):
        return value
    raise TypeError(f"not a summary value: {value!r}")


def result_json(r: BacktestResult) -> BacktestJson:
    """The result as JSON-safe values (``BacktestJson``: Decimals and times as strings)."""
    return {"account_id": r.account_id, "strategy_id": r.strategy_id, "kind": r.kind, "start": r.start.isoformat(),
            "end": r.end.isoformat(), "step_seconds": r.step.total_seconds(), "steps": r.steps,
            "flows_mode": r.flows_mode, "starting_cash_usd": str(r.starting_cash_usd),
            "final_equity_usd": None if r.final_equity_usd is None else str(r.final_equity_usd),
            "summary": {key: _json_scalar(value) for key, value in r.summary.items()},
            "outcomes": dict(r.outcomes), "orders_filled": r.orders_filled, "orders_rejected": r.orders_rejected,
            "reject_reasons": dict(r.reject_reasons), "caveats": list(r.caveats)}
