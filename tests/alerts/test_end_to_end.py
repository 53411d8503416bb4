"""Issue 17, "done means": sign-up -> token -> API call -> WebSocket alert -> e-mail and Discord-shaped delivery,
as one path through real parts: allauth's sign-up and confirmation e-mail (Django's test outbox), the token page,
the REST API with the token alone, a real daphne process holding the token's ``/ws/alerts/`` socket over the
Redis channel layer, a real Celery worker (thread) sending through Apprise to an SMTP server (aiosmtpd) and a
loopback receiver in Discord's place (``tests.alerts.receivers``)."""

import os
import re
import time
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from alerts.models import AlertDelivery, DeliveryStatus
from alerts.services import events_publish
from tests.alerts.receivers import receiver, service_apis, smtp  # noqa: F401  (fixtures)
from tests.processes import FeedClient, daphne_server
from tests.requirements import require
from tests.whales.factories import EntityFactory, WhaleEventFactory, WhaleFactory

PASSWORD = "kelp-forest-2026"


def wait_until(check, timeout_s: float = 20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.1)
    raise TimeoutError(f"not true within {timeout_s} s: {check}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sign_up_token_api_websocket_email_and_discord(tmp_path, settings, mailoutbox, smtp,  # noqa: F811
                                                       service_apis, celery_worker_thread):  # noqa: F811
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL is needed (daphne and this process share the layer)")
    settings.ALERT_DESTINATION_KEYS = [Fernet.generate_key().decode()]
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]  # the SMTP server and the receiver listen on loopback
    cache.clear()  # allauth's per-address e-mail cool-down lives in the cache
    # 1. Sign up; the address is confirmed from the e-mail; then sign in.
    browser = Client()
    browser.post("/accounts/signup/", {"username": "alice", "email": "alice@example.org", "password1": PASSWORD,
                                       "password2": PASSWORD})
    confirm = re.sub(r"^https?://[^/]+", "", re.search(r"https?://\S+", mailoutbox[-1].body).group(0))
    assert browser.post(confirm).status_code == 302
    assert browser.post("/accounts/login/", {"login": "alice@example.org", "password": PASSWORD})["Location"] == "/"

    # 2. A token from the account page, shown once.
    page = browser.post("/account/tokens/", {"action": "create", "name": "e2e", "expires_days": "30"}).content
    token = re.search(rb'<code id="new-token">(wt_[0-9a-f]{64})</code>', page).group(1).decode()

    # 3. The API with the token alone: an e-mail and a Discord destination, and a rule naming both.
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    email = api.post("/api/v1/alerts/destinations", {"name": "mail", "url": smtp.url()}, format="json").json()
    discord = api.post("/api/v1/alerts/destinations", {"name": "discord", "url": "discord://77/tok"},
                       format="json").json()
    rule = api.post("/api/v1/alerts/rules", {"name": "Big moves", "min_value_usd": "1000000",
                                             "channels": ["websocket"], "destinations": [email["id"], discord["id"]]},
                    format="json")
    assert rule.status_code == 201, rule.content
    whale = WhaleFactory(name="Jump 1", entity=EntityFactory(slug="jump", name="Jump Trading"))
    event = WhaleEventFactory(whale=whale, value_usd=Decimal("1750000"), summary="Jump 1 sent 500 ETH")

    # 4. The token's WebSocket on a real server; the committed event reaches it and both destinations.
    with daphne_server(tmp_path / "daphne.log", {"REDIS_URL": os.environ["REDIS_URL"]}) as url:
        socket = FeedClient(f"{url}/ws/alerts/", headers={"Authorization": f"Token {token}"})
        with transaction.atomic():
            events_publish(event_ids=[event.pk])
        [frame] = wait_until(lambda: [f for f in socket.frames if f.get("type") == "alert"])
        assert (frame["alert"]["rule"], frame["alert"]["event"]["id"]) == ({"id": rule.json()["id"],
                                                                            "name": "Big moves"}, event.pk)
        wait_until(lambda: sorted(AlertDelivery.objects.values_list("status", flat=True))
                   == [DeliveryStatus.DELIVERED] * 2)
        socket.close()
    [(_, recipients, text)] = smtp.messages
    assert recipients == ["alice@example.com"] and "Subject: Whale alert: Big moves" in text
    [request] = service_apis.requests
    assert request.path == "/api/webhooks/77/tok"
    embed = request.json["embeds"][0]
    assert (embed["title"], embed["url"]) == ("Whale alert: Big moves", f"https://etherscan.io/tx/{event.tx_hash}")
