"""Wiring of the Ethereum collector's Celery task, its beat row and the ``collect`` command."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from ledgers.evm import RpcUnavailable
from ledgers.glass.ethereum import services, tasks
from ledgers.models import CollectorRun
from ledgers.registry import CollectorResult
from tests.ledgers.glass.ethereum import recorded
from whales.models import Trade

pytestmark = pytest.mark.django_db


def test_the_beat_row_schedules_the_registered_task_every_15_seconds():
    row = PeriodicTask.objects.get(task="ethereum.collect_blocks")
    assert (row.interval.every, row.interval.period, row.expire_seconds, row.enabled) == (15, "seconds", 15, True)
    assert tasks.collect_blocks.name == "ethereum.collect_blocks"


def test_the_task_raises_rpc_unavailable_for_celery_to_retry(monkeypatch):
    down = RpcUnavailable("node down")
    failed = CollectorResult(collector="ethereum", status="failed", error=f"RpcUnavailable: {down}", failure=down)
    monkeypatch.setattr(services, "blocks_collect", lambda **kwargs: failed)
    with pytest.raises(RpcUnavailable, match="node down"):
        tasks.collect_blocks.run(max_blocks=5)


def test_the_task_passes_max_blocks_and_returns_quietly_on_success(monkeypatch):
    calls = []
    monkeypatch.setattr(services, "blocks_collect",
                        lambda **kwargs: calls.append(kwargs) or CollectorResult(collector="ethereum", status="ok"))
    tasks.collect_blocks.run(max_blocks=7)
    assert [c["max_blocks"] for c in calls] == [7]


def test_collect_command_prints_progress_and_counts(recorded_world, replay):
    out = StringIO()
    call_command("collect", "ethereum", "--from-block", str(recorded.RECORDED_BLOCKS[0]), "--to-block",
                 str(recorded.RECORDED_BLOCKS[1]), "--confirmations", "0", "--rpc-url", replay.eth_url, stdout=out)

    lines = out.getvalue().splitlines()
    trades = Trade.objects.count()
    transactions = sum(len(recorded.raw_block(n)["transactions"]) for n in recorded.RECORDED_BLOCKS)
    # One progress line per stored batch (both recorded blocks fit in one batch of 10).
    assert lines[0].startswith(f"  block {recorded.RECORDED_BLOCKS[1]} (to {recorded.RECORDED_BLOCKS[1]}): 2 blocks")
    assert lines[-1].startswith(f"ethereum: ok, 2 blocks, {transactions} items seen, {trades} written")
    assert CollectorRun.objects.get().status == "ok"


def test_collect_command_rejects_an_unknown_collector_and_runs_nothing():
    with pytest.raises(CommandError, match=r"No collector named 'dogecoin'; known: announcements, bitcoin, .*ethereum"):
        call_command("collect", "dogecoin")
    assert not CollectorRun.objects.exists()
