"""Helpers for tests that run our servers as real subprocesses (daphne, Celery, the main job): a free
loopback port, the pytest database's URL for the children, waiting for a port, stopping a process, and
the embedded main job itself."""

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis
import requests
from django.conf import settings
from django.db import connection

from tests.ports import free_port

BASE_DIR = Path(settings.BASE_DIR)


def database_url() -> str:
    """postgres:// URL of the pytest test database (what the subprocesses must use)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def wait_for_port(port: int, process: subprocess.Popen, *, log: Path | None = None, timeout: float = 30.0) -> None:
    """Wait until ``process`` listens on ``port``. Raises: RuntimeError when it exits first,
    TimeoutError after ``timeout`` seconds (both with the tail of ``log`` when given)."""
    tail = (lambda: "\n" + log.read_text()[-3000:]) if log is not None else (lambda: "")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the process for port {port} exited with {process.returncode}{tail()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listened on {port} within {timeout} s{tail()}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 10 s (daphne sometimes ignores SIGTERM: STACK.md pitfall 7)."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@dataclass
class MainJob:
    """A running ``run_main`` subprocess: its base URL, its SQLite file, its log and the process."""

    url: str
    database: Path
    log: Path
    process: subprocess.Popen

    def get(self, path: str) -> Any:
        """GET ``path`` and return the JSON body. Raises: requests.HTTPError for a non-2xx answer."""
        response = requests.get(f"{self.url}{path}", timeout=10)
        response.raise_for_status()
        return response.json()


@contextmanager
def embedded_main_job(tmp_path: Path, *, env: dict[str, str] | None = None,
                      timeout_s: float = 180.0) -> Iterator[MainJob]:
    """``make run`` as a user without Redis gets it, serving: ``run_main --skip-setup`` (migrate, the admin
    user ``admin`` / ``pw-admin-embedded``, the replay node as the sources, then daphne beside the
    embedded Celery worker and beat) on a new SQLite file in ``tmp_path``, the in-memory broker and
    channel layer. ``env`` adds or overrides variables. Stopped (SIGTERM, then SIGKILL) on exit."""
    port = free_port()
    database = tmp_path / "embedded.sqlite3"
    log = tmp_path / "run_main.log"
    child_env = {key: value for key, value in os.environ.items()
                 if key not in ("REDIS_URL", "CELERY_BROKER_URL", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    child_env.update({
        "DATABASE_URL": f"sqlite:///{database}", "WHALETRACK_SOURCES": "replay", "REPLAY_PORT": "0",
        "HOST": "127.0.0.1", "PORT": str(port), "WHALETRACK_ADMIN_PASSWORD": "pw-admin-embedded",
        "PYTHONUNBUFFERED": "1", **(env or {}),
    })
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_main", "--skip-setup"], cwd=BASE_DIR, env=child_env,
            stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, process, log=log, timeout=timeout_s)
            yield MainJob(url=f"http://127.0.0.1:{port}", database=database, log=log, process=process)
        finally:
            stop(process)


def beat_rows_retime(database: Path, names: list[str], *, every_s: int) -> None:
    """Put the beat rows ``names`` of the SQLite file ``database`` on an every-``every_s``-seconds schedule
    as the admin's save does: the rows, then the change marker beat watches (PeriodicTasks.last_update)."""
    with sqlite3.connect(database) as db:
        db.execute("INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (?, 'seconds')", (every_s,))
        (interval_id,) = db.execute("SELECT max(id) FROM django_celery_beat_intervalschedule").fetchone()
        for name in names:
            updated = db.execute("UPDATE django_celery_beat_periodictask SET interval_id = ?, expire_seconds = ? "
                                 "WHERE name = ?", (interval_id, every_s, name)).rowcount
            assert updated == 1, f"no beat row named {name!r}"
        db.execute("UPDATE django_celery_beat_periodictasks SET last_update = ?",
                   (datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),))


class RedisServer:
    """A ``redis-server`` of this test on a free loopback port, in memory only; ``kill`` is SIGKILL."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603  (the machine's redis-server, fixed arguments)
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until(lambda: redis.Redis(port=self.port, socket_timeout=0.5).ping(), timeout=10, errors=(redis.RedisError,))

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)


def until(check: Callable[[], object], *, timeout: float, errors: tuple[type[BaseException], ...] = ()) -> object:
    """Poll ``check`` until it returns something truthy; return it. Raises: TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except errors:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise TimeoutError(f"not true within {timeout} s: {check}")
