"""Killing the collector mid-follow (SIGKILL, no clean-up) and starting it again loses and doubles nothing:
`manage.py collect ethereum` on a real node (anvil), checked against the node's own blocks."""

import os
import signal
import subprocess
import sys

import pytest
from django.conf import settings

from ledgers.models import SyncCursor
from tests.processes import database_url
from whales.chains import Chain
from whales.models import Trade, Whale

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)
TRANSFERS = 40
EMPTY_BLOCKS_BETWEEN = 25


def collect_command(chain, *, first: int, last: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": database_url(), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(  # noqa: S603  (our own manage.py with fixed arguments)
        [sys.executable, "manage.py", "collect", "ethereum", "--rpc-url", chain.url, "--from-block", str(first),
         "--to-block", str(last), "--confirmations", "0"],
        cwd=settings.BASE_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_killed_collector_restarts_where_its_last_batch_ended(chain):
    whale, friend = chain.accounts[8], chain.accounts[2]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="restart whale")
    first = chain.head() + 1
    sent = []
    for n in range(TRANSFERS):
        sent.append(chain.send_eth(sender=whale, to=friend, value_wei=10**15 * (n + 1))["transactionHash"].to_0x_hex())
        chain.mine(EMPTY_BLOCKS_BETWEEN)
    last = chain.head()

    process = collect_command(chain, first=first, last=last)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:  # the first progress line: some batches are stored, most are not
        lines.append(line)
        if "blocks" in line and Trade.objects.filter(whale__address=whale).exists():
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    stored_at_kill = Trade.objects.filter(whale__address=whale).count()
    assert 0 < stored_at_kill < TRANSFERS, lines

    again = collect_command(chain, first=first, last=last)
    out, _ = again.communicate(timeout=120)
    assert again.returncode == 0, out
    stored = list(Trade.objects.filter(whale__address=whale).values_list("tx_hash", flat=True))
    assert sorted(stored) == sorted(sent)  # each transfer once: none lost, none doubled
    assert SyncCursor.objects.get(stream="ethereum.blocks").position == last + 1
