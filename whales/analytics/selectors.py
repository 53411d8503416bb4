"""Reads of the analytics: current smart-money scores with their joins, score statistics, flow
collections. Never writes."""

from datetime import datetime
from decimal import Decimal
from typing import TypedDict

from django.db.models import Avg, Case, Count, DecimalField, F, Max, Prefetch, QuerySet, Sum, When

from whales.analytics.flows import BUY_DIRECTIONS, SELL_DIRECTIONS
from whales.models import ScoreConfidence, ScoringRun, SmartMoneyFlow, Trade, WalletScore, WhaleLabel

TOP_TOKENS = 3
TOP_TOKENS_DAYS = 30


def smart_money_wallet_list() -> QuerySet[WalletScore]:
    """Current scores with whale, entity and metrics joined and label rows prefetched."""
    label_rows = WhaleLabel.objects.select_related("label").order_by("label__slug", "id")
    return (
        WalletScore.objects.filter(is_current=True)
        .select_related("whale", "whale__entity", "whale__metrics")
        .prefetch_related(Prefetch("whale__whale_labels", queryset=label_rows))
    )


class SmartMoneyStats(TypedDict):
    """``smart-money/stats`` before serialization: current scores, by confidence, their average (None
    without any), the newest ScoringRun and the formula version in use."""

    scored_wallets: int
    by_confidence: dict[str, int]
    average_score: Decimal | None
    last_run: ScoringRun | None
    formula_version: str | None


def smart_money_stats() -> SmartMoneyStats:
    """Counts, average score, latest ScoringRun and formula version (shape: SmartMoneyStatsSerializer)."""
    current = WalletScore.objects.filter(is_current=True)
    totals = current.aggregate(n=Count("id"), avg=Avg("score"))
    by_confidence = dict.fromkeys(ScoreConfidence.values, 0)
    for row in current.values("confidence").annotate(n=Count("id")).order_by():
        by_confidence[row["confidence"]] = row["n"]
    last_run = ScoringRun.objects.order_by("-started_at", "-id").first()
    version: str | None
    if last_run is not None:
        version = last_run.formula_version
    else:
        version = current.order_by("-scored_at", "-id").values_list("formula_version", flat=True).first()
    average = totals["avg"]
    return SmartMoneyStats(
        scored_wallets=totals["n"],
        by_confidence=by_confidence,
        average_score=round(average, 2) if average is not None else None,
        last_run=last_run,
        formula_version=version,
    )


def smart_money_flow_list(*, token: str, window: str, since: object) -> tuple[QuerySet[SmartMoneyFlow],
                                                                         SmartMoneyFlow | None]:
    """The flow collections of ``token`` over ``window`` collected since ``since`` (oldest first), and
    its newest collection ever (None when it has none)."""
    rows = SmartMoneyFlow.objects.filter(token=token, window=window)
    return rows.filter(collected_at__gte=since).order_by("collected_at", "id"), rows.order_by(
        "-collected_at", "-id").first()


def wallet_score_current(*, whale_id: int) -> WalletScore | None:
    """The whale's current WalletScore (``is_current``), or None when it was never scored."""
    return WalletScore.objects.filter(whale_id=whale_id, is_current=True).first()


def wallet_score_history(*, whale_id: int, since: datetime) -> list[WalletScore]:
    """The whale's stored scores in force from ``since`` on, oldest first (by scored_at, then id).

    Source: WalletScore rows, which the scoring run keeps as history: a run writes a row only when the
    score, the confidence or the formula version changed (``whales.analytics.scoring``), so each row holds
    from its ``scored_at`` until the next row's. Shape: the rows scored after ``since``, preceded by the
    row in force at ``since`` (the newest scored at or before it) when there is one, so a score that has
    not changed for longer than the window still shows; [] for a whale never scored.
    """
    rows = WalletScore.objects.filter(whale_id=whale_id)
    before = rows.filter(scored_at__lte=since).order_by("-scored_at", "-id").first()
    after = list(rows.filter(scored_at__gt=since).order_by("scored_at", "id"))
    return [before, *after] if before is not None else after


def smart_money_flow_latest() -> tuple[datetime | None, list[SmartMoneyFlow]]:
    """The newest flow collection: its ``collected_at`` (None when nothing was ever collected) and its rows,
    by token then window. One collection (``whales.analytics.flows.flows_collect``) stores every row with
    the same ``collected_at``, one per token and window with counted trades, so a token missing from it
    had no smart-money trade in the last 30 days."""
    newest = SmartMoneyFlow.objects.aggregate(newest=Max("collected_at"))["newest"]
    if newest is None:
        return None, []
    return newest, list(SmartMoneyFlow.objects.filter(collected_at=newest).order_by("token", "window", "id"))


class WalletToken(TypedDict):
    """One token a wallet traded: its traded volume and its net (bought - sold), USD decimal strings."""

    token: str
    volume_usd: str
    net_usd: str


def wallet_top_tokens(
    *, whale_ids: list[int], since: datetime, limit: int = TOP_TOKENS
) -> dict[int, list[WalletToken]]:
    """``{whale_id: [WalletToken]}``: each whale's ``limit`` tokens with the largest traded volume since ``since``.

    Source: the whales' Trade rows with ``block_time > since`` counted as the flows count them
    (``whales.analytics.flows``: buy/long/close_short bought, sell/short/close_long sold, priced, not internal),
    grouped by ``base_asset``. ``volume_usd`` = bought + sold, ``net_usd`` = bought - sold. Shape: largest volume
    first, ties by token; a whale without such trades is absent. One GROUP BY query for all the whales.
    """
    usd: DecimalField = DecimalField(max_digits=38, decimal_places=8)
    signed = Case(When(direction__in=SELL_DIRECTIONS, then=-F("value_usd")), default=F("value_usd"), output_field=usd)
    rows = (Trade.objects.filter(whale_id__in=whale_ids, block_time__gt=since, value_usd__isnull=False,
                                 is_internal=False, direction__in=[*BUY_DIRECTIONS, *SELL_DIRECTIONS])
            .values("whale_id", "base_asset").annotate(volume=Sum("value_usd"), net=Sum(signed)).order_by())
    by_whale: dict[int, list[dict]] = {}
    for row in rows:
        by_whale.setdefault(row["whale_id"], []).append(row)
    return {
        whale_id: [WalletToken(token=r["base_asset"], volume_usd=str(r["volume"]), net_usd=str(r["net"]))
                   for r in sorted(items, key=lambda r: (-r["volume"], r["base_asset"]))[:limit]]
        for whale_id, items in by_whale.items()
    }
