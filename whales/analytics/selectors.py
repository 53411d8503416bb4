"""Reads of the analytics: current smart-money scores with their joins, score statistics, flow
collections. Never writes."""

from decimal import Decimal
from typing import TypedDict

from django.db.models import Avg, Count, Prefetch, QuerySet

from whales.models import ScoreConfidence, ScoringRun, SmartMoneyFlow, WalletScore, WhaleLabel


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
