"""PostgreSQL connections of a collecting process terminated mid-batch (``pg_terminate_backend`` from another
connection, issue 14's fault suite): the run is retried and nothing is lost or doubled.

The Ethereum block collector runs as the Celery task ``ethereum.collect_blocks`` in a child process
(``collector_driver --task``: the task's own retry policy, ``autoretry_for`` the database faults, applied
in the process; its backoff is not waited). While it stores batches, this test waits a seeded random time,
then terminates the collector's backend the moment it is inside a multi-statement transaction (a batch),
TERMINATIONS times. A task that runs out of retries is started again, as the next beat tick would. Afterwards every
table but the run log equals a clean run's of the same chain (``test_collector_kills`` explains the
comparison).
"""

import random
import time
from collections import Counter

import psycopg
import pytest
from django.db import connection

from tests.faults.harness import (
    CollectorDriver,
    chain_script,
    database_clone,
    database_state,
    dsn,
    world_create,
)
from whales.models import Trade, WhaleEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 1406
TERMINATIONS = 12
APPLICATION = "whaletrack-fault-collector"  # the collector child's connections carry this name


def terminate_in_transaction(admin: psycopg.Connection, database: str, *, timeout: float) -> str | None:
    """Terminate the collector's backend as soon as it is inside a transaction of more than one statement (a
    batch, between or during its statements); return the statement it was running (or had run last), or
    None when none was in one within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = admin.execute(
            "SELECT pid, left(query, 60) FROM pg_stat_activity WHERE datname = %s AND application_name = %s "
            "AND pid <> pg_backend_pid() AND xact_start IS NOT NULL "
            "AND (state = 'idle in transaction' OR query_start > xact_start) LIMIT 1",
            (database, APPLICATION)).fetchone()
        if row is not None:
            (terminated,) = admin.execute("SELECT pg_terminate_backend(%s)", (row[0],)).fetchone()
            if terminated:
                return row[1]
        time.sleep(0.002)
    return None


def test_terminated_connections_mid_batch_are_retried_and_nothing_is_lost_or_doubled(chain, tmp_path):
    script = chain_script(chain, seed=SEED, transfers=40, gap_blocks=45)
    world_create(script)
    test_db = connection.settings_dict["NAME"]
    env = {"ETH_START_BLOCK": str(script.first)}

    with database_clone("clean") as clean_db:
        clean = CollectorDriver(database=clean_db, rpc_url=chain.url, to_block=script.last, env=env, task=True,
                                log=tmp_path / "clean.log")
        try:
            started = time.monotonic()
            clean.run()
            assert clean.outcome(300) == 0, "the clean run failed"
            collect_s = time.monotonic() - started
            clean.settle()
            # Seeded fractions of the clean collect's duration: the waits add up to about a quarter of it, so
            # every termination falls inside the range on a slow machine or a fast one (each retry resumes
            # from the cursor, so the work left shrinks as the terminations go on).
            max_delay_s = collect_s / (2 * TERMINATIONS)
        finally:
            clean.close()

        rng = random.Random(SEED)
        faulty = CollectorDriver(database=f"{test_db}?application_name={APPLICATION}", rpc_url=chain.url,
                                 to_block=script.last, env=env, task=True, log=tmp_path / "faulty.log")
        statements: list[str] = []
        runs: Counter[int] = Counter()
        try:
            with psycopg.connect(dsn(test_db), autocommit=True) as admin:
                faulty.run()
                while len(statements) < TERMINATIONS:
                    time.sleep(rng.uniform(0, max_delay_s))
                    deadline = time.monotonic() + 10
                    while (statement := terminate_in_transaction(admin, test_db, timeout=0.5)) is None:
                        code = faulty.outcome(0)
                        if code is not None:  # the task gave up after its retries (or, too soon, finished)
                            runs[code] += 1
                            assert code != 0, f"the run ended after {len(statements)} terminations: {statements}"
                            faulty.run()
                            deadline = time.monotonic() + 10
                        assert time.monotonic() < deadline, "the running collector was never inside a transaction"
                    statements.append(statement)
            code = faulty.outcome(300)
            while code != 0:  # runs out of retries: the next beat tick starts it again
                runs[code] += 1
                assert runs[code] < 5, runs
                faulty.run()
                code = faulty.outcome(300)
            runs[0] += 1
            faulty.settle()
        finally:
            faulty.close()
        print(f"{len(statements)} terminations; task runs by exit code {dict(runs)}; statements hit: {statements}")
        expected, actual = database_state(clean_db), database_state(test_db)

    assert expected["whales_trade"], "the clean run stored no trades"
    assert expected["whales_whaleevent"], "the clean run stored no events"
    assert actual.keys() == expected.keys()
    for table in expected:
        assert actual[table] == expected[table], table
    assert sorted(Trade.objects.values_list("tx_hash", flat=True).distinct()) == sorted(script.transfers)
    assert not WhaleEvent.objects.filter(published_at__isnull=True).exists()
