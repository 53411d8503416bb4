"""Alert destinations (alerts.destinations and its API): sealed at rest, URL and scheme refusals, bounds, owner
scoping, the test message, key rotation."""

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.destinations import (
    DestinationKeyMissing,
    DestinationRefused,
    destination_create,
    destination_url,
    destination_url_check,
)
from alerts.models import AlertDestination, AlertRule, DestinationStatus
from alerts.services import alert_rule_create, alert_rule_update
from tests.alerts.factories import AlertRuleFactory, UserFactory
from tests.alerts.receivers import receiver
from whales.errors import InvalidParameter
from whales.quotas import QuotaExceeded

__all__ = ["receiver"]

pytestmark = pytest.mark.django_db

DESTINATIONS = "/api/v1/alerts/destinations"
DISCORD = "discord://4242/secret-token-of-the-webhook"
KEY = Fernet.generate_key().decode()


@pytest.fixture(autouse=True)
def keys(settings):
    settings.ALERT_DESTINATION_KEYS = [KEY]
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = []
    settings.ALERTS_DESTINATION_TIMEOUT_S = 3.0


def client_of(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_url_is_sealed_at_rest_and_never_shown(user):
    destination = destination_create(owner_id=user.pk, name="ops", url=DISCORD)

    with connection.cursor() as cursor:
        cursor.execute("SELECT url_encrypted FROM alerts_alertdestination WHERE id = %s", [destination.pk])
        stored = bytes(cursor.fetchone()[0])
    assert b"secret-token" not in stored and b"discord" not in stored
    assert destination_url(AlertDestination.objects.get(pk=destination.pk)) == DISCORD
    assert (destination.service, destination.hint) == ("discord", "discord://…hook")

    body = client_of(user).get(f"{DESTINATIONS}/{destination.pk}").json()
    assert body == {"id": destination.pk, "name": "ops", "service": "discord", "hint": "discord://…hook",
                    "status": "active", "verified_at": None, "consecutive_failures": 0, "last_error": "",
                    "paused_at": None, "created_at": body["created_at"], "updated_at": body["updated_at"]}


def test_a_sealed_url_copied_to_another_row_does_not_open(user):
    first = destination_create(owner_id=user.pk, name="a", url=DISCORD)
    second = destination_create(owner_id=user.pk, name="b", url="discord://1/other")
    AlertDestination.objects.filter(pk=second.pk).update(url_encrypted=first.url_encrypted)

    with pytest.raises(InvalidToken):
        destination_url(AlertDestination.objects.get(pk=second.pk))


def test_without_a_key_nothing_is_saved_and_the_api_says_misconfigured(user, settings):
    settings.ALERT_DESTINATION_KEYS = []

    with pytest.raises(DestinationKeyMissing):
        destination_create(owner_id=user.pk, name="ops", url=DISCORD)
    response = client_of(user).post(DESTINATIONS, {"name": "ops", "url": DISCORD}, format="json")

    assert response.status_code == 503
    assert response.json() == {"detail": "ALERT_DESTINATION_KEYS is not set: no destination can be saved",
                               "code": "misconfigured"}
    assert AlertDestination.objects.count() == 0


def test_rotation_reseals_every_url_with_the_newest_key(user, settings):
    destination = destination_create(owner_id=user.pk, name="ops", url=DISCORD)
    new = Fernet.generate_key().decode()
    settings.ALERT_DESTINATION_KEYS = [new, KEY]

    out = io.StringIO()
    call_command("alerts_rotate_destination_keys", stdout=out)

    assert out.getvalue() == "re-sealed 1 destination URL(s) with the newest key\n"

    settings.ALERT_DESTINATION_KEYS = [new]
    assert destination_url(AlertDestination.objects.get(pk=destination.pk)) == DISCORD


@pytest.mark.parametrize(("url", "reason"), [
    ("script:///usr/bin/touch", "the scheme must be one of"),
    ("windows://", "the scheme must be one of"),
    ("syslog://", "the scheme must be one of"),
    ("dbus://", "the scheme must be one of"),
    ("https://example.com/hook", "the scheme must be one of"),
    ("not a url", "the scheme must be one of"),
    ("json://127.0.0.1:8080/hook", "address not allowed"),
    ("jsons://10.1.2.3/hook", "address not allowed"),
    ("json://169.254.169.254/latest/meta-data", "address not allowed"),
    ("ntfy://localhost/topic", "host not allowed: loopback name"),
    ("ntfys://[::1]/topic", "address not allowed"),
    ("mailto://me@example.com?smtp=127.0.0.1&to=a@example.com", "address not allowed"),
    ("discord://4242/token?template=/etc/passwd", "option(s) not allowed: template"),
    ("mailto://me@example.com?pgppub=/etc/key.pub", "option(s) not allowed: pgppub"),
    ("tgram://", "not a valid Apprise URL"),
    ("discord://" + "x" * 1000, "at most 1000 characters"),
])
def test_refused_urls_name_the_reason_and_store_nothing(user, url, reason):
    with pytest.raises(DestinationRefused) as refused:
        destination_create(owner_id=user.pk, name="x", url=url)

    assert reason in refused.value.detail
    assert refused.value.code == "destination_refused"
    assert AlertDestination.objects.count() == 0


def test_the_api_refuses_a_url_with_the_reason_and_changes_nothing(user):
    client = client_of(user)
    mine = destination_create(owner_id=user.pk, name="ops", url=DISCORD)
    sealed = bytes(AlertDestination.objects.get(pk=mine.pk).url_encrypted)

    created = client.post(DESTINATIONS, {"name": "x", "url": "script:///bin/sh"}, format="json")
    updated = client.patch(f"{DESTINATIONS}/{mine.pk}", {"url": "json://10.0.0.7/hook"}, format="json")

    assert (created.status_code, created.json()["code"]) == (400, "destination_refused")
    assert created.json()["detail"].startswith("url: the scheme must be one of ")
    assert updated.json() == {"code": "destination_refused", "detail": (
        "url: address not allowed: the host resolves to a loopback, private, link-local, multicast, metadata or "
        "unspecified address")}
    assert AlertDestination.objects.count() == 1
    assert bytes(AlertDestination.objects.get(pk=mine.pk).url_encrypted) == sealed


def test_loopback_targets_are_allowed_inside_the_webhook_allowance(settings, receiver):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]

    assert destination_url_check(f"json://{receiver.host}/hook").service == "json"
    assert destination_url_check(f"ntfy://{receiver.host}/topic").service == "ntfy"


def test_fixed_host_services_and_public_hosts_are_accepted():
    for url, service in [(DISCORD, "discord"), ("tgram://123456789:AAbb/-100200300", "tgram"),
                         ("slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7", "slack"),
                         ("ntfy://whale-alerts", "ntfy"), ("json://8.8.8.8/hook", "json")]:
        assert destination_url_check(url).service == service


def test_the_number_of_destinations_per_user_is_bounded(user, settings):
    settings.LIMITS_MAX_DESTINATIONS_PER_USER = 2
    for name in ("a", "b"):
        destination_create(owner_id=user.pk, name=name, url=DISCORD)

    with pytest.raises(QuotaExceeded):
        destination_create(owner_id=user.pk, name="c", url=DISCORD)
    response = client_of(user).post(DESTINATIONS, {"name": "c", "url": DISCORD}, format="json")

    assert (response.status_code, response.json()["code"]) == (400, "quota_exceeded")
    assert AlertDestination.objects.filter(owner=user).count() == 2


def test_a_rule_may_only_name_its_owners_destinations(user):
    other = UserFactory()
    mine = destination_create(owner_id=user.pk, name="mine", url=DISCORD)
    theirs = destination_create(owner_id=other.pk, name="theirs", url=DISCORD)

    with pytest.raises(InvalidParameter, match=f"destinations: unknown ids: {theirs.pk}"):
        alert_rule_create(owner_id=user.pk, name="r", destinations=[mine, theirs])
    assert AlertRule.objects.count() == 0
    rule = alert_rule_create(owner_id=user.pk, name="r", destinations=[mine])
    with pytest.raises(InvalidParameter):
        alert_rule_update(rule=rule, destinations=[theirs])

    client = client_of(user)
    refused = client.patch(f"/api/v1/alerts/rules/{rule.pk}", {"destinations": [theirs.pk]}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_parameter")
    assert list(rule.destinations.values_list("pk", flat=True)) == [mine.pk]
    ok = client.patch(f"/api/v1/alerts/rules/{rule.pk}", {"destinations": []}, format="json")
    assert (ok.status_code, ok.json()["destinations"]) == (200, [])


def test_the_api_lists_creates_updates_and_deletes_only_your_destinations(user):
    other = UserFactory()
    theirs = destination_create(owner_id=other.pk, name="theirs", url=DISCORD)
    client = client_of(user)

    created = client.post(DESTINATIONS, {"name": "ops", "url": DISCORD}, format="json")
    assert created.status_code == 201
    mine = created.json()
    assert "url" not in mine and mine["service"] == "discord"
    listed = client.get(DESTINATIONS).json()
    assert (listed["total"], [d["id"] for d in listed["items"]]) == (1, [mine["id"]])

    paused = client.patch(f"{DESTINATIONS}/{mine['id']}", {"status": "paused", "name": "ops 2"}, format="json")
    assert (paused.json()["status"], paused.json()["name"]) == ("paused", "ops 2")
    assert paused.json()["paused_at"] is not None

    for method in ("get", "patch", "delete"):
        answer = getattr(client, method)(f"{DESTINATIONS}/{theirs.pk}", {}, format="json")
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert client.post(f"{DESTINATIONS}/{theirs.pk}/test").status_code == 404
    assert AlertDestination.objects.get(pk=theirs.pk).name == "theirs"

    assert client.delete(f"{DESTINATIONS}/{mine['id']}").status_code == 204
    assert list(AlertDestination.objects.values_list("pk", flat=True)) == [theirs.pk]


def test_the_test_action_verifies_a_destination_or_says_why_not(user, settings, receiver):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    destination = destination_create(owner_id=user.pk, name="ops", url=f"json://{receiver.host}/hook")
    client = client_of(user)

    receiver.statuses = [500]
    failed = client.post(f"{DESTINATIONS}/{destination.pk}/test")
    assert failed.status_code == 502
    assert failed.json() == {"code": "destination_failed", "detail": (
        "The test message was not delivered: json: the service did not accept the message or could not be reached")}
    destination.refresh_from_db()
    assert destination.verified_at is None

    receiver.statuses = [200]
    verified = client.post(f"{DESTINATIONS}/{destination.pk}/test")
    assert verified.status_code == 200
    assert verified.json()["verified_at"] is not None and verified.json()["last_error"] == ""
    assert [r.json["title"] for r in receiver.requests] == ["WhaleTrack test message"] * 2


def test_a_test_of_a_destination_whose_host_turned_private_is_refused(user, settings, receiver):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    destination = destination_create(owner_id=user.pk, name="ops", url=f"json://{receiver.host}/hook")
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = []  # the allowance was withdrawn since

    response = client_of(user).post(f"{DESTINATIONS}/{destination.pk}/test")

    assert response.status_code == 502
    assert "refused: url: address not allowed" in response.json()["detail"]
    assert receiver.requests == []


def test_resuming_a_paused_destination_resets_its_failures(user):
    destination = destination_create(owner_id=user.pk, name="ops", url=DISCORD)
    AlertDestination.objects.filter(pk=destination.pk).update(status=DestinationStatus.PAUSED, consecutive_failures=5)

    body = client_of(user).patch(f"{DESTINATIONS}/{destination.pk}", {"status": "active"}, format="json").json()

    assert (body["status"], body["consecutive_failures"], body["paused_at"]) == ("active", 0, None)


def test_the_rule_api_returns_destination_ids(user):
    destination = destination_create(owner_id=user.pk, name="ops", url=DISCORD)
    rule = AlertRuleFactory(owner=user)
    rule.destinations.set([destination])

    assert client_of(user).get(f"/api/v1/alerts/rules/{rule.pk}").json()["destinations"] == [destination.pk]


def test_the_admin_shows_destinations_and_deliveries_but_never_the_url(client, django_user_model, user):
    admin = django_user_model.objects.create_superuser(username="root", password="pw-root-1")
    destination = destination_create(owner_id=user.pk, name="ops", url=DISCORD)
    rule = AlertRuleFactory(owner=user)
    rule.destinations.set([destination])
    client.force_login(admin)

    pages = [client.get(f"/admin/alerts/alertdestination/{suffix}") for suffix in ("", f"{destination.pk}/change/")]
    pages += [client.get("/admin/alerts/alertdelivery/"), client.get(f"/admin/alerts/alertrule/{rule.pk}/change/")]

    assert [page.status_code for page in pages] == [200] * 4
    assert all("secret-token" not in page.content.decode() for page in pages)
    assert "discord://…hook" in pages[0].content.decode()
    assert client.get("/admin/alerts/alertdestination/add/").status_code == 403


def test_the_admin_refuses_a_rule_naming_another_users_destination(client, django_user_model, user):
    admin = django_user_model.objects.create_superuser(username="root", password="pw-root-1")
    theirs = destination_create(owner_id=UserFactory().pk, name="theirs", url=DISCORD)
    rule = AlertRuleFactory(owner=user, name="mine")
    client.force_login(admin)

    response = client.post(f"/admin/alerts/alertrule/{rule.pk}/change/", {
        "owner": user.pk, "name": "mine", "active": "on", "chains": "[]", "event_types": "[]",
        "channels": '["websocket"]', "cooldown_seconds": 0, "destinations": str(theirs.pk), "webhook_url": ""})

    assert response.status_code == 200
    assert "Only destinations of the rule&#x27;s owner." in response.content.decode()
    assert list(rule.destinations.all()) == []


def test_a_new_url_is_sealed_again_and_must_be_verified_again(user):
    destination = destination_create(owner_id=user.pk, name="ops", url=DISCORD)
    AlertDestination.objects.filter(pk=destination.pk).update(verified_at=timezone.now(), consecutive_failures=3)

    body = client_of(user).patch(f"{DESTINATIONS}/{destination.pk}", {"url": "tgram://123456789:AAbb/-1001"},
                                 format="json").json()

    assert (body["service"], body["hint"], body["verified_at"], body["consecutive_failures"]) == (
        "tgram", "tgram://…1001", None, 0)
    assert destination_url(AlertDestination.objects.get(pk=destination.pk)) == "tgram://123456789:AAbb/-1001"
