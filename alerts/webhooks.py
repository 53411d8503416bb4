"""Webhook delivery of alerts: a signed JSON POST, retried with exponential backoff.

Request: ``POST webhook_url`` with the body ``json(alert_payload(alert))`` (compact, keys sorted) and
headers ``Content-Type: application/json``, ``X-WhaleTrack-Timestamp: <unix seconds>`` and
``X-WhaleTrack-Signature: sha256=<hex HMAC-SHA256(webhook_secret, "<timestamp>." + raw body)>``.
Receivers check the signature with ``signature_verify`` (or the same HMAC) over the timestamp and the
raw bytes before parsing, refuse a timestamp more than SIGNATURE_TOLERANCE_S (300 s) from their clock
(so a captured request cannot be replayed), and de-duplicate on the payload's ``id``: delivery is at
least once (a worker killed after the POST retries it). Each attempt has its own timestamp and so its
own signature; the body is the same bytes.

Target (``alerts.targets``): the host is resolved before every attempt and every address must be
public unless inside ``ALERTS_WEBHOOK_ALLOWED_NETWORKS``; the POST connects to the checked address
(no DNS rebinding). ``ALERTS_WEBHOOK_TIMEOUT_S`` is the total deadline of one attempt; at most
``ALERTS_WEBHOOK_MAX_RESPONSE_BYTES`` of the reply are read and none of it is stored:
``webhook_last_error`` holds the status code and a fixed reason only.

Retries: tenacity, within one run of the task ``alerts.deliver_webhook`` (enqueued after commit by
``alerts.services.webhook_dispatch``), recording every attempt on the Alert. Retried: connection
errors, timeouts, 5xx and 429, with exponential backoff and jitter (BACKOFF_INITIAL_S doubling, at
most BACKOFF_MAX_S), up to ``ALERTS_WEBHOOK_MAX_ATTEMPTS`` attempts in all. Terminal: any other
4xx, a redirect (not followed), a refused address, a TLS failure, a missing URL or secret.

A delivery that never finishes (the task lost with a killed worker, a broker that refused it) stays
``pending``: ``webhooks_redeliver_pending`` (task ``alerts.redeliver_webhooks``, beat every minute)
queues it again once it has been quiet for ``ALERTS_WEBHOOK_SWEEP_AFTER_S``, with the attempts it
has left.
"""

import contextlib
import hashlib
import hmac
import json
import logging
import socket
import ssl
import threading
import time
from datetime import timedelta
from http.client import HTTPException

import certifi
import urllib3
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.util.ssl_match_hostname import CertificateError

from alerts.models import Alert, WebhookStatus
from alerts.payloads import alert_payload
from alerts.targets import WebhookTarget, WebhookTargetRefused, WebhookTargetUnresolved, webhook_target_resolve
from whales.jobs import task_enqueue_on_commit

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-WhaleTrack-Signature"
TIMESTAMP_HEADER = "X-WhaleTrack-Timestamp"
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 30.0
USER_AGENT = "WhaleTrack-Webhook/1"
SWEEP_BATCH = 500
SIGNATURE_TOLERANCE_S = 300  # signature_verify: how far a timestamp may be from the receiver's clock
CHUNK_BYTES = 8192


class WebhookRetryable(Exception):
    """A failure waiting can fix: connection error, timeout, 5xx, 429."""


class WebhookTerminal(Exception):
    """A failure retrying cannot fix: another 4xx, a redirect, no URL or secret."""


def signature_compute(secret: str, body: bytes, timestamp: str | int) -> str:
    """``sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``, the value of X-WhaleTrack-Signature.

    ``timestamp`` is the X-WhaleTrack-Timestamp header (unix seconds): signing it with the body means a
    captured request cannot be replayed later with a fresh timestamp."""
    message = str(timestamp).encode("ascii") + b"." + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_verify(secret: str, body: bytes, header: str | None, timestamp: str | None, *,
                     tolerance_s: int = SIGNATURE_TOLERANCE_S, now: float | None = None) -> bool:
    """True when ``header`` is the signature of ``timestamp`` + the raw ``body`` under ``secret`` AND the
    timestamp is within ``tolerance_s`` seconds of ``now`` (default: the clock). Constant-time comparison;
    a missing or malformed header or timestamp is False. Receivers also de-duplicate on the payload's ``id``."""
    if not header or not secret or not timestamp or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance_s:
        return False
    expected = signature_compute(secret, body, timestamp).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def webhook_body(alert: Alert) -> bytes:
    """The raw body POSTed for ``alert``: compact JSON of ``alert_payload``, keys sorted, UTF-8."""
    return json.dumps(alert_payload(alert), separators=(",", ":"), sort_keys=True).encode()


def _connection(target: WebhookTarget, timeout_s: float) -> HTTPConnection:
    """A connection to the checked IP; for https, TLS names and verifies ``target.host`` (SNI, certificate)."""
    if target.scheme == "https":
        return HTTPSConnection(str(target.ip), target.port, timeout=timeout_s, cert_reqs="CERT_REQUIRED",
                               ca_certs=certifi.where(), server_hostname=target.host, assert_hostname=target.host)
    return HTTPConnection(str(target.ip), target.port, timeout=timeout_s)


def _status_text(status: int) -> str:
    kind = ("redirect, not followed" if 300 <= status < 400 else "rate limited" if status == 429
            else "client error" if status < 500 else "server error")
    return f"HTTP {status} ({kind})"


def _drain(response: urllib3.HTTPResponse, cap: int) -> None:
    """Read and drop at most ``cap`` bytes of the reply body; stop early at its end, an error, or the
    watchdog's shutdown at the deadline."""
    read = 0
    with contextlib.suppress(OSError, HTTPException, urllib3.exceptions.HTTPError):
        while read < cap:
            chunk = response.read(min(CHUNK_BYTES, cap - read))
            if not chunk:
                return
            read += len(chunk)


def webhook_post(*, url: str, secret: str, body: bytes, timeout_s: float,
                 max_response_bytes: int | None = None) -> int:
    """One signed POST; return the 2xx status.

    The host is resolved and checked (``alerts.targets``) and the connection goes to that checked
    address (Host header and TLS keep the name). ``timeout_s`` bounds the WHOLE attempt (connect, TLS,
    send, status line and headers, body): a watchdog shuts the socket at the deadline, so a receiver
    trickling bytes cannot hold it longer. The status code is the answer: no status and headers by the
    deadline is a timeout; after them at most ``max_response_bytes`` (default
    ALERTS_WEBHOOK_MAX_RESPONSE_BYTES) of the body are read, until the deadline, and dropped. Redirects are
    not followed.
    Raises: WebhookRetryable / WebhookTerminal, whose text is fixed (the status code and a reason; never
    the reply body, an address or an exception message).
    """
    cap = settings.ALERTS_WEBHOOK_MAX_RESPONSE_BYTES if max_response_bytes is None else max_response_bytes
    try:
        target = webhook_target_resolve(url)
    except WebhookTargetRefused as exc:
        raise WebhookTerminal(f"refused: {exc.reason}") from exc
    except WebhookTargetUnresolved as exc:
        raise WebhookRetryable("ConnectionError: the host name does not resolve") from exc
    timestamp = str(int(time.time()))
    headers = {
        "Host": target.host_header,
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature_compute(secret, body, timestamp),
    }
    conn = _connection(target, timeout_s)
    expired = threading.Event()

    def expire() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    watchdog = threading.Timer(timeout_s, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.connect()
        if expired.is_set():  # the deadline passed while connecting, before the watchdog saw a socket
            raise TimeoutError
        # preload_content/decode_content off: the reply is read here, capped and undecoded (no gzip bomb).
        conn.request("POST", target.path, body=body, headers=headers, preload_content=False, decode_content=False)
        response = conn.getresponse()
        if expired.is_set():  # the watchdog's shutdown ended the headers early: not a real reply
            raise TimeoutError
        status = response.status
        _drain(response, cap)  # the status is the answer: the body is read only to be polite, and dropped
    except (ssl.SSLError, CertificateError) as exc:
        if expired.is_set():
            raise WebhookRetryable(f"Timeout: no complete reply within {timeout_s:g} s") from exc
        raise WebhookTerminal("TLS error: the certificate or handshake failed") from exc
    except (OSError, HTTPException, urllib3.exceptions.HTTPError) as exc:
        # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError: test it first.
        timed_out = not isinstance(exc, urllib3.exceptions.NewConnectionError) and isinstance(
            exc, TimeoutError | urllib3.exceptions.TimeoutError)
        if expired.is_set() or timed_out:
            raise WebhookRetryable(f"Timeout: no complete reply within {timeout_s:g} s") from exc
        raise WebhookRetryable("ConnectionError: the connection failed or was closed") from exc
    finally:
        watchdog.cancel()
        watchdog.join()
        conn.close()
    if 200 <= status < 300:
        return status
    if status == 429 or status >= 500:
        raise WebhookRetryable(_status_text(status))
    raise WebhookTerminal(_status_text(status))


def webhook_deliver(*, alert_id: int) -> str:
    """POST ``alert_id``'s payload to its rule's webhook, retrying; return the final webhook status.

    Every attempt adds 1 to ``webhook_attempts`` and a failed one sets ``webhook_last_error``;
    success sets ``webhook_status`` delivered and ``webhook_delivered_at``; a terminal error or the
    last allowed attempt failing sets failed. Attempts already made (a redelivery) count toward
    ``ALERTS_WEBHOOK_MAX_ATTEMPTS``. An alert already delivered/failed is left alone. The body is
    built once, so every attempt sends the same bytes and signature.
    """
    alert = Alert.objects.select_related("rule", "event__whale__entity").get(pk=alert_id)
    if alert.webhook_status in (WebhookStatus.DELIVERED, WebhookStatus.FAILED):
        return alert.webhook_status
    rule = alert.rule
    if not rule.webhook_url or not rule.webhook_secret:
        _finish(alert_id, WebhookStatus.FAILED, "rule has no webhook_url or webhook_secret")
        return WebhookStatus.FAILED
    body = webhook_body(alert)
    attempts = max(1, settings.ALERTS_WEBHOOK_MAX_ATTEMPTS - alert.webhook_attempts)
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=BACKOFF_INITIAL_S, max=BACKOFF_MAX_S, jitter=BACKOFF_INITIAL_S),
        retry=retry_if_exception_type(WebhookRetryable),
    )
    try:
        for attempt in retrying:
            with attempt:
                _attempt(alert_id, url=rule.webhook_url, secret=rule.webhook_secret, body=body)
    except WebhookTerminal as exc:
        _finish(alert_id, WebhookStatus.FAILED, str(exc))
        return WebhookStatus.FAILED
    except RetryError as exc:
        _finish(alert_id, WebhookStatus.FAILED, f"gave up: {exc.last_attempt.exception()}")
        return WebhookStatus.FAILED
    _finish(alert_id, WebhookStatus.DELIVERED, "")
    return WebhookStatus.DELIVERED


def _attempt(alert_id: int, *, url: str, secret: str, body: bytes) -> None:
    Alert.objects.filter(pk=alert_id).update(webhook_attempts=F("webhook_attempts") + 1,
                                             webhook_updated_at=timezone.now())
    try:
        webhook_post(url=url, secret=secret, body=body, timeout_s=settings.ALERTS_WEBHOOK_TIMEOUT_S)
    except (WebhookRetryable, WebhookTerminal) as exc:
        Alert.objects.filter(pk=alert_id).update(webhook_last_error=str(exc)[:2000])
        logger.warning("alerts.webhook.attempt_failed", extra={"alert": alert_id, "error": str(exc)[:200]})
        raise


def _finish(alert_id: int, status: str, error: str) -> None:
    fields: dict = {"webhook_status": status}
    if status == WebhookStatus.DELIVERED:
        fields["webhook_delivered_at"] = timezone.now()
    elif error:
        fields["webhook_last_error"] = error[:2000]
    Alert.objects.filter(pk=alert_id).update(**fields)
    log = logger.info if status == WebhookStatus.DELIVERED else logger.warning
    log("alerts.webhook.finished", extra={"alert": alert_id, "status": status})


def webhooks_redeliver_pending(*, older_than_s: int, limit: int = SWEEP_BATCH) -> int:
    """Sweep: queue again the webhook deliveries left ``pending`` with nothing queued or attempted for
    ``older_than_s`` seconds; return how many were queued.

    Each one is claimed first (``webhook_updated_at`` moved to now by a conditional UPDATE), so two
    sweeps never queue the same delivery twice, and then ``alerts.deliver_webhook`` is enqueued after
    commit: it makes only the attempts left of ``ALERTS_WEBHOOK_MAX_ATTEMPTS``. A delivery with none left
    (its worker died after the last one) is marked failed instead. At most ``limit`` per call.
    """
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    stale = Alert.objects.filter(webhook_status=WebhookStatus.PENDING).filter(
        Q(webhook_updated_at__lte=cutoff) | Q(webhook_updated_at__isnull=True, delivered_at__lte=cutoff))
    exhausted = stale.filter(webhook_attempts__gte=settings.ALERTS_WEBHOOK_MAX_ATTEMPTS).update(
        webhook_status=WebhookStatus.FAILED, webhook_updated_at=now,
        webhook_last_error="gave up: the delivery stopped after its last attempt")
    queued = 0
    for alert_id in stale.order_by("webhook_updated_at", "id").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            claimed = Alert.objects.filter(pk=alert_id, webhook_status=WebhookStatus.PENDING).filter(
                Q(webhook_updated_at__lte=cutoff) | Q(webhook_updated_at__isnull=True)).update(webhook_updated_at=now)
            if claimed:
                task_enqueue_on_commit("alerts.deliver_webhook", kwargs={"alert_id": alert_id})
                queued += 1
    if queued or exhausted:
        logger.warning("alerts.webhook.swept", extra={"queued": queued, "failed": exhausted})
    return queued
