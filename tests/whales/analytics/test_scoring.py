import math
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from unittest import mock

import pytest
from django.db import connections
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from tests.whales.factories import WalletMetricsFactory, WhaleFactory
from whales.analytics import scoring, tasks
from whales.analytics.scoring import FORMULA_VERSION, LOCK_KEY, scoring_finished_hook_register, scoring_run
from whales.models import RunStatus, ScoreConfidence, ScoringRun, WalletMetrics, WalletMetricsDaily, WalletScore

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _scored_whale(*, roi="50", win_rate="60", pnl="99999", trips=12, **whale_kwargs):
    whale = WhaleFactory(**whale_kwargs)
    WalletMetricsFactory(whale=whale, roi_percent=Decimal(roi), win_rate_percent=Decimal(win_rate),
                         realized_pnl_usd=Decimal(pnl), closed_round_trips=trips)
    return whale


@pytest.fixture
def hooks(monkeypatch):
    registered: list = []
    monkeypatch.setattr(scoring, "SCORING_FINISHED_HOOKS", registered)
    return registered


def test_score_matches_the_documented_formula(hooks):
    whale = _scored_whale()
    day = NOW.date()
    for ago, roi in [(0, "10"), (1, "-5"), (2, "20"), (3, None), (40, "10")]:  # 40 days ago: outside the window
        WalletMetricsDaily.objects.create(whale=whale, date=day - timedelta(days=ago),
                                          roi_percent=None if roi is None else Decimal(roi))
    run = scoring_run(now=NOW)

    # Independent computation of v1 (floats): roi, win rate, log-scaled P&L, profitable-day share.
    n_roi = (50 + 100) / 400
    n_win = 60 / 100
    n_pnl = (1 + math.log10(1 + 99999) / math.log10(1 + 10_000_000)) / 2
    n_cons = 2 / 3
    expected = 100 * (0.35 * n_roi + 0.25 * n_win + 0.25 * n_pnl + 0.15 * n_cons) / 1.0
    expected = Decimal(repr(expected)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    score = WalletScore.objects.get(whale=whale)
    assert expected == Decimal("59.55")
    assert (score.score, score.confidence, score.formula_version, score.is_current, score.run) == (
        expected, ScoreConfidence.MEDIUM, "v1", True, run)
    assert score.components["roi"] == {"input": "50.0000", "normalized": "0.37500000", "weight": "0.35"}
    assert score.components["win_rate"] == {"input": "60.0000", "normalized": "0.60000000", "weight": "0.25"}
    assert score.components["realized_pnl"]["input"] == "99999.00000000"
    assert Decimal(score.components["realized_pnl"]["normalized"]) == pytest.approx(Decimal(repr(n_pnl)),
                                                                                   abs=Decimal("1e-8"))
    assert score.components["consistency"] == {"input": str(Decimal(2) / Decimal(3)), "normalized": "0.66666667",
                                               "weight": "0.15"}
    assert score.components["consistency_days"] == {"profitable": 2, "observed": 3, "window_days": 30}
    assert score.components["sample"] == {"closed_round_trips": 12, "low_below": 10, "high_from": 30}
    assert (run.status, run.total, run.processed, run.updated, run.failed) == (RunStatus.OK, 1, 1, 1, 0)
    assert run.duration_ms is not None and run.finished_at is not None


@pytest.mark.parametrize(("roi", "win_rate", "pnl", "expected"), [
    ("300", "100", "10000000", Decimal("85.00")),  # consistency has no daily rows -> 0
    ("-100", "0", "-10000000", Decimal("0.00")),
    ("900", "100", "50000000", Decimal("85.00")),  # clamped at the caps
])
def test_score_bounds(roi, win_rate, pnl, expected, hooks):
    whale = _scored_whale(roi=roi, win_rate=win_rate, pnl=pnl)
    scoring_run(now=NOW)
    assert WalletScore.objects.get(whale=whale).score == expected


def test_missing_inputs_score_zero_and_are_stored_as_null(hooks):
    whale = WhaleFactory()
    WalletMetrics.objects.create(whale=whale, roi_percent=None, win_rate_percent=None, realized_pnl_usd=None)
    scoring_run(now=NOW)
    score = WalletScore.objects.get(whale=whale)
    assert (score.score, score.confidence) == (Decimal("0.00"), ScoreConfidence.LOW)
    assert score.components["roi"]["input"] is None


@pytest.mark.parametrize(("trips", "confidence"), [
    (0, ScoreConfidence.LOW), (9, ScoreConfidence.LOW), (10, ScoreConfidence.MEDIUM), (29, ScoreConfidence.MEDIUM),
    (30, ScoreConfidence.HIGH)])
def test_minimum_sample_guard_sets_confidence_but_still_scores(trips, confidence, hooks):
    whale = _scored_whale(trips=trips)
    scoring_run(now=NOW)
    score = WalletScore.objects.get(whale=whale)
    assert (score.confidence, score.score) == (confidence, Decimal("49.55"))  # 59.55 without consistency (0.15 x 2/3)


def test_weights_are_settings(settings, hooks):
    settings.WHALE_SCORE_WEIGHTS = {"roi": "1", "win_rate": "0", "realized_pnl": "0", "consistency": "0"}
    whale = _scored_whale(roi="100")
    scoring_run(now=NOW)
    assert WalletScore.objects.get(whale=whale).score == Decimal("50.00")


def test_runs_in_batches_of_50(monkeypatch, hooks):
    for _ in range(120):
        _scored_whale()
    calls: list[int] = []
    real = scoring._score_batch

    def counting(ids, *args):
        calls.append(len(ids))
        return real(ids, *args)

    monkeypatch.setattr(scoring, "_score_batch", counting)
    run = scoring_run(now=NOW)
    assert calls == [50, 50, 20]
    assert (run.total, run.processed, run.updated, run.failed) == (120, 120, 120, 0)
    assert WalletScore.objects.filter(is_current=True).count() == 120


def test_one_failing_wallet_does_not_stop_the_rest(monkeypatch, hooks):
    whales = [_scored_whale() for _ in range(5)]
    bad = whales[2].pk
    real = scoring.wallet_score_compute

    def flaky(*, inputs, config):
        if inputs.whale_id == bad:
            raise ArithmeticError("bad data")
        return real(inputs=inputs, config=config)

    monkeypatch.setattr(scoring, "wallet_score_compute", flaky)
    run = scoring_run(now=NOW)
    assert (run.status, run.total, run.processed, run.updated, run.failed) == (RunStatus.PARTIAL, 5, 4, 4, 1)
    assert set(WalletScore.objects.values_list("whale_id", flat=True)) == {w.pk for w in whales} - {bad}


def test_never_two_runs_at_once(hooks):
    _scored_whale()
    called = []
    scoring_finished_hook_register(called.append)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            assert cursor.fetchone()[0] is True
        run = scoring_run(now=NOW)
        assert (run.status, run.error, run.total, run.processed) == (
            RunStatus.FAILED, "skipped: another scoring run is in progress", 0, 0)
        assert WalletScore.objects.count() == 0
        assert called == []
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    finally:
        other.close()
    assert scoring_run(now=NOW).status == RunStatus.OK
    assert WalletScore.objects.count() == 1


def test_a_run_releases_its_lock(hooks):
    scoring_run(now=NOW)
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            assert cursor.fetchone()[0] is True
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
    finally:
        other.close()


def test_abandoned_running_rows_are_closed(hooks):
    stale = ScoringRun.objects.create(formula_version="v1", started_at=NOW - timedelta(hours=2))
    scoring_run(now=NOW)
    stale.refresh_from_db()
    assert (stale.status, stale.error) == (RunStatus.FAILED, "abandoned: the worker stopped before finishing")


def test_history_is_kept_and_only_changes_are_written(hooks):
    whale = _scored_whale()
    first = scoring_run(now=NOW)
    WalletMetrics.objects.filter(whale=whale).update(roi_percent=Decimal("150"))
    second = scoring_run(now=NOW + timedelta(minutes=15))
    third = scoring_run(now=NOW + timedelta(minutes=30))
    rows = list(WalletScore.objects.filter(whale=whale).order_by("scored_at"))
    # roi 50 -> 150: normalized 0.375 -> 0.625, so the score gains 100 x 0.35 x 0.25 = 8.75.
    assert [(r.score, r.is_current, r.run_id) for r in rows] == [
        (Decimal("49.55"), False, first.pk), (Decimal("58.30"), True, second.pk)]
    assert (third.processed, third.updated) == (1, 0)


def test_untracked_whales_keep_their_scores_and_are_not_rescored(hooks):
    whale = _scored_whale()
    scoring_run(now=NOW)
    whale.is_tracked = False
    whale.save()
    WalletMetrics.objects.filter(whale=whale).update(roi_percent=Decimal("150"))
    run = scoring_run(now=NOW)
    assert run.total == 0
    assert list(WalletScore.objects.values_list("score", "is_current")) == [(Decimal("49.55"), True)]


def test_finish_hook_is_called_once_per_run_and_a_failing_hook_is_contained(hooks):
    calls = []
    scoring_finished_hook_register(calls.append)
    scoring_finished_hook_register(calls.append)  # registered once

    def broken(run):
        raise ConnectionError("redis down")

    scoring_finished_hook_register(broken)
    run = scoring_run(now=NOW)
    assert calls == [run]
    assert run.status == RunStatus.OK


def test_score_wallets_task_calls_the_run(settings):
    with mock.patch.object(tasks, "scoring_run") as run:
        tasks.score_wallets()
    run.assert_called_once_with(batch_size=50)
    settings.WHALE_SCORING_ENABLED = False
    with mock.patch.object(tasks, "scoring_run") as run:
        tasks.score_wallets()
    run.assert_not_called()


def test_classify_whales_task_calls_the_service():
    with mock.patch.object(tasks, "whales_classify") as classify:
        tasks.classify_whales()
    classify.assert_called_once_with()


def test_beat_rows_exist():
    scoring_row = PeriodicTask.objects.get(task="whales.score_wallets")
    classify_row = PeriodicTask.objects.get(task="whales.classify_whales")
    assert (scoring_row.interval.every, scoring_row.interval.period, scoring_row.expire_seconds) == (
        15, "minutes", 900)
    assert (classify_row.interval.every, classify_row.interval.period) == (1, "days")
    assert tasks.score_wallets.name == "whales.score_wallets"
    assert tasks.classify_whales.name == "whales.classify_whales"


def test_formula_version():
    assert FORMULA_VERSION == "v1"


def test_admin_shows_runs_and_scores(admin_client, hooks):
    whale = _scored_whale()
    scoring_run(now=NOW)
    response = admin_client.get(reverse("admin:whales_scoringrun_changelist"))
    assert response.status_code == 200
    assert b"skipped" not in response.content
    response = admin_client.get(reverse("admin:whales_walletscore_changelist"))
    assert response.status_code == 200
    assert b"49.55" in response.content
    score = WalletScore.objects.get(whale=whale)
    assert admin_client.get(reverse("admin:whales_walletscore_change", args=[score.pk])).status_code == 200
    assert admin_client.get(reverse("admin:whales_scoringrun_change", args=[score.run_id])).status_code == 200


def test_whale_admin_shows_reason_and_manual_marker(admin_client):
    whale = WhaleFactory(type="holder", type_is_manual=True, type_reason="analyst: cold storage")
    response = admin_client.get(reverse("admin:whales_whale_changelist"))
    assert b'title="analyst: cold storage">Holder (manual)' in response.content
    response = admin_client.get(reverse("admin:whales_whale_change", args=[whale.pk]))
    assert b"analyst: cold storage" in response.content
