"""Delivery of alerts and digests to destinations (alerts.destinations) through the real Apprise plugins, against
real receivers on loopback: an HTTP server checking each service's payload shape, and an SMTP server."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from alerts import destinations as destinations_module
from alerts.destinations import (
    DestinationTestFailed,
    delivery_send,
    destination_create,
    destination_test,
    destinations_redeliver_pending,
)
from alerts.messages import alert_message
from alerts.models import Alert, AlertDelivery, AlertKind, AlertStatus, DeliveryStatus, DestinationStatus
from alerts.services import alert_deliver, digests_flush, events_publish
from alerts.tokens import api_token_create
from tests.alerts.factories import AlertFactory, AlertRuleFactory, UserFactory, memory_layer
from tests.alerts.receivers import ServiceReceiver, receiver, service_apis, smtp
from tests.whales.factories import EntityFactory, TradeFactory, WhaleEventFactory, WhaleFactory

__all__ = ["memory_layer", "receiver", "service_apis", "smtp"]  # fixtures imported from their modules

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def destination_settings(monkeypatch, settings):
    settings.ALERT_DESTINATION_KEYS = [Fernet.generate_key().decode()]
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the receivers listen on loopback
    settings.ALERTS_DESTINATION_MAX_ATTEMPTS = 3
    settings.ALERTS_DESTINATION_TIMEOUT_S = 3.0
    settings.ALERTS_DESTINATION_PAUSE_AFTER_FAILURES = 2
    monkeypatch.setattr(destinations_module, "BACKOFF_INITIAL_S", 0.01)
    monkeypatch.setattr(destinations_module, "BACKOFF_MAX_S", 0.05)


def rule_with(url: str, **rule_fields):
    """A rule of a new user sending to one destination at ``url``; returns (rule, destination)."""
    owner = UserFactory()
    destination = destination_create(owner_id=owner.pk, name="ops", url=url)
    rule = AlertRuleFactory(owner=owner, name="Whales", channels=[], **rule_fields)
    rule.destinations.set([destination])
    return rule, destination


def moved_alert(rule) -> Alert:
    """A pending alert of ``rule``: Jump 1 (Jump Trading) sent 500 ETH worth $1,750,000."""
    whale = WhaleFactory(name="Jump 1", entity=EntityFactory(slug="jump", name="Jump Trading"))
    event = WhaleEventFactory(whale=whale, value_usd=Decimal("1750000"), summary="Jump 1 sent 500 ETH")
    TradeFactory(whale=whale, tx_hash=event.tx_hash, log_index=event.log_index, direction="send",
                 amount_base=Decimal("500"), base_asset="ETH")
    return AlertFactory(rule=rule, event=event)


def deliver(alert: Alert) -> AlertDelivery:
    """Deliver ``alert`` (its deliveries are created) and send its one delivery as the task would."""
    assert alert_deliver(alert_id=alert.pk)
    delivery = AlertDelivery.objects.get(alert=alert)
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    return delivery


def test_a_json_destination_gets_the_message_once_with_its_idempotency_key(receiver, memory_layer):
    rule, _ = rule_with(f"json://{receiver.host}/hooks/whales")
    alert = moved_alert(rule)
    expected = alert_message(Alert.objects.get(pk=alert.pk), service="json")

    delivery = deliver(alert)

    assert (delivery.status, delivery.attempts, delivery.last_error) == (DeliveryStatus.DELIVERED, 1, "")
    [request] = receiver.requests
    assert request.path == "/hooks/whales"
    assert request.headers["Idempotency-Key"] == delivery.idempotency_key
    assert request.json == {"version": "1.0", "title": expected.title, "message": expected.body,
                            "attachments": [], "type": "info"}
    assert "1,750,000.00" in expected.body and "500 ETH" in expected.body


def test_a_server_error_is_retried_and_the_message_delivered_once(receiver, memory_layer):
    receiver.statuses = [500, 200]
    rule, destination = rule_with(f"json://{receiver.host}/hook")

    delivery = deliver(moved_alert(rule))

    assert (delivery.status, delivery.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert len(receiver.requests) == 2
    assert {r.headers["Idempotency-Key"] for r in receiver.requests} == {delivery.idempotency_key}
    destination.refresh_from_db()
    assert (destination.consecutive_failures, destination.status) == (0, DestinationStatus.ACTIVE)


def test_running_the_task_again_for_a_delivered_row_sends_nothing(receiver, memory_layer):
    rule, _ = rule_with(f"json://{receiver.host}/hook")
    delivery = deliver(moved_alert(rule))

    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
    assert alert_deliver(alert_id=delivery.alert_id) is False  # the alert is delivered: no second row either

    assert len(receiver.requests) == 1
    assert AlertDelivery.objects.filter(alert_id=delivery.alert_id).count() == 1


def test_a_destination_failing_n_deliveries_in_a_row_is_paused_until_a_test_succeeds(receiver, memory_layer):
    receiver.statuses = [500]
    rule, destination = rule_with(f"json://{receiver.host}/hook")

    first, second = deliver(moved_alert(rule)), deliver(moved_alert(rule))

    assert [(d.status, d.attempts) for d in (first, second)] == [(DeliveryStatus.FAILED, 3)] * 2
    assert second.last_error == "gave up: json: the service did not accept the message or could not be reached"
    destination.refresh_from_db()
    assert (destination.status, destination.consecutive_failures) == (DestinationStatus.PAUSED, 2)
    assert destination.paused_at is not None
    # While paused, a new alert creates no delivery and nothing is sent.
    sent = len(receiver.requests)
    assert alert_deliver(alert_id=moved_alert(rule).pk)
    assert (AlertDelivery.objects.count(), len(receiver.requests)) == (2, sent)

    with pytest.raises(DestinationTestFailed):
        destination_test(destination=destination)
    receiver.statuses = [200]
    destination = destination_test(destination=destination)

    assert (destination.status, destination.consecutive_failures, destination.paused_at) == (
        DestinationStatus.ACTIVE, 0, None)
    assert destination.verified_at is not None
    assert receiver.requests[-1].json["title"] == "WhaleTrack test message"


def test_a_redirect_is_not_followed(receiver, memory_layer):
    bouncer = ServiceReceiver([307], location=f"{receiver.url}/internal")
    try:
        rule, _ = rule_with(f"json://{bouncer.host}/hook")
        delivery = deliver(moved_alert(rule))
    finally:
        bouncer.close()

    assert (delivery.status, len(bouncer.requests), receiver.requests) == (DeliveryStatus.FAILED, 3, [])


def test_a_queued_delivery_of_a_destination_paused_since_is_skipped(receiver, memory_layer):
    rule, destination = rule_with(f"json://{receiver.host}/hook")
    alert = moved_alert(rule)
    assert alert_deliver(alert_id=alert.pk)
    destination.status = DestinationStatus.PAUSED
    destination.save()

    delivery = AlertDelivery.objects.get(alert=alert)
    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.SKIPPED

    assert receiver.requests == []


def test_discord_gets_an_embed_with_the_explorer_link(service_apis, memory_layer):
    rule, _ = rule_with("discord://111222333/tok-en_abc")
    alert = moved_alert(rule)
    expected = alert_message(Alert.objects.get(pk=alert.pk), service="discord")

    delivery = deliver(alert)

    assert delivery.status == DeliveryStatus.DELIVERED
    [request] = service_apis.requests
    assert request.path == "/api/webhooks/111222333/tok-en_abc"
    [embed] = request.json["embeds"]
    assert embed["title"] == expected.title
    assert embed["url"] == f"https://etherscan.io/tx/{alert.event.tx_hash}"
    assert embed["description"] == expected.body
    assert embed["author"]["name"] == "WhaleTrack"
    assert "content" not in request.json


def test_slack_gets_block_kit_blocks(service_apis, memory_layer):
    rule, _ = rule_with("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7")
    alert = moved_alert(rule)
    expected = alert_message(Alert.objects.get(pk=alert.pk), service="slack")

    delivery = deliver(alert)

    assert delivery.status == DeliveryStatus.DELIVERED
    [request] = service_apis.requests
    assert request.path == "/services/T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7"
    blocks = request.json["attachments"][0]["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": expected.title, "emoji": True}}
    section = blocks[1]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    # Apprise turns the Markdown into Slack mrkdwn: **bold** -> *bold*, [text](url) -> <url|text>.
    assert section["text"]["text"].startswith("*Large transfer · send* by Jump 1 (Jump Trading)\n")
    assert f"<https://etherscan.io/tx/{alert.event.tx_hash}|View on explorer>" in section["text"]["text"]


def test_telegram_gets_send_message_with_html(service_apis, memory_layer):
    rule, _ = rule_with("tgram://123456789:AAbbCCdd_eeFF/-100200300/")
    alert = moved_alert(rule)
    expected = alert_message(Alert.objects.get(pk=alert.pk), service="tgram")

    delivery = deliver(alert)

    assert delivery.status == DeliveryStatus.DELIVERED
    [request] = service_apis.requests
    assert request.path == "/bot123456789:AAbbCCdd_eeFF/sendMessage"
    assert request.json["parse_mode"] == "HTML"
    assert request.json["chat_id"] == -100200300
    assert request.json["text"] == f"<b>{expected.title}</b>\r\n" + expected.body.replace("\n", "\r\n")


def test_ntfy_gets_title_and_message_on_its_topic(receiver, memory_layer):
    rule, _ = rule_with(f"ntfy://{receiver.host}/whale-alerts")
    alert = moved_alert(rule)
    expected = alert_message(Alert.objects.get(pk=alert.pk), service="ntfy")

    delivery = deliver(alert)

    assert delivery.status == DeliveryStatus.DELIVERED
    [request] = receiver.requests
    assert request.json == {"topic": "whale-alerts", "title": expected.title, "message": expected.body}


def test_email_goes_through_smtp_with_a_text_and_an_html_part(smtp, memory_layer):
    rule, _ = rule_with(smtp.url(to="alice@example.com"))
    alert = moved_alert(rule)

    delivery = deliver(alert)

    assert delivery.status == DeliveryStatus.DELIVERED
    [(sender, recipients, text)] = smtp.messages
    assert (sender, recipients) == ("whales@example.com", ["alice@example.com"])
    assert "Subject: Whale alert: Whales" in text
    assert "text/plain" in text and "text/html" in text
    assert "500 ETH =C2=B7 $1,750,000.00" in text  # quoted-printable "·"


def test_a_digest_reaches_the_destinations_too(receiver, memory_layer, django_capture_on_commit_callbacks):
    rule, _ = rule_with(f"json://{receiver.host}/hook", cooldown_seconds=60)
    rule.last_alert_at = timezone.now() - timedelta(minutes=5)
    rule.save()
    waiting = [AlertFactory(rule=rule, status=AlertStatus.SUPPRESSED) for _ in range(2)]

    with django_capture_on_commit_callbacks(execute=True):
        [digest] = digests_flush()

    delivery = AlertDelivery.objects.get(alert=digest)
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (digest.kind, delivery.status) == (AlertKind.DIGEST, DeliveryStatus.DELIVERED)
    [request] = receiver.requests
    assert request.json["title"] == "Whale alert digest: Whales (2 events)"
    assert request.json["message"] == alert_message(Alert.objects.get(pk=digest.pk), service="json").body
    assert all(f"\n{alert.event.summary}\n" in request.json["message"] for alert in waiting)


def test_delivering_an_alert_queues_one_task_per_destination_after_commit(
        receiver, broker_tasks, memory_layer, django_capture_on_commit_callbacks):
    rule, first = rule_with(f"json://{receiver.host}/a")
    second = destination_create(owner_id=rule.owner_id, name="b", url=f"ntfy://{receiver.host}/b")
    rule.destinations.add(second)
    alert = moved_alert(rule)

    with django_capture_on_commit_callbacks(execute=True):
        assert alert_deliver(alert_id=alert.pk)

    deliveries = {d.destination_id: d.pk for d in AlertDelivery.objects.filter(alert=alert)}
    assert set(deliveries) == {first.pk, second.pk}
    queued = broker_tasks()
    assert {name for name, _ in queued} == {"alerts.deliver_destination"}
    assert sorted(kwargs["delivery_id"] for _, kwargs in queued) == sorted(deliveries.values())


def test_the_sweep_queues_deliveries_left_pending(receiver, broker_tasks, memory_layer,
                                                  django_capture_on_commit_callbacks):
    rule, _ = rule_with(f"json://{receiver.host}/hook")
    alert = moved_alert(rule)
    assert alert_deliver(alert_id=alert.pk)  # its task is never sent: the test's transaction does not commit
    delivery = AlertDelivery.objects.get(alert=alert)
    AlertDelivery.objects.filter(pk=delivery.pk).update(updated_at=timezone.now() - timedelta(minutes=10))

    with django_capture_on_commit_callbacks(execute=True):
        assert destinations_redeliver_pending(older_than_s=300) == 1
        assert destinations_redeliver_pending(older_than_s=3600) == 0
    assert broker_tasks() == [("alerts.deliver_destination", {"delivery_id": delivery.pk})]

    assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_token_api_rule_event_to_email_and_discord_through_a_real_worker(
        memory_layer, smtp, service_apis, celery_worker_thread):
    """End to end: a token client saves an e-mail and a Discord destination and a rule naming both through the
    API; a committed event raises the alert; ``alerts.deliver_destination`` goes through the broker (Redis) to a
    real Celery worker, which sends the e-mail (SMTP) and the Discord embed."""
    owner = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user_id=owner.pk, name='e2e')[1]}")
    email = client.post("/api/v1/alerts/destinations", {"name": "mail", "url": smtp.url()}, format="json").json()
    discord = client.post("/api/v1/alerts/destinations", {"name": "discord", "url": "discord://77/tok"},
                          format="json").json()
    rule = client.post("/api/v1/alerts/rules", {"name": "Big moves", "channels": ["websocket"],
                                                "destinations": [email["id"], discord["id"]]}, format="json").json()
    assert rule["destinations"] == [email["id"], discord["id"]]
    whale = WhaleFactory(name="Jump 1", entity=EntityFactory(slug="jump", name="Jump Trading"))
    event = WhaleEventFactory(whale=whale, value_usd=Decimal("1750000"), summary="Jump 1 sent 500 ETH")

    with transaction.atomic():
        events_publish(event_ids=[event.pk])

    for _ in range(150):
        statuses = sorted(AlertDelivery.objects.values_list("status", flat=True))
        if statuses == [DeliveryStatus.DELIVERED] * 2:
            break
        time.sleep(0.1)
    assert statuses == [DeliveryStatus.DELIVERED] * 2
    [(_, recipients, text)] = smtp.messages
    assert recipients == ["alice@example.com"] and "Subject: Whale alert: Big moves" in text
    [request] = service_apis.requests
    assert request.path == "/api/webhooks/77/tok"
    assert request.json["embeds"][0]["title"] == "Whale alert: Big moves"
    assert request.json["embeds"][0]["url"] == f"https://etherscan.io/tx/{event.tx_hash}"
