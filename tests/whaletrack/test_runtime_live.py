"""``make run`` with live sources keeps prices, bridge discovery, scores, classification and flows fresh on
their own beat rows: here the "live" endpoints are the replay node's (the only ones this machine can
reach), the main job runs as a user starts it (``WHALETRACK_SOURCES=live``, no Redis, SQLite), and those
rows are re-timed to every 2 s. Every job then runs again and again on its row, and leaves its own
trace: the run log (prices, discovery), scoring runs, its log line (classification, flows: the recorded
trades are from 2024, outside every flow window, so a flow collection stores no row), and the beat rows'
own counters."""

import sqlite3
import time

import pytest

from tests.processes import MainJob, beat_rows_retime, embedded_main_job

pytestmark = pytest.mark.slow

ROWS = {
    "market: update prices": "market.update_prices",
    "hyperliquid: discover bridge depositors (Arbitrum)": "hyperliquid.discover_bridge_whales",
    "whales: score smart-money wallets": "whales.score_wallets",
    "whales: classify whales": "whales.classify_whales",
    "whales: collect smart-money flows": "whales.collect_flows",
}


def beat_counts(job: MainJob) -> dict[str, int]:
    with sqlite3.connect(job.database) as db:
        rows = db.execute("SELECT name, task, total_run_count FROM django_celery_beat_periodictask").fetchall()
    return {task: count for name, task, count in rows if name in ROWS}


def run_log(job: MainJob, collector: str) -> list[str]:
    return [run["status"] for run in job.get(f"/api/v1/collectors/{collector}")["runs"]]


def scoring_runs(job: MainJob) -> list[str]:
    with sqlite3.connect(job.database) as db:
        return [status for (status,) in db.execute("SELECT status FROM whales_scoringrun ORDER BY id")]


def test_live_make_run_keeps_every_analytics_and_price_job_running_on_its_row(tmp_path, replay):
    env = {
        "WHALETRACK_SOURCES": "live", "ETH_RPC_URL": replay.eth_url, "ETH_CONFIRMATIONS": "0",
        "BITCOIN_API_URL": replay.bitcoin_url, "BITCOIN_WS_URL": replay.bitcoin_ws_url,
        "HYPERLIQUID_API_URL": replay.hyperliquid_url, "ARBITRUM_RPC_URL": replay.arbitrum_url,
        "COINGECKO_API_URL": replay.coingecko_url, "HYPERLIQUID_WEIGHT_BUDGET": "1000000/minute",
        "HYPERLIQUID_BRIDGE_START_BLOCK": "311103000", "HYPERLIQUID_BRIDGE_MIN_USD": "100",
        "DJANGO_LOG_LEVEL": "INFO",
    }
    with embedded_main_job(tmp_path, env=env) as job:
        assert "== Sources: live" in job.log.read_text()
        beat_rows_retime(job.database, list(ROWS), every_s=2)
        time.sleep(6)  # beat sees the change within its 5 s loop
        before = beat_counts(job)
        time.sleep(12)
        after = beat_counts(job)
        assert set(after) == set(ROWS.values())
        assert all(after[task] - before[task] >= 4 for task in after), (before, after)  # every 2 s, not hourly
        # Each job ran, not only was sent: its own trace.
        assert run_log(job, "market").count("ok") >= 4
        assert run_log(job, "hyperliquid_bridge").count("ok") >= 4
        assert scoring_runs(job).count("ok") >= 4
        log = job.log.read_text()
        assert log.count("whales.flows.collected") >= 4
        assert log.count("whales.classify.done") >= 4
        assert job.process.poll() is None
