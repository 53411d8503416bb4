"""Webhook delivery (alerts.webhooks) against a real HTTP receiver on loopback (http.server in a thread)."""

import hashlib
import hmac
import json
import threading
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from alerts import tasks, webhooks
from alerts.models import Alert, AlertStatus, WebhookStatus
from alerts.payloads import alert_payload
from alerts.services import events_publish
from alerts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_verify, webhook_deliver
from tests.alerts.factories import AlertFactory, AlertRuleFactory, memory_layer
from tests.http_servers import LoopbackServer, QuietHandler
from tests.ports import free_port
from tests.whales.factories import WhaleEventFactory

__all__ = ["memory_layer"]  # fixture imported from the factories module

SECRET = "whsec-test-0123456789abcdef"


class Receiver(LoopbackServer):
    """A loopback HTTP server that records every POST and answers with the scripted statuses in turn
    (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        self.received = threading.Event()
        receiver = self

        class Handler(QuietHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                receiver.received.set()

        super().__init__(Handler)
        self.url = f"{self.url}/hooks/whaletrack"


@pytest.fixture
def receiver_factory():
    receivers: list[Receiver] = []

    def make(*statuses: int) -> Receiver:
        receivers.append(Receiver(list(statuses) or [200]))
        return receivers[-1]

    yield make
    for receiver in receivers:
        receiver.close()


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch, settings):
    monkeypatch.setattr(webhooks, "BACKOFF_INITIAL_S", 0.01)
    monkeypatch.setattr(webhooks, "BACKOFF_MAX_S", 0.05)
    settings.ALERTS_WEBHOOK_MAX_ATTEMPTS = 4
    settings.ALERTS_WEBHOOK_TIMEOUT_S = 2.0
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receivers listen on loopback


def webhook_alert(url: str) -> Alert:
    rule = AlertRuleFactory(channels=["webhook"], webhook_url=url, webhook_secret=SECRET)
    return AlertFactory(rule=rule, status=AlertStatus.DELIVERED, webhook_status=WebhookStatus.PENDING)


def test_signature_verifies_with_signature_verify_and_an_independent_hmac(db, receiver_factory):
    receiver = receiver_factory(200)
    alert = webhook_alert(receiver.url)
    before = int(time.time())
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.DELIVERED
    [request] = receiver.requests
    body, headers = request["body"], request["headers"]
    assert request["path"] == "/hooks/whaletrack"
    assert headers["Content-Type"] == "application/json"
    assert signature_verify(SECRET, body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])
    signed = headers[TIMESTAMP_HEADER].encode() + b"." + body
    independent = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert headers[SIGNATURE_HEADER] == independent
    assert before <= int(headers[TIMESTAMP_HEADER]) <= int(time.time())
    assert headers["Host"] == receiver.url.split("/")[2]
    sent = json.loads(body)
    expected = alert_payload(Alert.objects.select_related("rule", "event__whale__entity").get(pk=alert.pk))
    assert {k: v for k, v in sent.items() if k != "event"} == {k: v for k, v in expected.items() if k != "event"}
    assert sent["event"]["id"] == alert.event_id
    alert.refresh_from_db()
    assert (alert.webhook_status, alert.webhook_attempts, alert.webhook_last_error) == ("delivered", 1, "")
    assert alert.webhook_delivered_at is not None


@pytest.mark.parametrize(("secret", "tamper", "header", "timestamp"), [
    ("other-secret-0000", False, None, None),
    (SECRET, True, None, None),
    (SECRET, False, "", None),
    (SECRET, False, "sha256=deadbeef", None),
    (SECRET, False, "sha1=whatever", None),
    (SECRET, False, "sha256=ü", None),
    (SECRET, False, None, "1700000001"),  # another timestamp: the signature covers it
    (SECRET, False, None, ""),
    (SECRET, False, None, "-1700000000"),
])
def test_signature_verify_rejects_wrong_secret_tampered_body_or_bad_header(secret, tamper, header, timestamp):
    body = b'{"id":1}'
    signed = "sha256=" + hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    now = 1700000000.0
    assert signature_verify(SECRET, body, signed, "1700000000", now=now)
    assert not signature_verify(secret, body + (b" " if tamper else b""), signed if header is None else header,
                                "1700000000" if timestamp is None else timestamp, now=now)


def test_a_captured_request_cannot_be_replayed_later(db, receiver_factory):
    """The timestamp is inside the HMAC: replaying the captured bytes after the tolerance fails, and
    putting a fresh timestamp on them breaks the signature."""
    receiver = receiver_factory(200)
    webhook_deliver(alert_id=webhook_alert(receiver.url).pk)
    [request] = receiver.requests
    body, headers = request["body"], request["headers"]
    signature, sent_at = headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER]
    assert signature_verify(SECRET, body, signature, sent_at)
    assert signature_verify(SECRET, body, signature, sent_at, now=int(sent_at) + 300)
    assert not signature_verify(SECRET, body, signature, sent_at, now=int(sent_at) + 301)
    fresh = str(int(sent_at) + 3600)
    assert not signature_verify(SECRET, body, signature, fresh, now=int(fresh))


def test_a_500_is_retried_and_the_second_attempt_succeeds(db, receiver_factory):
    receiver = receiver_factory(500, 200)
    alert = webhook_alert(receiver.url)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.DELIVERED
    alert.refresh_from_db()
    assert (alert.webhook_status, alert.webhook_attempts) == ("delivered", 2)
    assert alert.webhook_last_error == "HTTP 500 (server error)"
    first, second = receiver.requests
    assert first["body"] == second["body"]  # the same bytes; each attempt signs its own timestamp
    for request in (first, second):
        headers = request["headers"]
        assert signature_verify(SECRET, request["body"], headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER])


def test_a_429_is_retried(db, receiver_factory):
    receiver = receiver_factory(429, 429, 204)
    alert = webhook_alert(receiver.url)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.DELIVERED
    assert Alert.objects.get(pk=alert.pk).webhook_attempts == 3


@pytest.mark.parametrize("status", [400, 401, 404, 410])
def test_a_4xx_other_than_429_is_terminal(db, receiver_factory, status):
    receiver = receiver_factory(status, 200)
    alert = webhook_alert(receiver.url)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED
    alert.refresh_from_db()
    assert (alert.webhook_status, alert.webhook_attempts, len(receiver.requests)) == ("failed", 1, 1)
    assert alert.webhook_last_error == f"HTTP {status} (client error)"
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED  # terminal: not sent again
    assert len(receiver.requests) == 1


def test_5xx_every_time_gives_up_after_max_attempts(db, receiver_factory):
    receiver = receiver_factory(503)
    alert = webhook_alert(receiver.url)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED
    alert.refresh_from_db()
    assert (alert.webhook_status, alert.webhook_attempts, len(receiver.requests)) == ("failed", 4, 4)
    assert alert.webhook_last_error == "gave up: HTTP 503 (server error)"


def test_connection_refused_is_retried_then_fails(db):
    alert = webhook_alert(f"http://127.0.0.1:{free_port()}/hook")  # a port nobody listens on
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED
    alert.refresh_from_db()
    assert (alert.webhook_status, alert.webhook_attempts) == ("failed", 4)
    assert alert.webhook_last_error == "gave up: ConnectionError: the connection failed or was closed"


def test_a_timeout_is_retried(db, receiver_factory, settings):
    settings.ALERTS_WEBHOOK_TIMEOUT_S = 0.2
    receiver = receiver_factory(200)
    original = receiver.server.RequestHandlerClass.do_POST
    calls = []

    def slow_first(handler):
        calls.append(1)
        if len(calls) == 1:
            time.sleep(0.6)
        original(handler)

    receiver.server.RequestHandlerClass.do_POST = slow_first
    alert = webhook_alert(receiver.url)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.DELIVERED
    alert.refresh_from_db()
    assert alert.webhook_attempts == 2
    assert alert.webhook_last_error == "Timeout: no complete reply within 0.2 s"


def test_an_already_delivered_webhook_is_not_sent_again(db, receiver_factory):
    receiver = receiver_factory(200)
    alert = webhook_alert(receiver.url)
    webhook_deliver(alert_id=alert.pk)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.DELIVERED
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_event_is_posted_by_a_worker_through_the_broker(memory_layer, receiver_factory,
                                                                   celery_worker_thread):
    """End to end on the one dispatch path: commit -> alert -> ``alerts.deliver_webhook`` on the broker
    (Redis) -> a real Celery worker -> the signed POST."""
    receiver = receiver_factory(200)
    rule = AlertRuleFactory(channels=["websocket", "webhook"], webhook_url=receiver.url, webhook_secret=SECRET)
    event = WhaleEventFactory()
    with transaction.atomic():
        events_publish(event_ids=[event.pk])
    assert receiver.received.wait(15)
    for _ in range(50):  # the worker records the outcome right after the response
        alert = Alert.objects.get(rule=rule)
        if alert.webhook_status == WebhookStatus.DELIVERED:
            break
        time.sleep(0.1)
    [request] = receiver.requests
    assert signature_verify(SECRET, request["body"], request["headers"][SIGNATURE_HEADER],
                            request["headers"][TIMESTAMP_HEADER])
    assert json.loads(request["body"])["events"] == [event.pk]
    assert (alert.status, alert.webhook_status, alert.webhook_attempts) == ("delivered", "delivered", 1)


# --- the pending-webhook sweep -------------------------------------------------------------------


def _quiet_for(alert: Alert, seconds: int, **fields) -> Alert:
    Alert.objects.filter(pk=alert.pk).update(webhook_updated_at=timezone.now() - timedelta(seconds=seconds), **fields)
    alert.refresh_from_db()
    return alert


def test_the_sweep_queues_each_delivery_left_pending_once_and_leaves_fresh_ones(
        db, broker_queue, django_capture_on_commit_callbacks):
    stale = _quiet_for(webhook_alert("http://127.0.0.1:9/hook"), 121, webhook_attempts=1)
    fresh = _quiet_for(webhook_alert("http://127.0.0.1:9/hook"), 60)
    done = _quiet_for(webhook_alert("http://127.0.0.1:9/hook"), 600, webhook_status=WebhookStatus.DELIVERED)
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhooks_redeliver_pending(older_than_s=120) == 1
        assert webhooks.webhooks_redeliver_pending(older_than_s=120) == 0  # claimed: a second sweep adds none
    assert broker_queue() == ["alerts.deliver_webhook"]
    queued_at = {a.pk: a.webhook_updated_at for a in Alert.objects.all()}
    assert queued_at[stale.pk] > stale.webhook_updated_at
    assert (queued_at[fresh.pk], queued_at[done.pk]) == (fresh.webhook_updated_at, done.webhook_updated_at)


def test_a_delivery_that_died_after_its_last_attempt_is_marked_failed_not_queued(db, broker_queue, settings):
    exhausted = _quiet_for(webhook_alert("http://127.0.0.1:9/hook"), 300,
                           webhook_attempts=settings.ALERTS_WEBHOOK_MAX_ATTEMPTS)
    assert webhooks.webhooks_redeliver_pending(older_than_s=120) == 0
    exhausted.refresh_from_db()
    assert (exhausted.webhook_status, exhausted.webhook_attempts) == (WebhookStatus.FAILED, 4)
    assert exhausted.webhook_last_error == "gave up: the delivery stopped after its last attempt"
    assert broker_queue() == []


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_delivery_whose_task_was_lost_is_posted_once_the_sweep_queues_it(receiver_factory, celery_worker_thread):
    """The delivery task never ran (its worker was killed): the sweep queues it again and a worker posts it,
    with the attempts left."""
    receiver = receiver_factory(200)
    lost = _quiet_for(webhook_alert(receiver.url), 300, webhook_attempts=1)
    assert tasks.redeliver_webhooks.apply().successful()  # the beat row's task, run here
    assert receiver.received.wait(15)
    for _ in range(50):
        lost.refresh_from_db()
        if lost.webhook_status == WebhookStatus.DELIVERED:
            break
        time.sleep(0.1)
    assert len(receiver.requests) == 1
    assert json.loads(receiver.requests[0]["body"])["id"] == lost.pk
    assert (lost.webhook_status, lost.webhook_attempts) == (WebhookStatus.DELIVERED, 2)


def test_the_sweep_runs_every_minute_from_its_beat_row(db):
    row = PeriodicTask.objects.get(task="alerts.redeliver_webhooks")
    assert (row.name, row.interval.every, row.interval.period, row.expire_seconds, row.enabled) == (
        "alerts: re-send pending webhooks", 1, "minutes", 60, True)
