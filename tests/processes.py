"""Helpers for tests that run our servers as real subprocesses (daphne, Celery): a free loopback port,
the pytest database's URL for the children, waiting for a port, and stopping a process."""

import signal
import socket
import subprocess
import time
from pathlib import Path

from django.db import connection


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
