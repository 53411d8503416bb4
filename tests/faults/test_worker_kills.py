"""SIGKILL of the Celery worker at seeded random points (issue 14, fault suite): the state afterwards equals a
clean run's, and every webhook reaches its receiver at least once, as stated below.

The worker's backlog: a scripted anvil chain is collected in two parts. The first part's metrics are computed
(so the second part's recompute resumes stored FIFO books); then four alert rules are created (three with a
webhook to a receiver on loopback, one WebSocket only) and the second part is collected: its events are
published and their alerts delivered by the collector, whose broker is in memory, so their webhook tasks are
lost with it (the pending-webhook sweep must queue them). The events of the last UNPUBLISHED_TRANSFERS
transfers are left as a collector killed between its commit and the publish leaves them: unpublished, no
alerts. So the worker has metrics marks to recompute, events to publish (claims and alerts in one
transaction), alerts to deliver and webhooks to POST.

That work is done twice from the same database: once without interruption into a clone of the test database,
once into the test database by worker processes (``worker_driver``: a round of the beat's sweeps and the
tasks they queue, run with ``apply``, on an in-memory broker lost with the process) each SIGKILLed after a
seeded random delay (KILLS of them), then by one round to the end and one more that must find nothing left.
Every table but the run log is compared row for row (``harness.database_state``), ``webhook_attempts`` of the
alerts apart: it counts attempts, and a killed attempt is one.

Webhooks are at least once (``alerts/webhooks.py``): an attempt is counted in the database, then POSTed, then
marked delivered; a kill between the POST and the mark makes a later round POST it again. Asserted exactly:
in the clean run the receiver gets every webhook alert once and each alert records 1 attempt; after the
kills it gets every one at least once, each repeat the same payload but for ``event.published_at`` (the time
of sending, ``alerts.payloads.event_payload``; the same ``id``, the receivers' idempotency key), never more
often than the alert's recorded attempts, and the attempts beyond the first add up to at most the number of
kills (a kill cuts at most one attempt: the worker is solo). An attempt cut by a kill counts toward
ALERTS_WEBHOOK_MAX_ATTEMPTS, as ``webhooks_redeliver_pending`` says (a receiver that kills its worker is not
retried forever); so a delivery cut 5 times would be marked failed although the receiver got it, and the test
gives each delivery KILLS + 1 attempts.
"""

import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from alerts.models import Alert, AlertRule, AlertStatus, WebhookStatus
from alerts.services import alert_rule_create
from alerts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_verify
from tests.faults.harness import (
    CollectorDriver,
    ScriptedChain,
    WorkerDriver,
    chain_script,
    database_clone,
    database_state,
    dsn,
    run_clean,
    world_create,
)
from tests.http_servers import LoopbackServer, QuietHandler
from whales.models import MetricsPending, WalletFifoState, WhaleEvent

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

SEED = 1408
KILLS = 50
TRANSFERS = 30
UNPUBLISHED_TRANSFERS = 13
EVERY_EVENT_RULES = 2  # webhook rules matching every event (and one for events over 300k USD)
# A receiver answers after this long (a remote one): most of a round is waiting for answers, one delivery at
# a time, so kill points fall between a POST and its mark as well as before the POST and after the mark.
RECEIVER_DELAY_S = 0.1
# The worker's sweeps take everything at once (the time between two beat ticks has passed). An attempt cut
# by a kill counts toward ALERTS_WEBHOOK_MAX_ATTEMPTS (module docstring): KILLS + 1 attempts, so that no kill
# schedule can use up a delivery's budget (with the default 5, one cut 5 times is marked failed).
WORKER_ENV = {"ALERTS_PUBLISH_SWEEP_AFTER_S": "0", "ALERTS_WEBHOOK_SWEEP_AFTER_S": "0", "WHALE_METRICS_DEBOUNCE_S": "0",
              "ALERTS_WEBHOOK_MAX_ATTEMPTS": str(KILLS + 1), "ALERTS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32"}
# Kill delays are seeded fractions of the clean round's duration, uniform in [0, KILL_SCALE x clean / KILLS].
# Larger than the collector test's scale (1): every worker round starts again with the sweeps (0.2-0.3 s
# here, connecting and querying), so many kills land there, and inside the one transaction that claims the
# events and creates their alerts until a kill comes after its commit; the others land in the work left
# (metrics, deliveries, POSTs and their marks). The kills' progress adds up to half to four fifths of the
# clean round's work here, so all KILLS interrupt a round that still has work (asserted).
KILL_SCALE = 2.5
IGNORED = {"alerts_alert": {"webhook_attempts"}}  # compared on its own (module docstring)


class Receiver(LoopbackServer):
    """A webhook receiver on loopback: answers every POST 204 after RECEIVER_DELAY_S and keeps (headers, body)
    of each request it read completely."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                time.sleep(RECEIVER_DELAY_S)
                self.send_response(204)
                self.end_headers()

        super().__init__(Handler)
        self.url = f"{self.url}/hook"

    def take(self) -> list[tuple[dict[str, str], bytes]]:
        """The requests so far, forgotten here."""
        taken, self.requests = self.requests, []
        return taken


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


Requests = list[tuple[dict[str, str], bytes]]


def deliveries(requests: Requests, secrets: dict[int, str]) -> dict[tuple[int, int], list[bytes]]:
    """{(rule id, event id): the bodies received for that alert, in order}; every request must carry a valid
    signature of its rule's secret."""
    received: dict[tuple[int, int], list[bytes]] = defaultdict(list)
    for headers, body in requests:
        payload = json.loads(body)
        rule_id = payload["rule"]["id"]
        assert signature_verify(secrets[rule_id], body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])
        assert payload["kind"] == "event" and len(payload["events"]) == 1, payload
        received[(rule_id, payload["events"][0])].append(body)
    return received


def idempotent_part(body: bytes) -> bytes:
    """What every delivery of one alert repeats: the body without ``event.published_at``, which
    ``alerts.payloads.event_payload`` sets to the time of sending (so a repeat after a kill has a later one)."""
    payload = json.loads(body)
    del payload["event"]["published_at"]
    return json.dumps(payload, sort_keys=True).encode()


def webhook_attempts(database: str) -> dict[tuple[int, int], int]:
    """{(rule id, event id): webhook_attempts} of the webhook alerts of ``database``."""
    with psycopg.connect(dsn(database)) as db:
        rows = db.execute("SELECT rule_id, event_id, webhook_attempts FROM alerts_alert "
                          "WHERE webhook_status <> 'none'").fetchall()
    return {(rule_id, event_id): attempts for rule_id, event_id, attempts in rows}


def worker_backlog() -> dict[str, int]:
    """What is left of the worker's work in the test database."""
    return {
        "unpublished": WhaleEvent.objects.filter(published_at__isnull=True).count(),
        "alerts_pending": Alert.objects.filter(status=AlertStatus.PENDING).count(),
        "webhooks_pending": Alert.objects.filter(webhook_status=WebhookStatus.PENDING).count(),
        "marks": MetricsPending.objects.count(),
    }


def collect(chain, script: ScriptedChain, tmp_path, *, to_block: int, settle: bool) -> None:
    """Collect ``script`` up to ``to_block`` into the test database (a collector child, its broker in memory);
    with ``settle``, then what the beat's sweeps do (events, metrics)."""
    collector = CollectorDriver(database=connection.settings_dict["NAME"], rpc_url=chain.url, to_block=to_block,
                                env={"ETH_START_BLOCK": str(script.first), "CELERY_BROKER_URL": "memory://localhost/"},
                                log=tmp_path / "collect.log")
    try:
        if settle:
            run_clean(collector)
        else:
            collector.run()
            assert collector.outcome(300) == 0, "the collection failed"
    finally:
        collector.close()


def world_prepare(chain, tmp_path, receiver: Receiver) -> dict[int, str]:
    """The worker's backlog (module docstring); {rule id: webhook secret}."""
    script = chain_script(chain, seed=SEED, transfers=TRANSFERS, gap_blocks=5)
    world_create(script)
    collect(chain, script, tmp_path, to_block=(script.first + script.last) // 2, settle=True)
    owner = get_user_model().objects.create_user(username="fault-owner", password="unused-password-0")
    for n in range(EVERY_EVENT_RULES):
        alert_rule_create(owner_id=owner.pk, name=f"every event {n}", channels=["webhook"], webhook_url=receiver.url)
    alert_rule_create(owner_id=owner.pk, name="over 300k", min_value_usd=Decimal(300_000), channels=["webhook"],
                      webhook_url=receiver.url)
    alert_rule_create(owner_id=owner.pk, name="socket only", channels=["websocket"])
    collect(chain, script, tmp_path, to_block=script.last, settle=False)
    # The collector's last transfers: as a collector killed between its commit and the publish leaves them.
    last = WhaleEvent.objects.filter(tx_hash__in=script.transfers[-UNPUBLISHED_TRANSFERS:])
    Alert.objects.filter(event__in=last).delete()
    last.update(published_at=None)
    return dict(AlertRule.objects.values_list("id", "webhook_secret"))


def test_sigkilled_workers_end_in_the_state_of_a_clean_run(chain, tmp_path, receiver, settings):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the rules' receiver, on loopback
    prepared = time.monotonic()
    secrets = world_prepare(chain, tmp_path, receiver)
    print(f"prepared in {time.monotonic() - prepared:.1f} s")
    backlog = worker_backlog()
    assert backlog["unpublished"] and backlog["webhooks_pending"] and backlog["marks"], backlog
    assert WalletFifoState.objects.exists()  # the recompute resumes stored books
    test_db = connection.settings_dict["NAME"]

    with database_clone("clean") as clean_db:
        clean = WorkerDriver(database=clean_db, env=WORKER_ENV, log=tmp_path / "clean.log")
        try:
            started = time.monotonic()
            clean.round()
            assert clean.outcome(300) == 0, "the clean round failed"
            clean_s = time.monotonic() - started
        finally:
            clean.close()
        clean_received = deliveries(receiver.take(), secrets)
        max_delay_s = KILL_SCALE * clean_s / KILLS

        rng = random.Random(SEED)
        killed = WorkerDriver(database=test_db, env=WORKER_ENV, log=tmp_path / "killed.log")
        outcomes: Counter[str] = Counter()
        backlogs: list[tuple[int, ...]] = []
        try:
            for _ in range(KILLS):
                outcomes[killed.kill_after(killed.round(), rng.uniform(0, max_delay_s))] += 1
                backlogs.append(tuple(worker_backlog().values()))
            hit = {what: sum(1 for before in [tuple(backlog.values()), *backlogs[:-1]] if before[n])
                   for n, what in enumerate(backlog)}  # kills that found that work waiting
            started = time.monotonic()
            killed.round()
            assert killed.outcome(300) == 0, "the last round failed"
            last_s = time.monotonic() - started
            killed.round()  # and one more, as the next beat tick: nothing is left to do
            assert killed.outcome(300) == 0, "the round after the last failed"
        finally:
            killed.close()
        killed_received = deliveries(receiver.take(), secrets)
        print(f"after {KILLS} kill points: {dict(outcomes)}; the clean round took {clean_s:.1f} s, the last one "
              f"{last_s:.1f} s; backlog at the start {backlog}, after each kill (same order): {backlogs}; kills with "
              f"work of each kind waiting: {hit}")

        expected, actual = database_state(clean_db, ignored=IGNORED), database_state(test_db, ignored=IGNORED)
        clean_attempts, killed_attempts = webhook_attempts(clean_db), webhook_attempts(test_db)

    assert expected["alerts_alert"], "the clean run raised no alerts"
    assert expected["whales_walletmetrics"], "the clean run stored no metrics"
    assert actual.keys() == expected.keys()
    for table in expected:
        assert actual[table] == expected[table], (table, sorted(set(actual[table]) ^ set(expected[table]), key=repr))
    assert worker_backlog() == {"unpublished": 0, "alerts_pending": 0, "webhooks_pending": 0, "marks": 0}
    assert outcomes["killed"] == KILLS, outcomes  # no round reached its end before its kill

    # Webhooks (module docstring): the clean run exactly once each; after the kills at least once, a repeat the
    # same payload but for the time of sending, never more than the recorded attempts, at most one extra
    # attempt per kill.
    assert set(clean_attempts) == set(killed_attempts) == set(clean_received) == set(killed_received)
    assert all(len(bodies) == 1 for bodies in clean_received.values())
    assert set(clean_attempts.values()) == {1}
    for alert, bodies in killed_received.items():
        assert len({idempotent_part(body) for body in bodies}) == 1, (alert, bodies)
        assert len(bodies) <= killed_attempts[alert], alert
    repeats = sum(len(bodies) - 1 for bodies in killed_received.values())
    extra_attempts = sum(attempts - 1 for attempts in killed_attempts.values())
    assert extra_attempts <= KILLS
    print(f"{len(killed_received)} webhook alerts: {repeats} repeated deliveries, {extra_attempts} extra attempts, "
          f"at most {max(killed_attempts.values())} attempts for one alert")
