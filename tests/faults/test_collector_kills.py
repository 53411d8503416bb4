"""SIGKILL of the Ethereum block collector at seeded random points (issue 14, fault suite): the state
afterwards equals a clean run's.

A scripted anvil chain (seeded ETH transfers among four whales, empty blocks between them) is collected
twice from the same starting database: once without interruption into a clone of the test database, once
into the test database by collector processes each SIGKILLed after a seeded random delay (KILLS of them),
then by one run to the end. Both then run what the beat's sweeps do (unsent events, pending metrics).
Every table but the run log is compared row for row: trades, events (and whether each was published),
block records, the cursor, holdings marks, metrics and FIFO books.
"""

import random
import time
from collections import Counter

import pytest
from django.db import connection

from ledgers.glass.ethereum.services import STREAM
from ledgers.models import SyncCursor
from tests.faults.harness import CollectorDriver, chain_script, database_clone, database_state, run_clean, world_create
from whales.models import Trade, WhaleEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 1405
KILLS = 50
# Kill delays are seeded fractions of the clean run's duration (uniform in [0, clean / KILLS]), so the kills
# cover about half of the range on a slow machine or a fast one: from the child's first instructions (no
# database connection yet) through fetching, parsing and storing batches to the commit and the publish after it.


def cursor_position() -> int | None:
    return SyncCursor.objects.filter(stream=STREAM).values_list("position", flat=True).first()


def test_sigkilled_collectors_end_in_the_state_of_a_clean_run(chain, tmp_path):
    script = chain_script(chain, seed=SEED, transfers=60, gap_blocks=40)
    world_create(script)
    test_db = connection.settings_dict["NAME"]
    env = {"ETH_START_BLOCK": str(script.first)}

    with database_clone("clean") as clean_db:
        clean = CollectorDriver(database=clean_db, rpc_url=chain.url, to_block=script.last, env=env,
                                log=tmp_path / "clean.log")
        try:
            started = time.monotonic()
            run_clean(clean)
            max_delay_s = (time.monotonic() - started) / KILLS
        finally:
            clean.close()

        rng = random.Random(SEED)
        killed = CollectorDriver(database=test_db, rpc_url=chain.url, to_block=script.last, env=env,
                                 log=tmp_path / "killed.log")
        outcomes: Counter[str] = Counter()
        positions: list[int | None] = []
        try:
            for _ in range(KILLS):
                outcomes[killed.kill_after(killed.run(), rng.uniform(0, max_delay_s))] += 1
                positions.append(cursor_position())
            started = time.monotonic()
            run_clean(killed)
            print(f"after {KILLS} kill points: {dict(outcomes)}; the last run took {time.monotonic() - started:.1f} s;"
                  f" blocks {script.first}-{script.last}, cursor after each kill: {positions}")
        finally:
            killed.close()

        assert outcomes["killed"] == KILLS, outcomes  # the chain is long enough that no run reached its end
        expected, actual = database_state(clean_db), database_state(test_db)

    assert expected["whales_trade"], "the clean run stored no trades"
    assert expected["whales_whaleevent"], "the clean run stored no events"
    assert actual.keys() == expected.keys()
    for table in expected:
        assert actual[table] == expected[table], table
    assert sorted(Trade.objects.values_list("tx_hash", flat=True).distinct()) == sorted(script.transfers)
    assert not WhaleEvent.objects.filter(published_at__isnull=True).exists()
