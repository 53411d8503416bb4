"""The data-quality monitor (ledgers.quality) on states the tests build: empty, stale, inaccurate, healthy; its
accuracy checks on the recordings (CoinGecko prices, Hyperliquid fills, SEC submissions, Reddit listings), each
passing on the recorded data and failing on one row the test breaks; the issues' life (opened once, one
``data_quality`` event and one staff e-mail, closed when fixed); the API and the beat row."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.hyperliquid.activity import fill_activities
from ledgers.glass.hyperliquid.client import fill_decode
from ledgers.models import CollectorRun, QualityIssue, QualityReport
from ledgers.quality import quality_assess, quality_run, timeliness_of
from ledgers.refs import WhaleRef
from ledgers.registry import Ledger, collector_get, collector_names
from tests.ledgers.glass.hyperliquid import recorded
from tests.whales.factories import TradeFactory, WhaleEventFactory, WhaleFactory
from whales.analytics.metrics import metrics_recompute_pending
from whales.context import CatalystItem, MoodItem, catalysts_upsert, moods_upsert
from whales.models import (
    CatalystEvent,
    EventType,
    MetricsPending,
    MoodReading,
    RunStatus,
    Trade,
    WalletMetrics,
    Whale,
    WhaleEvent,
)
from whales.services import trades_ingest

pytestmark = pytest.mark.django_db
D = Decimal


def enabled(ledger: str) -> list[str]:
    """The ledger's collectors that run: a beat row of their task is enabled, or they are a monitor (no task)."""
    tasks = set(PeriodicTask.objects.filter(enabled=True).values_list("task", flat=True))
    return [n for n in collector_names() if collector_get(n).ledger == ledger
            and (not collector_get(n).task or collector_get(n).task in tasks)]


def ran(name: str, *, ago: timedelta) -> None:
    """A successful run of collector ``name`` that started ``ago`` before now."""
    at = timezone.now() - ago
    CollectorRun.objects.create(collector=name, started_at=at, finished_at=at, status=RunStatus.OK, duration_ms=10)


def score(completeness: Decimal, timeliness: Decimal, accuracy: Decimal) -> Decimal:
    return (D("0.3") * completeness + D("0.4") * timeliness + D("0.3") * accuracy).quantize(D("0.1"))


def every_probe_has_data() -> None:
    whale = WhaleFactory()
    TradeFactory(whale=whale, amount_base=D("2"), price_usd=D("3000"), value_usd=D("6000.00"))
    eth = Asset.objects.get(chain="ethereum", contract_address="")
    PriceHistory.objects.create(asset=eth, timestamp=timezone.now(), price_usd=D("3000"))
    catalysts_upsert(source="test", items=[CatalystItem(source_ref="1", type="listing", title="t", url="",
                                                        occurred_at=timezone.now(), impact_score=50, coins=["ETH"])])
    moods_upsert(source="test", items=[MoodItem(source_ref="1", coins=["ETH"], occurred_at=timezone.now(),
                                                compound=D("0.5"), weight=D("1"))])


# --- scores on built states -------------------------------------------------------------------------------------
def test_timeliness_is_full_to_the_bound_then_falls_linearly_to_zero_at_three_times_it():
    assert [timeliness_of(age_s=a, stale_after_s=600) for a in (None, 0, 600, 900, 1200, 1500, 1800, 5000)] == [
        0, 100, 100, 75, 50, 25, 0, 0]


def test_an_empty_install_is_incomplete_and_late_in_every_ledger():
    assert not (Trade.objects.exists() or PriceHistory.objects.exists() or CatalystEvent.objects.exists()
                or MoodReading.objects.exists() or CollectorRun.objects.exists())
    assessment = quality_assess()
    for ledger in Ledger:
        # Nothing to check: accuracy 100; nothing stored, nothing run: completeness and timeliness 0.
        assert assessment.ledgers[ledger] == {"score": D("30.0"), "completeness": D("0.0"), "timeliness": D("0.0"),
                                              "accuracy": D("100.0")}, ledger
    assert assessment.score == D("30.0")
    keys = {i["key"]: i["severity"] for i in assessment.issues}
    for probe in ("glass.trades", "exchange.prices", "human.moods", "catalyst.events"):
        assert keys[f"completeness:data:{probe}"] == "high"
    for ledger in Ledger:
        for name in enabled(ledger):
            assert keys[f"completeness:collector:{name}"] == "medium"
    assert len(keys) == 4 + sum(len(enabled(ledger)) for ledger in Ledger)


def test_a_healthy_system_scores_100_with_no_issue():
    every_probe_has_data()
    for name in collector_names():
        ran(name, ago=timedelta(seconds=5))
    assessment = quality_assess()
    assert assessment.issues == []
    assert assessment.score == D("100.0")
    assert all(v == {"score": D("100.0"), "completeness": D("100.0"), "timeliness": D("100.0"),
                     "accuracy": D("100.0")} for v in assessment.ledgers.values())


def test_stale_collectors_lose_timeliness_by_their_age():
    every_probe_has_data()
    names = enabled(Ledger.EXCHANGE)
    assert names
    for name in names:
        ran(name, ago=timedelta(seconds=collector_get(name).stale_after_s * 2))
    exchange = quality_assess().ledgers[Ledger.EXCHANGE]
    assert exchange == {"score": score(D(100), D(50), D(100)), "completeness": D("100.0"), "timeliness": D("50.0"),
                        "accuracy": D("100.0")}
    issues = {i["key"]: i for i in quality_assess().issues if i["ledger"] == Ledger.EXCHANGE}
    assert {k: i["severity"] for k, i in issues.items()} == {f"timeliness:{n}": "medium" for n in names}

    CollectorRun.objects.all().delete()
    for name in names:
        ran(name, ago=timedelta(seconds=collector_get(name).stale_after_s * 3 + 60))
    assessment = quality_assess()
    assert assessment.ledgers[Ledger.EXCHANGE]["timeliness"] == D("0.0")
    assert assessment.ledgers[Ledger.EXCHANGE]["score"] == score(D(100), D(0), D(100)) == D("60.0")
    assert {i["key"]: i["severity"] for i in assessment.issues if i["ledger"] == Ledger.EXCHANGE} == {
        f"timeliness:{n}": "high" for n in names}


def test_one_bad_trade_value_costs_its_share_of_glass_accuracy():
    every_probe_has_data()
    for name in collector_names():
        ran(name, ago=timedelta(seconds=5))
    whale = Whale.objects.get()
    for n in range(3):
        TradeFactory(whale=whale, amount_base=D("1.5"), price_usd=D("100"), value_usd=D("150.00"), log_index=n)
    bad = TradeFactory(whale=whale, amount_base=D("1.5"), price_usd=D("100"), value_usd=D("150.02"), log_index=9)
    assessment = quality_assess()
    assert (assessment.checks["trade_value"]["checked"], assessment.checks["trade_value"]["failed"]) == (5, 1)
    # Four glass checks: three pass (100), trade_value scores 100 x (1 - 1/5) = 80; their mean is 95.
    glass_checks = [c for c in assessment.checks.values() if c["ledger"] == Ledger.GLASS]
    assert len(glass_checks) == 4
    assert assessment.ledgers[Ledger.GLASS] == {"score": score(D(100), D(100), D(95)), "completeness": D("100.0"),
                                                "timeliness": D("100.0"), "accuracy": D("95.0")}
    issue = next(i for i in assessment.issues if i["key"] == "accuracy:trade_value")
    assert (issue["severity"], issue["count"], issue["examples"]) == ("medium", 1, [str(bad.pk)])


# --- accuracy checks on the recordings ------------------------------------------------------------------------
def test_price_check_flags_exactly_the_recorded_spikes_and_one_made_here():
    call_command("import_prices", verbosity=0)
    expected_bad = set()
    for asset_id in PriceHistory.objects.values_list("asset_id", flat=True).distinct():
        rows = list(PriceHistory.objects.filter(asset_id=asset_id).order_by("timestamp", "id")
                    .values_list("id", "price_usd"))
        for k, (pk, price) in enumerate(rows):
            prev = rows[k - 1][1] if k else None
            nxt = rows[k + 1][1] if k + 1 < len(rows) else None
            spike = prev is not None and nxt is not None and prev > 0 and nxt > 0 and (
                (price > 2 * prev and price > 2 * nxt) or (price * 2 < prev and price * 2 < nxt))
            if price <= 0 or spike:
                expected_bad.add(pk)
    outcome = quality_assess().checks["price_neighbours"]
    assert (outcome["checked"], outcome["failed"]) == (PriceHistory.objects.count(), len(expected_bad))

    middle = PriceHistory.objects.filter(asset__symbol="ETH").order_by("timestamp")[1000]
    middle.price_usd *= 10
    middle.save()
    outcome = quality_assess().checks["price_neighbours"]
    assert outcome["failed"] == len(expected_bad) + 1


def test_hyperliquid_check_passes_on_the_recorded_fills_and_fails_on_a_changed_figure():
    whale = Whale.objects.create(chain="hyperliquid", address=recorded.FILLS_USER)
    ref = WhaleRef(id=whale.pk, address=whale.address, name="")
    trades_ingest(activities=[a for fill in recorded.fills() for a in fill_activities(fill_decode(fill), ref)])
    assert MetricsPending.objects.filter(whale=whale).exists()
    assert quality_assess().checks["hyperliquid_closed_pnl"]["checked"] == 0  # waiting for its recompute: skipped
    assert metrics_recompute_pending(debounce_s=0) == 1
    check = quality_assess().checks["hyperliquid_closed_pnl"]
    assert (check["checked"], check["failed"]) == (1, 0)
    recorded_net = sum(D(f["closedPnl"]) - D(f["fee"]) for f in recorded.fills())
    metrics = WalletMetrics.objects.get(whale=whale)
    assert D(metrics.details["realized_pnl_usd"]["exchange_closed_pnl"]) == recorded_net
    metrics.details["realized_pnl_usd"]["exchange_closed_pnl"] = str(recorded_net + D("0.01"))
    metrics.save()
    assessment = quality_assess()
    assert (assessment.checks["hyperliquid_closed_pnl"]["failed"],
            next(i for i in assessment.issues if i["key"] == "accuracy:hyperliquid_closed_pnl")["examples"]) == (
        1, [str(whale.pk)])


def test_sec_check_passes_on_the_recorded_filings_and_fails_on_a_lost_catalyst(settings, replay):
    from ledgers.catalyst.sec.models import SecFiling
    from ledgers.catalyst.sec.services import submissions_collect

    settings.SEC_USER_AGENT = "WhaleTrack tests tests@example.com"
    settings.SEC_DATA_URL = replay.sec_data_url
    settings.SEC_WWW_URL = replay.sec_www_url
    settings.SEC_API_BUDGET = "1000000/minute"
    submissions_collect()
    filings = SecFiling.objects.count()
    assert filings > 0
    assert quality_assess().checks["sec_filing_catalyst"]["checked"] == filings
    assert quality_assess().checks["sec_filing_catalyst"]["failed"] == 0
    lost = SecFiling.objects.select_related("issuer").order_by("id").first()
    CatalystEvent.objects.filter(source="sec", source_ref=f"{lost.issuer.cik}:{lost.accession_number}").delete()
    issue = next(i for i in quality_assess().issues if i["key"] == "accuracy:sec_filing_catalyst")
    assert (issue["count"], issue["examples"]) == (1, [lost.accession_number])


def test_reddit_check_passes_on_the_recorded_posts_and_fails_on_a_mislabelled_one(settings, replay):
    from ledgers.human.reddit.models import RedditPost, Subreddit
    from ledgers.human.reddit.services import reddit_collect

    settings.REDDIT_URL = replay.reddit_url
    settings.REDDIT_API_BUDGET = "1000000/minute"
    Subreddit.objects.update(is_active=False)
    Subreddit.objects.create(name="AskReddit", listings="hot,new")
    reddit_collect()
    posts = RedditPost.objects.count()
    assert posts > 0
    check = quality_assess().checks["reddit_post_sentiment"]
    assert (check["checked"], check["failed"]) == (posts, 0)
    post = RedditPost.objects.filter(sentiment_label="bullish").order_by("id").first()
    RedditPost.objects.filter(pk=post.pk).update(sentiment_label="bearish")
    issue = next(i for i in quality_assess().issues if i["key"] == "accuracy:reddit_post_sentiment")
    assert (issue["count"], issue["examples"]) == (1, [post.reddit_id])


# --- issues: opened once, raised once, closed when fixed ---------------------------------------------------------
def test_a_high_issue_raises_one_event_and_one_staff_mail_until_it_is_fixed(
        settings, django_capture_on_commit_callbacks, django_user_model):
    settings.ADMINS = [("", "ops@example.com")]
    django_user_model.objects.create_user(username="ops", password="pw-ops-1", is_staff=True)
    every_probe_has_data()
    for name in collector_names():
        ran(name, ago=timedelta(seconds=5))
    orphan = WhaleEventFactory(whale=Whale.objects.get(), type=EventType.LARGE_TRANSFER, tx_hash="0x" + "ab" * 32)

    with django_capture_on_commit_callbacks(execute=True):
        first = quality_run()
    assert (first.opened, first.closed, first.events) == (1, 0, 1)
    issue = QualityIssue.objects.get(closed_at__isnull=True)
    assert (issue.key, issue.severity, issue.count, issue.examples) == (
        "accuracy:event_without_trade", "high", 1, [str(orphan.pk)])
    event = WhaleEvent.objects.get(type=EventType.DATA_QUALITY)
    assert (event.chain, event.whale_id, event.tx_hash, event.pk) == ("", None, f"quality:{issue.pk}", issue.event_id)
    assert event.published_at is not None  # sent on the live feed at commit
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com"]
    assert event.summary in mail.outbox[0].body
    report = QualityReport.objects.get()
    assert report.score == first.report.score and [i["key"] for i in report.issues] == [issue.key]

    with django_capture_on_commit_callbacks(execute=True):
        again = quality_run()
    assert (again.opened, again.closed, again.events) == (0, 0, 0)
    assert WhaleEvent.objects.filter(type=EventType.DATA_QUALITY).count() == 1 and len(mail.outbox) == 1

    TradeFactory(whale=orphan.whale, chain=orphan.chain, tx_hash=orphan.tx_hash, amount_base=D(1),
                 price_usd=D(10), value_usd=D("10.00"))
    with django_capture_on_commit_callbacks(execute=True):
        fixed = quality_run()
    assert (fixed.opened, fixed.closed, fixed.events) == (0, 1, 0)
    assert QualityIssue.objects.get(pk=issue.pk).closed_at is not None
    assert fixed.report.issues == [] and fixed.report.score == D("100.0")


def test_user_rules_take_a_data_quality_event_only_when_they_name_its_type(django_user_model):
    from alerts.selectors import rules_matching
    from alerts.services import alert_rule_create

    owner = django_user_model.objects.create_user(username="u", password="pw-u-1")
    everything = alert_rule_create(owner_id=owner.pk, name="all")
    named = alert_rule_create(owner_id=owner.pk, name="quality", event_types=["data_quality"])
    event = WhaleEvent.objects.create(chain="", type=EventType.DATA_QUALITY, block_time=timezone.now(),
                                      tx_hash="quality:1", summary="q")
    assert [r.pk for r in rules_matching(event)] == [named.pk]
    assert [r.pk for r in rules_matching(WhaleEventFactory(value_usd=D("5000000")))] == [everything.pk]


# --- API, schedule ------------------------------------------------------------------------------------------------
def test_quality_api_gives_the_latest_report(client, django_user_model):
    user = django_user_model.objects.create_user(username="reader", password="pw-reader-1")
    client.force_login(user)
    assert client.get("/api/v1/quality").status_code == 404  # no run yet
    every_probe_has_data()
    result = quality_run()
    body = client.get("/api/v1/quality").json()
    assert body["score"] == str(result.report.score)
    assert body["computed_at"] == result.report.computed_at.isoformat().replace("+00:00", "Z")
    assert body["weights"] == {"completeness": "0.30", "timeliness": "0.40", "accuracy": "0.30"}
    assert set(body["ledgers"]) == {"glass", "human", "catalyst", "exchange"}
    assert body["ledgers"]["glass"] == result.report.ledgers["glass"]
    assert [i["key"] for i in body["issues"]] == [i["key"] for i in result.report.issues]
    assert set(body["checks"]) == set(result.report.checks)


def test_the_monitor_runs_every_15_minutes_from_a_beat_row():
    row = PeriodicTask.objects.get(task="ledgers.quality_run")
    assert row.enabled and (row.interval.every, row.interval.period) == (15, "minutes")


def test_the_dashboard_panel_shows_each_ledgers_score_and_the_open_issues(client):
    assert "has not run yet" in client.get("/").content.decode()
    report = quality_run().report
    page = client.get("/").content.decode()
    for ledger, figures in report.ledgers.items():
        row = page.split(f'<tr data-ledger="{ledger}">', 1)[1].split("</tr>", 1)[0]
        assert f'value="{figures["score"]}"' in row
        assert [figures[p] for p in ("completeness", "timeliness", "accuracy")] == [
            cell.split("</td>")[0] for cell in row.split('<td class="num">')[1:]]
    issues = page.split('<ul id="quality-issues">', 1)[1].split("</ul>", 1)[0]
    assert issues.count("<li ") == len(report.issues) > 0
