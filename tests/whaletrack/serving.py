"""The production layout as tests run it: ``make serve``'s two steps (``manage.py serve_prepare``, then honcho on
a Procfile) against the pytest PostgreSQL database and the test Redis, on free ports, with every process's pid
found through /proc so a test can check that none outlives the stop."""

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.processes import BASE_DIR, VENV_BIN, database_url, free_port, until, wait_for_port

PROCFILE = BASE_DIR / "Procfile"


def nginx_available() -> bool:
    """Debian's nginx is installed (``make services`` / .ci/services.sh installs it)."""
    return shutil.which("nginx", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin"])) is not None


def procfile_commands(path: Path = PROCFILE) -> dict[str, str]:
    """The Procfile's process types and their commands, in order (comments and blank lines skipped)."""
    commands = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


def process_tree(root: int) -> set[int]:
    """``root`` and every process descending from it now (parents read from /proc/<pid>/stat)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, todo = {root}, [root]
    while todo:
        parent = todo.pop()
        children = {pid for pid, ppid in parents.items() if ppid == parent} - tree
        tree |= children
        todo.extend(children)
    return tree


def running(pid: int) -> bool:
    """The process exists and is not a zombie (an exited process whose parent has not collected it yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_open(port: int) -> bool:
    """Something accepts connections on 127.0.0.1:``port``."""
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def stack_environment(tmp_path: Path, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment ``make serve`` would give the processes here: the pytest database, ``redis_url`` for the
    broker, channel layer and cache, static files and nginx's folder under ``tmp_path``, the venv's tools on
    PATH, and ``extra``. DJANGO_NUM_PROXIES is left to the Procfile (1, behind nginx)."""
    env = {key: value for key, value in os.environ.items()
           if key not in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_NUM_PROXIES", "CELERY_BROKER_URL", "PORT")}
    env.update({
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "whaletrack.settings",
        "DATABASE_URL": database_url(), "REDIS_URL": redis_url,
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"), "SERVE_DIR": str(tmp_path / "serve"),
        "PYTHONUNBUFFERED": "1", **extra,
    })
    return env


@dataclass
class Stack:
    """A running honcho (``process``) and its log; ``pids`` holds every process of its tree seen so far."""

    process: subprocess.Popen
    log: Path
    pids: set[int] = field(default_factory=set)

    def look(self) -> set[int]:
        """Add the processes of honcho's tree now to ``pids``; return the tree now."""
        tree = process_tree(self.process.pid)
        self.pids |= tree
        return tree

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM to honcho (as Ctrl-C or a service manager would), wait; return its exit code. Raises:
        subprocess.TimeoutExpired when honcho is not gone within ``timeout_s``."""
        self.look()
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout_s)

    def text(self) -> str:
        return self.log.read_text()


def serve_prepare(env: dict[str, str], log: Path) -> None:
    """``make serve``'s first step. Raises: AssertionError with the output when it fails."""
    result = subprocess.run(
        [sys.executable, "manage.py", "serve_prepare"], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=300, check=False)
    log.write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr


@contextmanager
def honcho(procfile: Path, env: dict[str, str], log: Path, *, wait_ports: list[int],
           timeout_s: float = 120.0) -> Iterator[Stack]:
    """``honcho start`` on ``procfile`` (from the repo's folder, reading no env file, as ``make serve`` does),
    until every port of ``wait_ports`` listens. Stopped on exit if the test did not stop it (SIGTERM; the
    whole tree SIGKILLed after 30 s)."""
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603  (honcho from the venv, fixed arguments)
            [str(VENV_BIN / "honcho"), "start", "--no-colour", "--env", "/dev/null", "--procfile", str(procfile),
             "--app-root", str(BASE_DIR)],
            cwd=BASE_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
    stack = Stack(process=process, log=log)
    try:
        for port in wait_ports:
            wait_for_port(port, process, log=log, timeout=timeout_s)
        stack.look()
        yield stack
    finally:
        if process.poll() is None:
            tree = stack.look()
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                for pid in tree:
                    if running(pid):
                        os.kill(pid, signal.SIGKILL)
                process.wait(timeout=10)


def http_ready(url: str, *, timeout_s: float = 60.0) -> None:
    """Wait until GET ``url`` answers 200 (the app behind the front door has booted)."""
    until(lambda: requests.get(url, timeout=5).status_code == 200, timeout=timeout_s,
          errors=(requests.RequestException,))


__all__ = [
    "Stack",
    "free_port",
    "honcho",
    "http_ready",
    "nginx_available",
    "port_open",
    "process_tree",
    "procfile_commands",
    "running",
    "serve_prepare",
    "stack_environment",
]
