"""Faults on the running embedded main job (``make run`` without Redis: SQLite, the in-memory broker, the
embedded worker and beat): SQLite's "database is locked" fails collector runs, which are recorded in the
run log and retried, and the job goes on collecting once the lock is gone."""

import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.processes import MainJob, beat_rows_retime, embedded_main_job

pytestmark = pytest.mark.slow

ROW = "ethereum: collect whale activity from new blocks"


def runs(job: MainJob) -> list[dict]:
    return job.get("/api/v1/collectors/ethereum")["runs"]


def started(run: dict) -> datetime:
    return datetime.fromisoformat(run["started_at"].replace("Z", "+00:00"))


def test_database_is_locked_fails_runs_in_the_log_and_the_collector_carries_on(tmp_path):
    with embedded_main_job(tmp_path, env={"SQLITE_BUSY_TIMEOUT_S": "0.5"}) as job:
        beat_rows_retime(job.database, [ROW], every_s=1)
        time.sleep(8)
        finished = [r["status"] for r in runs(job) if r["status"] != "running"]  # the newest may be under way
        assert finished[:3] == ["ok", "ok", "ok"]

        lock = sqlite3.connect(job.database, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")  # another writer holds the file: every write waits 0.5 s, then fails
        locked_at = datetime.now(tz=UTC)
        time.sleep(6)
        lock.execute("ROLLBACK")
        released_at = datetime.now(tz=UTC)
        lock.close()
        time.sleep(12)  # retries back off 5 s (with jitter) at first; beat keeps the 1 s schedule

        log = runs(job)
        failed = [r for r in log if r["status"] == "failed"]
        assert failed, log
        # The public API names no detail (ledgers.redact); the run log in the database holds the reason.
        assert {r["error"] for r in failed} == {"failed (the detail is shown to staff only)"}
        with sqlite3.connect(job.database) as db:
            marks = ",".join("?" * len(failed))
            errors = {row[0] for row in db.execute(f"SELECT error FROM ledgers_collectorrun WHERE id IN ({marks})",  # noqa: S608
                                                   [r["id"] for r in failed])}
        assert errors == {"OperationalError: database is locked"}
        assert all(locked_at - timedelta(seconds=1) <= started(r) <= released_at for r in failed)
        later = [r["status"] for r in log if started(r) > released_at + timedelta(seconds=1)]
        assert later.count("ok") >= 3 and set(later) <= {"ok", "running"}  # the newest may still be running
        assert job.process.poll() is None
