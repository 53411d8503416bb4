"""Per-token smart-money flows (SmartMoneyFlow rows), collected every 15 minutes by ``whales.collect_flows``.

Who counts as smart money
    Whales whose *current* WalletScore (``is_current=True``) has ``score >= min_score``; the default
    threshold is ``settings.SMART_MONEY_MIN_SCORE`` (60). The threshold used is stored on every row.

Which trades count (rule chosen here)
    Only trading directions, valued in USD (``value_usd`` not null), not internal:

    * bought: ``buy`` (spot / swap) and the perp directions that add long exposure,
      ``long`` (open long) and ``close_short``;
    * sold: ``sell`` and the perp directions that add short exposure, ``short`` (open short)
      and ``close_long``.

    Perps are counted (Hyperliquid whales would otherwise never appear) at their fill notional, under
    the same token as spot (Hyperliquid's ``ETH`` perp and an on-chain ``ETH`` swap are one token).
    Transfers (``send``/``receive``), exchange deposits/withdrawals and mempool rows are not trades
    and are excluded. The token is ``Trade.base_asset`` as stored (case-sensitive).

Formula, per token and window
    window = (now - length, now], by ``block_time``; lengths 1h, 24h, 7d, 30d.
    For each whale w: net_w = sum(value_usd of its bought trades) - sum(value_usd of its sold trades).
    ``bought_usd`` = sum of bought, ``sold_usd`` = sum of sold, ``net_flow_usd`` = bought - sold;
    ``buying_wallets`` = #{w: net_w > 0}, ``selling_wallets`` = #{w: net_w < 0} (net 0 is neither);
    ``top_buyers`` = the 5 largest net_w > 0, largest first; ``top_sellers`` = the 5 most negative
    net_w < 0, most negative first; each ``{whale_id, chain, address, name, net_usd}`` with
    ``net_usd`` the signed net as a decimal string (negative for sellers); ties broken by whale id.

Queries
    One aggregate per window (GROUP BY base_asset, whale over the scored whales' trades, whale
    columns joined) plus one bulk insert: 5 queries whatever the number of whales or tokens.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Case, DecimalField, Q, Sum, Value, When
from django.utils import timezone

from whales.models import Direction, FlowWindow, SmartMoneyFlow, Trade, WalletScore

logger = logging.getLogger(__name__)

BUY_DIRECTIONS = (Direction.BUY, Direction.LONG, Direction.CLOSE_SHORT)
SELL_DIRECTIONS = (Direction.SELL, Direction.SHORT, Direction.CLOSE_LONG)
WINDOWS: dict[str, timedelta] = {
    FlowWindow.H1: timedelta(hours=1),
    FlowWindow.H24: timedelta(hours=24),
    FlowWindow.D7: timedelta(days=7),
    FlowWindow.D30: timedelta(days=30),
}
TOP_N = 5
DEFAULT_MIN_SCORE = Decimal(60)
_USD: DecimalField = DecimalField(max_digits=38, decimal_places=8)
_ZERO = Value(Decimal(0), output_field=_USD)


def flows_min_score() -> Decimal:
    """The smart-money threshold: ``settings.SMART_MONEY_MIN_SCORE`` (default 60)."""
    return Decimal(str(getattr(settings, "SMART_MONEY_MIN_SCORE", DEFAULT_MIN_SCORE)))


@dataclass
class _TokenFlow:
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    wallets: list[dict] = field(default_factory=list)


def _wallet_entry(row: dict, net: Decimal) -> dict:
    return {"whale_id": row["whale_id"], "chain": row["whale__chain"], "address": row["whale__address"],
            "name": row["whale__name"], "net_usd": str(net)}


def _window_rows(*, start: datetime, end: datetime, min_score: Decimal, tokens: list[str] | None) -> list[dict]:
    """One GROUP BY (base_asset, whale) over the window's trades of whales scoring >= min_score."""
    scored = WalletScore.objects.filter(is_current=True, score__gte=min_score).values("whale_id")
    trades = Trade.objects.filter(
        block_time__gt=start, block_time__lte=end, whale_id__in=scored, value_usd__isnull=False,
        is_internal=False, direction__in=[*BUY_DIRECTIONS, *SELL_DIRECTIONS],
    )
    if tokens is not None:
        trades = trades.filter(base_asset__in=tokens)
    return list(
        trades.values("base_asset", "whale_id", "whale__chain", "whale__address", "whale__name")
        .annotate(
            bought=Sum(Case(When(Q(direction__in=BUY_DIRECTIONS), then="value_usd"), default=_ZERO,
                            output_field=_USD)),
            sold=Sum(Case(When(Q(direction__in=SELL_DIRECTIONS), then="value_usd"), default=_ZERO,
                          output_field=_USD)),
        )
        .order_by()
    )


def _window_flows(rows: list[dict], *, window: str, min_score: Decimal, now: datetime) -> list[SmartMoneyFlow]:
    by_token: dict[str, _TokenFlow] = {}
    for row in rows:
        token = by_token.setdefault(row["base_asset"], _TokenFlow())
        token.bought += row["bought"]
        token.sold += row["sold"]
        token.wallets.append(row)
    flows = []
    for name in sorted(by_token):
        token = by_token[name]
        nets = [(row["bought"] - row["sold"], row) for row in token.wallets]
        buyers = sorted((item for item in nets if item[0] > 0), key=lambda item: (-item[0], item[1]["whale_id"]))
        sellers = sorted((item for item in nets if item[0] < 0), key=lambda item: (item[0], item[1]["whale_id"]))
        flows.append(SmartMoneyFlow(
            token=name, window=window, collected_at=now, min_score=min_score,
            bought_usd=token.bought, sold_usd=token.sold, net_flow_usd=token.bought - token.sold,
            buying_wallets=len(buyers), selling_wallets=len(sellers),
            top_buyers=[_wallet_entry(row, net) for net, row in buyers[:TOP_N]],
            top_sellers=[_wallet_entry(row, net) for net, row in sellers[:TOP_N]],
        ))
    return flows


def flows_compute(
    *, now: datetime, min_score: Decimal, tokens: list[str] | None = None, windows: list[str] | None = None
) -> list[SmartMoneyFlow]:
    """The flows at ``now`` as UNSAVED SmartMoneyFlow rows (``flows_collect`` stores them).

    Same rules, formula and shape as ``flows_collect``; ``windows`` restricts to those windows
    (default all four). Used directly by the trading backtest to replay flows at past times from the
    stored trades. Raises: KeyError for an unknown window.
    """
    flows: list[SmartMoneyFlow] = []
    for window in windows or list(WINDOWS):
        length = WINDOWS[window]
        rows = _window_rows(start=now - length, end=now, min_score=min_score, tokens=tokens)
        flows.extend(_window_flows(rows, window=window, min_score=min_score, now=now))
    return flows


def flows_collect(
    *, now: datetime | None = None, min_score: Decimal | int | str | None = None, tokens: list[str] | None = None
) -> list[SmartMoneyFlow]:
    """Compute and store one SmartMoneyFlow per (token, window) with activity; return the stored rows.

    Source: Trade rows of whales whose current WalletScore.score >= ``min_score`` (default
        ``flows_min_score()``); rules and formula in the module docstring.
    Units: USD (8 places); ``top_*[].net_usd`` decimal strings.
    Shape: rows ordered by window (1h, 24h, 7d, 30d) then token; every row has ``collected_at=now``
        (default ``timezone.now()``); a token without any counted trade in a window gets no row for it;
        ``tokens`` restricts to those base assets. One collection = one row per token+window.
    """
    now = now or timezone.now()
    threshold = flows_min_score() if min_score is None else Decimal(str(min_score))
    flows = flows_compute(now=now, min_score=threshold, tokens=tokens)
    with transaction.atomic():
        created = SmartMoneyFlow.objects.bulk_create(flows)
    logger.info("whales.flows.collected", extra={"rows": len(created), "min_score": str(threshold)})
    return created
