"""Webhooks under attack and faults (issue 14, items 1, 6 and 12): SSRF targets refused at save and send
time, hostile receivers (down, slow, trickling, huge bodies, redirects) bounded in time and bytes with
nothing of their reply stored, and no thread or PostgreSQL connection growth over many such deliveries
run by a real Celery worker. Receivers are real HTTP servers on loopback, allowed through
ALERTS_WEBHOOK_ALLOWED_NETWORKS where a test needs the delivery to reach them."""

import socket
import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from alerts import webhooks
from alerts.models import Alert, AlertRule, AlertStatus, WebhookStatus
from alerts.targets import WebhookTargetRefused, webhook_target_resolve
from alerts.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature_verify, webhook_deliver
from tests.alerts.factories import AlertFactory, AlertRuleFactory
from tests.http_servers import LoopbackServer, QuietHandler
from tests.ports import free_port

SECRET = "whsec-test-0123456789abcdef"
RULES = "/api/v1/alerts/rules"
REFUSED_URLS = [  # the six, then other forms of internal addresses
    "http://127.0.0.1:6379/",
    "http://localhost:5432/",
    "http://10.0.0.1/hook",
    "http://169.254.169.254/latest/meta-data/",
    "http://[::1]:8000/",
    "http://0.0.0.0:8000/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::]/",
    "http://192.168.1.1/",
    "http://172.16.0.1/",
    "http://100.100.100.200/latest/meta-data/",
    "http://[fd00:ec2::254]/",
    "http://[fe80::1]/",
    "http://224.0.0.1/",
    "http://255.255.255.255/",
    "http://[64:ff9b::7f00:1]/",
    "http://api.localhost/",
    "https://127.1/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
]


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch, settings):
    monkeypatch.setattr(webhooks, "BACKOFF_INITIAL_S", 0.01)
    monkeypatch.setattr(webhooks, "BACKOFF_MAX_S", 0.02)
    settings.ALERTS_WEBHOOK_MAX_ATTEMPTS = 2
    settings.ALERTS_WEBHOOK_TIMEOUT_S = 0.5
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = []


class Hostile(LoopbackServer):
    """A loopback HTTP receiver answering every POST the way ``mode`` says:
    ok (204), slow (sleeps 3 s, then 204), trickle (a status line, then one header byte every 0.05 s for 10 s),
    drip (200 and its headers, then one body byte every 0.05 s for 10 s),
    huge (500 with a 50 MB body), redirect (302 to the metadata address). Counts requests and body bytes sent."""

    def __init__(self, mode: str) -> None:
        self.requests: list[dict] = []
        self.sent = 0
        hostile = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                hostile.requests.append({"headers": dict(self.headers), "body": body})
                try:
                    getattr(self, f"answer_{mode}")()
                except OSError:  # the client hung up: that is the point
                    pass

            def answer_ok(self) -> None:
                self.send_response(204)
                self.end_headers()

            def answer_slow(self) -> None:
                time.sleep(3)
                self.answer_ok()

            def answer_trickle(self) -> None:  # the headers never end
                self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(200):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    hostile.sent += 1
                    time.sleep(0.05)

            def answer_drip(self) -> None:  # a 2xx, then a body that never ends
                self.send_response(200)
                self.send_header("Content-Length", "200")
                self.end_headers()
                for _ in range(200):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    hostile.sent += 1
                    time.sleep(0.05)

            def answer_huge(self) -> None:
                size = 50 * 1024 * 1024
                self.send_response(500)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = b"SECRET-INTERNAL-DATA " * 3000
                while hostile.sent < size:
                    self.wfile.write(chunk)
                    hostile.sent += len(chunk)

            def answer_redirect(self) -> None:
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.send_header("Content-Length", "21")
                self.end_headers()
                self.wfile.write(b"SECRET-INTERNAL-DATA ")

        super().__init__(Handler, name="hostile-receiver")
        self.url = f"{self.url}/hook"


@pytest.fixture
def hostile():
    made: list[Hostile] = []

    def make(mode: str) -> Hostile:
        made.append(Hostile(mode))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def webhook_alert(url: str) -> Alert:
    """A delivered alert whose webhook is pending, on a rule stored WITHOUT validation (as a row saved
    before the save-time check existed, or an address that resolved elsewhere when it was saved)."""
    rule = AlertRuleFactory(channels=["webhook"], webhook_url=url, webhook_secret=SECRET)
    return AlertFactory(rule=rule, status=AlertStatus.DELIVERED, webhook_status=WebhookStatus.PENDING)


# --- item 1: SSRF, save time ----------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", REFUSED_URLS)
def test_a_rule_with_an_internal_webhook_address_is_refused_with_400(api_client, user, url):
    api_client.force_authenticate(user)
    response = api_client.post(RULES, {"name": "x", "channels": ["webhook"], "webhook_url": url}, format="json")
    assert response.status_code == 400, response.content
    assert "webhook_url" in response.content.decode()
    assert not AlertRule.objects.exists()


@pytest.mark.django_db
def test_patching_a_rule_to_an_internal_address_is_refused(api_client, user):
    api_client.force_authenticate(user)
    rule = AlertRuleFactory(owner=user, channels=["webhook"], webhook_url="https://hooks.example/a",
                            webhook_secret=SECRET)
    response = api_client.patch(f"{RULES}/{rule.pk}", {"webhook_url": "http://169.254.169.254/"}, format="json")
    assert response.status_code == 400
    rule.refresh_from_db()
    assert rule.webhook_url == "https://hooks.example/a"


@pytest.mark.django_db
def test_public_addresses_and_the_admin_allow_list_are_accepted(api_client, user, settings):
    api_client.force_authenticate(user)
    for url in ("http://8.8.8.8/hook", "https://[2001:4860:4860::8888]/hook", "https://hooks.example/x"):
        assert api_client.post(RULES, {"name": url, "channels": ["webhook"], "webhook_url": url},
                               format="json").status_code == 201, url
    blocked = {"name": "internal", "channels": ["webhook"], "webhook_url": "http://10.1.2.3/hook"}
    assert api_client.post(RULES, blocked, format="json").status_code == 400
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    assert api_client.post(RULES, blocked, format="json").status_code == 201
    assert api_client.post(RULES, {**blocked, "webhook_url": "http://192.168.0.1/"}, format="json").status_code == 400


@pytest.mark.parametrize("url", ["http://user:pw@8.8.8.8/", "ftp://8.8.8.8/", "http:///nohost", "http://[::1/"])
def test_malformed_or_credential_urls_are_refused(url):
    with pytest.raises(WebhookTargetRefused):
        webhook_target_resolve(url)


def test_a_name_resolving_to_any_internal_address_is_refused(monkeypatch):
    """A name with one public and one internal address is refused: a client may connect to either."""
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(WebhookTargetRefused):
        webhook_target_resolve("https://mixed.example/hook")


# --- item 1: SSRF, send time ----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_stored_rule_pointing_inside_is_not_posted_at_send_time(hostile):
    receiver = hostile("ok")
    alert = webhook_alert(receiver.url)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED
    alert.refresh_from_db()
    assert receiver.requests == []
    assert (alert.webhook_status, alert.webhook_attempts) == (WebhookStatus.FAILED, 1)
    assert alert.webhook_last_error == ("refused: address not allowed: the host resolves to a loopback, private, "
                                        "link-local, multicast, metadata or unspecified address")


@pytest.mark.django_db
def test_the_connection_goes_to_the_checked_address_not_a_second_lookup(hostile, settings, monkeypatch):
    """DNS rebinding: the name resolves once per attempt; the POST connects to that checked address and
    sends the name as Host. A later lookup (here: any second one) would answer an internal address."""
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    receiver = hostile("ok")
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            lookups.append(host)
            address = "127.0.0.1" if len(lookups) == 1 else "10.9.9.9"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    alert = webhook_alert(f"http://rebind.example:{receiver.port}/hook?x=1")
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.DELIVERED
    assert lookups == ["rebind.example"]
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"rebind.example:{receiver.port}"
    assert signature_verify(SECRET, request["body"], request["headers"][SIGNATURE_HEADER],
                            request["headers"][TIMESTAMP_HEADER])


# --- item 1: hostile receivers: bounded, nothing of the reply stored ------------------------------


@pytest.mark.django_db
def test_a_huge_error_body_is_read_capped_and_never_stored_or_shown(hostile, settings, api_client):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.ALERTS_WEBHOOK_TIMEOUT_S = 5.0
    receiver = hostile("huge")
    alert = webhook_alert(receiver.url)
    started = time.monotonic()
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED
    assert time.monotonic() - started < 5
    alert.refresh_from_db()
    assert (alert.webhook_attempts, alert.webhook_last_error) == (2, "gave up: HTTP 500 (server error)")
    assert receiver.sent < 10 * 1024 * 1024  # the receiver could not push its 50 MB: we hung up
    api_client.force_authenticate(alert.owner)
    listing = api_client.get("/api/v1/alerts").content.decode()
    assert "SECRET-INTERNAL-DATA" not in listing
    assert "gave up: HTTP 500 (server error)" in listing


@pytest.mark.django_db
def test_a_trickling_receiver_is_cut_at_the_total_deadline(hostile, settings):
    """Each byte comes well inside a per-read timeout; only a total deadline stops the attempt."""
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    settings.ALERTS_WEBHOOK_MAX_ATTEMPTS = 1
    receiver = hostile("trickle")
    alert = webhook_alert(receiver.url)
    started = time.monotonic()
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.5, elapsed
    alert.refresh_from_db()
    assert alert.webhook_last_error == "gave up: Timeout: no complete reply within 0.5 s"


@pytest.mark.django_db
def test_a_2xx_whose_body_drips_is_delivered_at_the_deadline(hostile, settings):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver = hostile("drip")
    alert = webhook_alert(receiver.url)
    started = time.monotonic()
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.DELIVERED
    assert time.monotonic() - started < 1.5
    alert.refresh_from_db()
    assert (alert.webhook_attempts, len(receiver.requests)) == (1, 1)


@pytest.mark.django_db
def test_a_redirect_is_not_followed_and_its_body_not_stored(hostile, settings):
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receiver = hostile("redirect")
    alert = webhook_alert(receiver.url)
    assert webhook_deliver(alert_id=alert.pk) == WebhookStatus.FAILED
    alert.refresh_from_db()
    assert (alert.webhook_attempts, len(receiver.requests)) == (1, 1)
    assert alert.webhook_last_error == "HTTP 302 (redirect, not followed)"


# --- item 12: the admin does not show webhook secrets ----------------------------------------------


@pytest.mark.django_db
def test_the_admin_never_shows_a_webhook_secret(admin_client):
    rule = AlertRuleFactory(channels=["webhook"], webhook_url="https://hooks.example/x",
                            webhook_secret="topsecret-abcdef-0123456789-wxyz")
    for url in (reverse("admin:alerts_alertrule_change", args=[rule.pk]), reverse("admin:alerts_alertrule_changelist")):
        page = admin_client.get(url)
        assert page.status_code == 200
        assert "topsecret-abcdef" not in page.content.decode()
    assert "…wxyz" in admin_client.get(reverse("admin:alerts_alertrule_change", args=[rule.pk])).content.decode()


# --- item 6: a delivery that died between "delivered" and the queueing is re-sent --------------------


@pytest.mark.django_db
def test_a_webhook_never_queued_is_picked_up_by_the_sweep(broker_queue, django_capture_on_commit_callbacks):
    """alert_deliver marks the alert delivered and its webhook pending in one UPDATE, then queues; a process
    killed in between leaves webhook_updated_at empty, and the sweep queues it once the alert is old enough."""
    alert = webhook_alert("https://hooks.example/x")
    Alert.objects.filter(pk=alert.pk).update(webhook_updated_at=None,
                                             delivered_at=alert.created_at.replace(year=2020))
    with django_capture_on_commit_callbacks(execute=True):
        assert webhooks.webhooks_redeliver_pending(older_than_s=120) == 1
    assert broker_queue() == ["alerts.deliver_webhook"]


# --- suite: hostile receivers through a real worker: no thread or connection growth ----------------


def _threads() -> set[str]:
    """Live threads of this process, without the receivers' own per-request threads."""
    return {f"{t.name}:{t.ident}" for t in threading.enumerate()
            if "process_request_thread" not in t.name and t.name != "hostile-receiver"}


def _pg_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_down_slow_trickling_huge_and_redirecting_receivers_through_a_worker_leave_no_threads_or_connections(
        hostile, settings, celery_worker_thread):
    from celery import current_app

    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    receivers = {mode: hostile(mode) for mode in ("ok", "slow", "trickle", "drip", "huge", "redirect")}
    down = f"http://127.0.0.1:{free_port()}/hook"

    def run(urls: list[str]) -> list[Alert]:
        alerts = [webhook_alert(url) for url in urls]
        for alert in alerts:
            current_app.send_task("alerts.deliver_webhook", kwargs={"alert_id": alert.pk})
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not Alert.objects.filter(pk__in=[a.pk for a in alerts], webhook_status=WebhookStatus.PENDING).exists():
                break
            time.sleep(0.2)
        return list(Alert.objects.filter(pk__in=[a.pk for a in alerts]).order_by("pk"))

    warm = run([receivers["ok"].url])  # the worker's pool thread and DB connection exist from here
    assert [a.webhook_status for a in warm] == [WebhookStatus.DELIVERED]
    time.sleep(0.5)
    threads_before, connections_before = _threads(), _pg_connections()

    hostile_urls = [down, receivers["slow"].url, receivers["trickle"].url, receivers["drip"].url,
                    receivers["huge"].url, receivers["redirect"].url] * 3
    done = run(hostile_urls)
    assert [(a.webhook_status, a.webhook_attempts, a.webhook_last_error) for a in done] == [
        (WebhookStatus.FAILED, 2, "gave up: ConnectionError: the connection failed or was closed"),
        (WebhookStatus.FAILED, 2, "gave up: Timeout: no complete reply within 0.5 s"),
        (WebhookStatus.FAILED, 2, "gave up: Timeout: no complete reply within 0.5 s"),
        (WebhookStatus.DELIVERED, 1, ""),
        (WebhookStatus.FAILED, 2, "gave up: HTTP 500 (server error)"),
        (WebhookStatus.FAILED, 1, "HTTP 302 (redirect, not followed)"),
    ] * 3
    time.sleep(0.5)
    assert _threads() == threads_before
    assert _pg_connections() <= connections_before


# --- item 1: https to the checked address keeps the name for SNI and the certificate ----------------


def _tls_files(tmp_path, name: str) -> tuple[str, str, str]:
    """A throwaway CA and a leaf certificate for ``name`` signed by it; returns (ca, cert, key) paths."""
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WhaleTrack test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
          .not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = [str(tmp_path / f) for f in ("ca.pem", "cert.pem", "key.pem")]
    for path, data in zip(paths, (ca.public_bytes(serialization.Encoding.PEM),
                                  leaf.public_bytes(serialization.Encoding.PEM),
                                  leaf_key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())), strict=True):
        with open(path, "wb") as handle:
            handle.write(data)
    return paths[0], paths[1], paths[2]


@pytest.mark.django_db
@pytest.mark.parametrize(("cert_name", "expected"), [("hooks.test", WebhookStatus.DELIVERED),
                                                     ("other.test", WebhookStatus.FAILED)])
def test_https_connects_to_the_checked_ip_and_verifies_the_name(hostile, settings, monkeypatch, tmp_path,
                                                                 cert_name, expected):
    import ssl
    import types

    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    ca, cert, key = _tls_files(tmp_path, cert_name)
    receiver = hostile("ok")
    server_names: list[str | None] = []
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: server_names.append(name)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    monkeypatch.setattr(webhooks, "certifi", types.SimpleNamespace(where=lambda: ca))
    real = socket.getaddrinfo
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, port, *a, **k: (
        [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))] if host == "hooks.test"
        else real(host, port, *a, **k)))
    alert = webhook_alert(f"https://hooks.test:{receiver.port}/hook")
    assert webhook_deliver(alert_id=alert.pk) == expected
    alert.refresh_from_db()
    assert server_names[:1] == ["hooks.test"]
    if expected == WebhookStatus.DELIVERED:
        [request] = receiver.requests
        assert request["headers"]["Host"] == f"hooks.test:{receiver.port}"
    else:
        assert receiver.requests == []
        assert (alert.webhook_attempts, alert.webhook_last_error) == (
            1, "TLS error: the certificate or handshake failed")


# --- item 1: errors stored before the fix are scrubbed (migration 0005) -----------------------------


@pytest.mark.django_db
def test_old_webhook_errors_holding_reply_bodies_or_hosts_are_scrubbed():
    import importlib

    from django.apps import apps

    scrub = importlib.import_module("alerts.migrations.0005_scrub_webhook_errors").scrub
    old = {
        "HTTP 500: <html>redis_version:7.2.4 used_memory:1024</html>": "HTTP 500",
        "gave up: HTTP 503: internal admin token=abc": "gave up: HTTP 503",
        "ConnectionError: HTTPConnectionPool(host='10.0.0.1', port=6379): refused": (
            "ConnectionError: the connection failed or was closed"),
        "gave up: ReadTimeout: HTTPConnectionPool(host='10.0.0.2', port=80): Read timed out.": (
            "gave up: Timeout: no complete reply in time"),
        "InvalidURL: Failed to parse: http://[::1": "error (detail removed)",
        "rule has no webhook_url or webhook_secret": "rule has no webhook_url or webhook_secret",
        "HTTP 404 (client error)": "HTTP 404 (client error)",
        "": "",
    }
    ids = {webhook_alert("https://hooks.example/x").pk: text for text in old}
    for pk, text in ids.items():
        Alert.objects.filter(pk=pk).update(webhook_last_error=text)
    scrub(apps, None)
    assert {ids[a.pk]: a.webhook_last_error for a in Alert.objects.all()} == old


def test_a_malformed_allowed_network_fails_the_system_check(settings):
    from alerts.targets import allowed_networks_check

    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8", "127.0.0.1/32"]
    assert allowed_networks_check() == []
    settings.ALERTS_WEBHOOK_ALLOWED_NETWORKS = ["10.0.0.0/8", "intranet"]
    [error] = allowed_networks_check()
    assert error.id == "alerts.E001"
