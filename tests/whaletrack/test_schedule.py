"""The beat schedule the migrations create: one row per periodic job the issue names, each naming a task the
Celery app has registered (a row whose task is unknown would be dispatched and dropped by the worker)."""

import json

import pytest
from django_celery_beat.models import PeriodicTask

from whaletrack.celery import app

pytestmark = pytest.mark.django_db

# Each periodic job and the task its row must run.
REQUIRED = {
    "prices": "market.update_prices",
    "metrics (pending)": "whales.recompute_pending_metrics",
    "metrics (all)": "whales.recompute_all_metrics",
    "metrics backfill": "ledgers.backfill_metrics",
    "classification": "whales.classify_whales",
    "scoring": "whales.score_wallets",
    "flows": "whales.collect_flows",
    "bridge discovery": "hyperliquid.discover_bridge_whales",
    "limit-order matching": "trading.match_limit_orders",
    "daily-loss check": "trading.check_daily_loss",
    "alert sweep": "alerts.flush_digests",
    "event sweep": "alerts.publish_pending",
    "pending-webhook sweep": "alerts.redeliver_webhooks",
    "ethereum": "ethereum.collect_blocks",
    "ethereum holdings": "ethereum.refresh_holdings",
    "bitcoin": "bitcoin.collect_addresses",
    "hyperliquid": "hyperliquid.collect_whales",
    "sec": "sec.collect_submissions",
    "sec_feed": "sec.collect_feed",
    "announcements": "announcements.collect",
    "reddit": "reddit.collect",
    "defillama": "defillama.collect",
    "data-quality monitor": "ledgers.quality_run",
}


def test_every_periodic_job_has_an_enabled_row():
    rows = {row.task: row for row in PeriodicTask.objects.all()}
    missing = {job: task for job, task in REQUIRED.items() if task not in rows}
    assert not missing
    assert all(rows[task].enabled for task in REQUIRED.values())
    assert all(rows[task].interval_id or rows[task].crontab_id for task in REQUIRED.values())


def test_every_row_runs_a_registered_task_with_json_keywords():
    app.loader.import_default_modules()
    rows = list(PeriodicTask.objects.exclude(name="celery.backend_cleanup"))
    assert rows
    unknown = sorted(row.task for row in rows if row.task not in app.tasks)
    assert unknown == []
    for row in rows:
        assert isinstance(json.loads(row.kwargs or "{}"), dict), row.name
        assert isinstance(json.loads(row.args or "[]"), list), row.name
