"""Faults on a running Celery worker process (production shape: ``celery -A whaletrack worker`` on Redis).

- Its broker restarts (Redis killed and started again, empty): the worker is not ended for good; it
  reconnects and runs the next task.
- The Redis under a collector's request budget goes away: the run fails, recorded in the run log with the
  reason, and is retried (``SourceUnavailable``); once Redis is back the retry collects everything.

Each test runs its own ``redis-server`` on a free port, so it can be killed without touching the suite's.
"""

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from celery import Celery

from ledgers.models import CollectorRun
from tests.ledgers.glass.bitcoin import recorded
from tests.processes import BASE_DIR, RedisServer, database_url, stop, until
from tests.requirements import require
from tests.whales.factories import WhaleFactory
from whales.models import RunStatus, Trade, WalletMetrics, Whale

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

QUEUE = "whaletrack-test-faults"  # its own queue: nothing else queued in Redis runs on this worker
VENV_BIN = Path(sys.executable).parent


@pytest.fixture
def redis_server(tmp_path) -> Iterator[Callable[[], RedisServer]]:
    require(shutil.which("redis-server") is not None, "redis-server is missing (apt-get install -y redis-server)")
    servers: list[RedisServer] = []

    def make() -> RedisServer:
        servers.append(RedisServer(tmp_path))
        servers[-1].start()
        return servers[-1]

    yield make
    for server in servers:
        server.kill()


@pytest.fixture
def worker(tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start ``celery -A whaletrack worker`` (threads) on QUEUE with the test database and the given env."""
    processes: list[subprocess.Popen] = []

    def start(**env: str) -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(processes)}.log").open("w")
        processes.append(subprocess.Popen(  # noqa: S603  (our own Celery app with fixed arguments)
            [str(VENV_BIN / "celery"), "-A", "whaletrack", "worker", "--pool=threads", "--concurrency=2", "-Q", QUEUE,
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "whaletrack.settings", "DATABASE_URL": database_url(), **env}))
        return processes[-1]

    yield start
    for process in processes:
        stop(process)


def test_the_worker_reconnects_after_its_broker_restarts_and_runs_the_next_task(redis_server, worker):
    broker = redis_server()
    process = worker(CELERY_BROKER_URL=broker.url(0), REDIS_URL=broker.url(1))
    sender = Celery(broker=broker.url(0))
    first, second = WhaleFactory(), WhaleFactory()

    sender.send_task("whales.recompute_metrics", kwargs={"whale_ids": [first.pk]}, queue=QUEUE)
    until(lambda: WalletMetrics.objects.filter(whale=first).exists(), timeout=60)

    broker.kill()  # the broker dies (a restart, a failover): the worker loses its connection
    time.sleep(3)
    broker.start()  # back, empty
    sender.send_task("whales.recompute_metrics", kwargs={"whale_ids": [second.pk]}, queue=QUEUE)
    until(lambda: WalletMetrics.objects.filter(whale=second).exists(), timeout=90)
    assert process.poll() is None


def test_a_budget_store_outage_fails_the_run_in_the_log_and_the_retry_collects(redis_server, worker, replay):
    from whaletrack.celery import app  # the suite's broker (make test's Redis), on QUEUE only

    budget_store = redis_server()
    process = worker(REDIS_URL=budget_store.url(0), CELERY_BROKER_URL=app.conf.broker_url,
                     BITCOIN_API_URL=replay.bitcoin_url, BITCOIN_API_BUDGET="1000000/minute")
    whale = Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    expected = len(recorded.exposed("satoshi-genesis-txs.json"))

    budget_store.kill()
    app.send_task("bitcoin.collect_addresses", queue=QUEUE)
    failed = until(lambda: CollectorRun.objects.filter(collector="bitcoin", status=RunStatus.FAILED).first(),
                   timeout=60)
    assert "request budget bitcoin_api cannot be read" in failed.error
    assert not Trade.objects.filter(whale=whale).exists()

    budget_store.start()  # the task retries with backoff (10 s doubling, with jitter) and collects
    until(lambda: Trade.objects.filter(whale=whale).count() == expected, timeout=120)
    # The address's trades commit before the run log's row is closed (its own write, just after): wait for it.
    until(lambda: list(CollectorRun.objects.filter(collector="bitcoin").order_by("started_at")
                       .values_list("status", flat=True))[-1] == RunStatus.OK, timeout=30)
    assert process.poll() is None
