"""Fixtures of the browser tests: a real daphne process on the pytest test database and Redis, and
Debian's Chromium driven by Playwright (``playwright install`` cannot download browsers here: STACK.md
pitfall 8). Without /usr/bin/chromium they skip, and under ``make test`` (WHALETRACK_REQUIRE_SERVICES=1)
they fail instead (``tests.requirements.require``). Subprocess helpers: ``tests.processes``."""

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection, connections

from tests import processes
from tests.requirements import require

BASE_DIR = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOT_DIR = BASE_DIR / "var" / "screenshots"


@pytest.fixture
def chromium_path() -> Path:
    require(CHROMIUM.exists(), f"{CHROMIUM} is missing (apt-get install -y chromium); make test installs it")
    return CHROMIUM


@pytest.fixture
def daphne_env() -> dict[str, str]:
    """More environment for the ``daphne_server`` process (settings read by django-environ there); a test module
    overrides this fixture to run daphne with its own settings (e.g. a venue URL on the replay node)."""
    return {}


@pytest.fixture
def daphne_server(transactional_db, tmp_path, daphne_env) -> Iterator[str]:
    """``http://127.0.0.1:<port>``: daphne serving whaletrack.asgi on the test database and REDIS_URL, so
    group messages sent from this process (publishing, ``feed.disconnect``) reach its consumers; with
    ``daphne_env`` over its environment."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url or connection.vendor != "postgresql":
        pytest.fail("the browser tests need REDIS_URL and a PostgreSQL DATABASE_URL (shared by two processes)")
    call_command("collectstatic", interactive=False, verbosity=0)  # WhiteNoise serves STATIC_ROOT (DEBUG off)
    log = tmp_path / "daphne.log"
    env = {"REDIS_URL": redis_url, "ALERTS_PUBLIC_FEED": "false", "CHANNEL_LAYER_CAPACITY": "1000",
           # account e-mail (sign-up confirmation, password reset) as files the test reads: ``mail_dir``
           "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
           "EMAIL_FILE_PATH": str(tmp_path / "mail"), **daphne_env}
    with processes.daphne_server(log, env) as url:
        yield url.replace("ws://", "http://", 1)
    print(f"daphne log: {log}")


@pytest.fixture
def mail_dir(tmp_path) -> Path:
    """Where the ``daphne_server`` writes the e-mail it sends, one file per message."""
    return tmp_path / "mail"


@pytest.fixture
def browser(chromium_path, transactional_db) -> Iterator[Any]:
    """A headless Chromium (Playwright sync API). Set up after the database and closed before its flush.

    Playwright's sync API keeps an event loop running in this thread (in another greenlet, with its own
    connections): Django refuses ORM calls here and ``async_to_sync`` too, so tests do their database work and
    publishing through ``run`` (a worker thread). Depending on ``transactional_db`` closes the browser
    before pytest-django flushes the database.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(chromium_path), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def run(transactional_db) -> Iterator[Callable[..., Any]]:
    """``run(fn, *args)``: call ``fn`` in a worker thread (no event loop there, its own DB connection) and
    return its result. The worker's connections are closed afterwards (the test database is dropped later)."""
    executor = ThreadPoolExecutor(max_workers=1)

    def call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return executor.submit(fn, *args, **kwargs).result(timeout=120)

    yield call
    executor.submit(connections.close_all).result(timeout=30)
    executor.shutdown()


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
