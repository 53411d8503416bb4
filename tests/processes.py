"""Helpers for tests that run our servers as real subprocesses (daphne, Celery, the main job): a free
loopback port, the pytest database's URL for the children, waiting for a port, stopping a process, a daphne
server and a WebSocket client of its live feed, and the embedded main job itself."""

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
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
from websockets.asyncio.client import ClientConnection, connect

from tests.ports import free_port

BASE_DIR = Path(settings.BASE_DIR)
VENV_BIN = Path(sys.executable).parent


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


@contextmanager
def daphne_server(log_path: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """daphne serving ``whaletrack.asgi`` on a free loopback port; yields its base URL ``ws://127.0.0.1:<port>``
    once the port listens (the HTTP routes answer on ``http://`` at the same address).

    Its environment is this process's, with DJANGO_SETTINGS_MODULE, the pytest database (``database_url()``)
    and then ``env`` (REDIS_URL, limits, ...) over it, less DJANGO_ALLOW_ASYNC_UNSAFE (daphne must refuse
    sync ORM calls in its event loop as in production). Its output goes to ``log_path``.
    Raises: RuntimeError / TimeoutError from ``wait_for_port`` (with the log's tail) when it does not start.
    Stopped on exit (SIGTERM, then SIGKILL: ``stop``)."""
    port = free_port()
    child_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "whaletrack.settings", "DATABASE_URL": database_url(),
                 **(env or {})}
    child_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with log_path.open("w") as log:
        process = subprocess.Popen(  # noqa: S603  (our own daphne with fixed arguments)
            [str(VENV_BIN / "daphne"), "-b", "127.0.0.1", "-p", str(port), "whaletrack.asgi:application"],
            cwd=BASE_DIR, env=child_env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(port, process, log=log_path)
            yield f"ws://127.0.0.1:{port}"
        finally:
            stop(process)


class FeedClient:
    """A WebSocket client of a live feed (``/ws/events/``, ``/ws/alerts/``) reading on its own thread (the
    ``websockets`` asyncio client): ``frames`` holds every frame it received, decoded JSON, in arrival order.

    Without ``backfill_url`` it holds one socket, open when the constructor returns (which raises what
    ``connect`` raised when it cannot open: InvalidStatus for a refused handshake, TimeoutError, OSError), and
    stops reading when the server closes it. With ``backfill_url`` (``http://…/api/v1/events/recent``) it
    behaves as the dashboard does: it reconnects 0.2 s after its socket closes or cannot open and, after each
    reconnect, backfills what it missed with ``GET backfill_url?since_id=<largest id it has>`` (the
    consumers' documented protocol) into ``backfilled``; the constructor does not wait for the socket then.
    ``headers`` go with the handshake and the backfill; ``connects`` counts the opened sockets, ``closes``
    says why each ended (or failed to open)."""

    def __init__(self, url: str, headers: dict[str, str] | None = None, *, backfill_url: str | None = None,
                 open_timeout_s: float = 10) -> None:
        self.url, self.headers, self.backfill_url = url, headers or {}, backfill_url
        self.open_timeout_s = open_timeout_s
        self.frames: list[dict] = []
        self.backfilled: list[int] = []
        self.connects = 0
        self.closes: list[str] = []
        self._stop = threading.Event()
        self._first = threading.Event()  # the first socket opened or failed to
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._socket: ClientConnection | None = None
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        self._thread.start()
        if backfill_url is None:
            self._first.wait(timeout=open_timeout_s + 10)
            if self._error is not None:
                self._thread.join(timeout=10)
                raise self._error
            if not self.connects:
                raise TimeoutError(f"{url} did not open within {open_timeout_s + 10} s")

    def event_ids(self) -> list[int]:
        """Ids of the ``event`` frames, in arrival order, repeats kept."""
        return [frame["event"]["id"] for frame in list(self.frames) if frame.get("type") == "event"]

    def seen(self) -> set[int]:
        """Event ids the socket sent or the backfill added."""
        return set(self.event_ids()) | set(self.backfilled)

    def send_json(self, message: dict) -> None:
        """Send ``message`` on the open socket. Raises: what ``send`` raises (ConnectionClosed), TimeoutError."""
        assert self._loop is not None and self._socket is not None, "no open socket"
        asyncio.run_coroutine_threadsafe(self._socket.send(json.dumps(message)), self._loop).result(timeout=10)

    def _backfill(self) -> None:
        assert self.backfill_url is not None
        while True:
            since = max(self.seen(), default=0)
            answer = requests.get(self.backfill_url, params={"since_id": since, "limit": 100},
                                  headers=self.headers, timeout=10)
            answer.raise_for_status()
            items = answer.json()["items"]
            self.backfilled.extend(item["id"] for item in items if item["id"] not in self.seen())
            if len(items) < 100:
                return

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            try:
                async with connect(self.url, open_timeout=self.open_timeout_s,
                                   additional_headers=self.headers) as websocket:
                    self._socket = websocket
                    self.connects += 1
                    self._first.set()
                    if self.connects > 1:
                        await asyncio.to_thread(self._backfill)
                    while not self._stop.is_set():
                        try:
                            self.frames.append(json.loads(await asyncio.wait_for(websocket.recv(), timeout=0.2)))
                        except TimeoutError:
                            continue
            except Exception as exc:  # a closed or refused socket, a failed backfill: note it (and reconnect)
                self.closes.append(f"{type(exc).__name__}: {exc} at {time.monotonic() - self._t0:.1f} s"[:200])
                if not self.connects:
                    self._error = exc
                self._first.set()
            finally:
                self._socket = None
            if self.backfill_url is None:
                return
            self._error = None
            await asyncio.sleep(0.2)

    def close(self) -> None:
        """Close the socket and stop the thread (waits up to 10 s)."""
        self._stop.set()
        self._thread.join(timeout=10)


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
