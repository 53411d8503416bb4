"""Scale-out, proven: two gunicorn, two daphne and two Celery worker processes of the production layout (the
Procfile's own commands, each twice on its own address or queue, under honcho) on one PostgreSQL database and
one Redis, collecting a scripted anvil chain.

- Each collector batch is stored once: each worker gets its own ``ethereum.collect_blocks`` over the same
  blocks at the same moment; the two runs overlap, and the blocks they stored add up to the chain's (the
  loser stops at the batch the winner stored first). Every transfer becomes its trades once (one per whale
  it touches) and every large one its events once (likewise), the cursor ends after the last block, and
  each event is published once. The expected rows are read back from the chain, not from the collector.
- Each WebSocket client gets each event once: two feed clients on each daphne, and the rule owner's alert
  socket on each daphne.
- Each alert is delivered once: the rule (created through one gunicorn) matches every event; a loopback
  webhook receiver counts one signed POST per alert, and the other gunicorn lists them all.
"""

import json
import os
import re
import time
from collections import Counter
from decimal import Decimal

import pytest
import requests
from django.db import connection

from alerts.tokens import api_token_create
from alerts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_verify
from tests.chain.fixtures import chain
from tests.faults.harness import ETH_PRICE_USD, ScriptedChain, chain_script, world_create
from tests.http_servers import LoopbackServer, QuietHandler
from tests.processes import FeedClient, until
from tests.requirements import require
from tests.whaletrack.serving import free_port, honcho, procfile_commands, running, stack_environment

__all__ = ["chain"]  # the anvil fixture (tests.chain.fixtures), imported so pytest finds it here

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TRANSFERS = 16
# Empty blocks after each transfer: 336 blocks, 34 batches of 10, a walk of a second or more, so the two tasks,
# started together, race over it
GAP_BLOCKS = 20
LARGE_TRANSFER_MIN_USD = Decimal("100000")  # the large_transfer threshold's default (settings, EventThreshold)
SECRET = "whsec-scale-out-0123456789abcdef"
QUIET_S = 3.0  # how long the clients keep listening after their last expected frame, for any repeat


class WebhookReceiver(LoopbackServer):
    """A loopback HTTP server counting the signed webhook POSTs it gets, by the payload's alert ``id``
    (``ids``, repeats kept); ``unverified`` counts POSTs whose signature does not verify."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.unverified = 0
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if signature_verify(SECRET, body, self.headers[SIGNATURE_HEADER], self.headers[TIMESTAMP_HEADER]):
                    receiver.ids.append(json.loads(body)["id"])
                else:
                    receiver.unverified += 1
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        super().__init__(Handler)
        self.hook_url = f"{self.url}/hooks/whaletrack"


def scale_out_procfile(path, *, gunicorn: list[int], daphne: list[int], queues: list[str]):
    """A Procfile with the repo Procfile's ``web``, ``ws`` and ``worker`` commands twice each: every gunicorn
    and daphne on its own port, every worker with its own name and, besides the default queue, its own."""
    commands = procfile_commands()
    lines = [f"web{n}: SERVE_GUNICORN_BIND=127.0.0.1:{port} {commands['web']}" for n, port in enumerate(gunicorn, 1)]
    lines += [f"ws{n}: SERVE_DAPHNE_BIND=127.0.0.1:{port} {commands['ws']}" for n, port in enumerate(daphne, 1)]
    lines += [f"{queue}: {commands['worker']} -n {queue}@%h -Q celery,{queue}" for queue in queues]
    path.write_text("\n".join(lines) + "\n")
    return path


def expected_from_the_chain(chain, script: ScriptedChain) -> tuple[Counter, set[str]]:
    """Read back from anvil: each transfer's tx hash -> how many tracked whales it touches (its trades), and
    the tx hashes worth LARGE_TRANSFER_MIN_USD or more at ETH_PRICE_USD (the large transfers)."""
    trades, large = Counter(), set()
    for tx_hash in script.transfers:
        tx = chain.w3.eth.get_transaction(tx_hash)
        trades[tx_hash] = sum(address.lower() in script.whales for address in (tx["from"], tx["to"]))
        if Decimal(tx["value"]) / 10**18 * ETH_PRICE_USD >= LARGE_TRANSFER_MIN_USD:
            large.add(tx_hash)
    return trades, large


def test_two_of_each_process_store_publish_push_and_deliver_everything_once(tmp_path, chain, django_user_model):
    from alerts.models import Alert, AlertRule
    from ledgers.models import CollectorRun, SyncCursor
    from whales.models import Trade, WhaleEvent
    from whaletrack.celery import app

    redis_url = os.environ.get("REDIS_URL")
    require(bool(redis_url) and connection.vendor == "postgresql",
            "needs REDIS_URL and a PostgreSQL DATABASE_URL (the processes share both)")
    script = chain_script(chain, seed=15, transfers=TRANSFERS, gap_blocks=GAP_BLOCKS)
    world_create(script)
    expected_trades, expected_large = expected_from_the_chain(chain, script)
    assert len(expected_large) >= 4  # the seed gives the test something to alert on
    owner = django_user_model.objects.create_user(username="owner", password="pw-owner-scale-1")
    key = api_token_create(user_id=owner.pk, name="test")[1]
    gunicorn, daphne, queues = [free_port(), free_port()], [free_port(), free_port()], ["scaleout1", "scaleout2"]
    env = stack_environment(
        tmp_path, redis_url, SERVE_GUNICORN_WORKERS="1",
        ETH_RPC_URL=chain.url, ETH_CONFIRMATIONS="0", ETH_START_BLOCK=str(script.first),
        ALERTS_PUBLIC_FEED="false", ALERTS_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8",
    )
    receiver = WebhookReceiver()
    procfile = scale_out_procfile(tmp_path / "Procfile", gunicorn=gunicorn, daphne=daphne, queues=queues)
    try:
        with honcho(procfile, env, tmp_path / "honcho.log", wait_ports=gunicorn + daphne) as stack:
            # Both workers are up (each says "ready" on its own queue) before the race starts
            until(lambda: len(re.findall(r"^\S+ scaleout\d\.1 +\|.*\bready\.", stack.text(), re.M)) == 2, timeout=90)
            # The rule, through the first gunicorn
            created = requests.post(
                f"http://127.0.0.1:{gunicorn[0]}/api/v1/alerts/rules", timeout=30,
                headers={"Authorization": f"Token {key}"},
                json={"name": "every ethereum event", "chains": ["ethereum"], "channels": ["websocket", "webhook"],
                      "webhook_url": receiver.hook_url, "webhook_secret": SECRET})
            assert created.status_code == 201, created.text
            rule_id = created.json()["id"]
            # What the end looks like: the cursor past the last block, both runs over, every large transfer's
            # event published and alerted, every alert's webhook delivered
            large = sum(expected_trades[tx] for tx in expected_large)  # an event for each whale a large tx touches
            settled = {"cursor": script.last + 1, "runs": {"ok": 2}, "events_published": large,
                       "events_unpublished": 0, "alert_webhooks": {"delivered": large}}

            # Two feed clients on each daphne, and the rule owner's alert socket on each (open when constructed)
            feeds = [FeedClient(f"ws://127.0.0.1:{port}/ws/events/?token={key}") for port in daphne for _ in range(2)]
            alert_sockets = [FeedClient(f"ws://127.0.0.1:{port}/ws/alerts/?token={key}") for port in daphne]
            clients = feeds + alert_sockets
            try:
                for queue in queues:  # the race: one collector task on each worker, over the same blocks
                    app.send_task("ethereum.collect_blocks", kwargs={"max_blocks": 1000}, queue=queue)
                try:
                    until(lambda: collection_state() == settled, timeout=120)
                except TimeoutError:
                    pytest.fail(f"not settled: {collection_state()} != {settled}")
                # Everything is sent: wait for the frames, then as long again for any frame sent twice
                until(lambda: all(len(c.frames) >= large for c in clients), timeout=30)
                time.sleep(QUIET_S)
            finally:
                for client in clients:
                    client.close()
            listed = requests.get(f"http://127.0.0.1:{gunicorn[1]}/api/v1/alerts?limit=500", timeout=30,
                                  headers={"Authorization": f"Token {key}"})
            stack.look()
            returncode = stack.stop()
    finally:
        receiver.close()

    log = stack.text()
    # Both workers ran a collector task over the same range, and both finished
    for queue in queues:
        succeeded = rf"^\S+ {queue}\.1 +\|.*Task ethereum\.collect_blocks\[[0-9a-f-]+\] succeeded"
        assert re.search(succeeded, log, re.M), queue
    runs = list(CollectorRun.objects.filter(collector="ethereum")
                .values("started_at", "finished_at", "blocks", "error"))
    assert max(run["started_at"] for run in runs) < min(run["finished_at"] for run in runs)  # they overlapped
    # Each block stored by one of them: the loser's compare-and-set failed on a batch the winner had stored
    assert sum(run["blocks"] for run in runs) == script.last - script.first + 1
    assert sorted(run["error"] for run in runs) == ["", "cursor moved by another run"]
    assert SyncCursor.objects.get(stream="ethereum.blocks").position == script.last + 1

    # Each batch stored once: every transfer's trades once, every large transfer's events once, published once
    trades = Counter(Trade.objects.values_list("tx_hash", flat=True))
    assert trades == expected_trades
    events = list(WhaleEvent.objects.values_list("id", "tx_hash", "type", "published_at"))
    # a large_transfer event for each whale of each large transfer (its sender and, if a whale, its receiver)
    assert Counter(tx for _, tx, _, _ in events) == Counter({tx: expected_trades[tx] for tx in expected_large})
    assert {event_type for _, _, event_type, _ in events} == {"large_transfer"}
    assert all(published is not None for *_, published in events)
    event_ids = sorted(event_id for event_id, *_ in events)

    # Each WebSocket client (two feed clients and one alert client on each daphne) got each event once
    for feed in feeds:
        assert sorted(feed.event_ids()) == event_ids
        assert {frame["type"] for frame in feed.frames} == {"event"}
    alerts = dict(Alert.objects.filter(rule_id=rule_id).values_list("id", "event_id"))
    assert sorted(alerts.values()) == event_ids  # one alert per (rule, event)
    for socket in alert_sockets:
        assert sorted(frame["alert"]["id"] for frame in socket.frames if frame["type"] == "alert") == sorted(alerts)

    # Each alert delivered once to the webhook, signed; the other gunicorn lists them all
    assert receiver.unverified == 0
    assert Counter(receiver.ids) == Counter({alert_id: 1 for alert_id in alerts})
    assert set(Alert.objects.filter(rule_id=rule_id).values_list("webhook_status", flat=True)) == {"delivered"}
    assert AlertRule.objects.get(pk=rule_id).webhook_url == receiver.hook_url
    assert listed.status_code == 200 and listed.json()["total"] == len(alerts)

    # And the whole layout stopped on SIGTERM
    assert returncode == 143, log[-3000:]
    assert sorted(pid for pid in stack.pids if running(pid)) == []


def collection_state() -> dict[str, object]:
    """Where the collection and what it causes stand: the cursor, the collector runs by status, the events
    published and not, the alerts by webhook status."""
    from django.db.models import Count

    from alerts.models import Alert
    from ledgers.models import CollectorRun, SyncCursor
    from whales.models import WhaleEvent

    return {
        "cursor": SyncCursor.objects.filter(stream="ethereum.blocks").values_list("position", flat=True).first(),
        "runs": dict(CollectorRun.objects.filter(collector="ethereum").values_list("status")
                     .annotate(n=Count("id")).order_by()),
        "events_published": WhaleEvent.objects.filter(published_at__isnull=False).count(),
        "events_unpublished": WhaleEvent.objects.filter(published_at__isnull=True).count(),
        "alert_webhooks": dict(Alert.objects.values_list("webhook_status").annotate(n=Count("id")).order_by()),
    }
