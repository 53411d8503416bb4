"""Alert destinations: a user's saved Apprise URLs (e-mail, Telegram, Discord, Slack, ntfy, ...), the test
message that verifies one, and the delivery of alerts and digests to them.

URLs (``destination_url_check``): at most ALERTS_DESTINATION_MAX_URL_LENGTH characters; the Apprise scheme must
be in ALERTS_DESTINATION_SCHEMES (schemes that run commands or talk to this machine, such as script://,
windows://, dbus://, syslog://, are never in the default list) and Apprise must parse it. Options that make
Apprise read local files (``template=``, ``pgpkey=``...) are refused (and templates are off in Apprise's
asset). Redirects are never followed (``redirect=no`` and the asset), so a public host cannot bounce a send
to an internal address. The network host the plugin will contact
is checked like a webhook's (``alerts.targets.host_check``: public addresses only, unless inside
ALERTS_WEBHOOK_ALLOWED_NETWORKS): the URL's host for json/jsons/ntfy (self-hosted)/gotify/..., the ``smtp=``
server (or the URL's host) for mailto. Services whose API host is fixed in Apprise (Telegram, Discord, Slack,
Pushover, Teams, ntfy.sh) need no check. The check runs on save and again before every send; Apprise resolves
the name itself, so unlike webhooks the connection is not pinned to the checked address.

At rest (``whales.sealing``): the URL is sealed with ALERT_DESTINATION_KEYS (newest first; no fallback: without
a key nothing is saved, ``DestinationKeyMissing`` 503) and bound to the row, so a ciphertext copied to another
row does not open. Rotation: put the new key first, restart, run ``manage.py alerts_rotate_destination_keys``
(``destination_keys_rotate``), then drop the old keys. The URL is never shown back: ``service`` and ``hint``.

Delivery (at least once): when an alert or digest is delivered (``alerts.services.alert_deliver``) and its rule
has active destinations, one ``AlertDelivery`` per (alert, destination) is created (unique: a second call
creates none) and task ``alerts.deliver_destination`` is enqueued after commit for each. The task claims the
row (pending -> sending), makes up to ALERTS_DESTINATION_MAX_ATTEMPTS attempts with exponential backoff and
jitter (tenacity), recording each, and ends delivered or failed. A delivered row is never sent again (a re-run
of the task sends nothing). A row left pending or sending (a killed worker) is queued again by the sweep
``destinations_redeliver_pending`` (beat, every minute) once quiet for ALERTS_DESTINATION_SWEEP_AFTER_S.

Idempotency: the row's ``idempotency_key`` is the same on every attempt. The JSON targets (json/jsons) send it
as an ``Idempotency-Key`` header (Apprise's ``+header`` URL option), so a receiver can de-duplicate. Telegram,
Discord, Slack, ntfy and e-mail take no such key in the API Apprise uses: a retry after a lost reply can show
the message twice there (at least once, never zero).

Pausing: a delivery that fails (all its attempts) adds one to the destination's ``consecutive_failures``; a
success resets it. At ALERTS_DESTINATION_PAUSE_AFTER_FAILURES the destination is paused (``paused_at``): its
later deliveries are ``skipped``, and it shows as paused on the page and in the API until a successful test
message (``destination_test``) un-pauses it.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.fernet import InvalidToken, MultiFernet
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from alerts.messages import Message, alert_message, probe_message
from alerts.models import Alert, AlertDelivery, AlertDestination, AlertRule, DeliveryStatus, DestinationStatus
from alerts.targets import WebhookTargetRefused, WebhookTargetUnresolved, host_check
from whales.errors import ApplicationError, InvalidParameter, Misconfigured
from whales.jobs import task_enqueue_on_commit
from whales.quotas import owner_quota_check
from whales.sealing import Binding, fernet_build, seal, unseal

if TYPE_CHECKING:
    import apprise

logger = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 30.0
SWEEP_BATCH = 500
# Apprise services whose API host is fixed in the plugin (the URL's "host" is a token or an id, not a server).
FIXED_HOST_SCHEMES = frozenset({"tgram", "discord", "slack", "pover", "msteams"})
# URL options that make Apprise read a local file (a payload template, a PGP key) or attach one.
REFUSED_OPTIONS = frozenset({"template", "tpl", "pgpkey", "pgppub", "pgppriv", "pgp", "attach", "config"})
# Options this module sets itself on every send (a user's value is replaced).
OWN_OPTIONS = frozenset({"format", "href", "blocks", "cto", "rto", "redirect", "+idempotency-key"})


class DestinationKeyMissing(Misconfigured):
    """503 ``misconfigured``: ALERT_DESTINATION_KEYS is empty (or holds a value that is not a Fernet key)."""


class DestinationRefused(InvalidParameter):
    """400 ``destination_refused``: the URL is too long, not an allowed Apprise URL, uses a refused option, or
    names a host that resolves to a refused address. The detail is a fixed text naming no address."""

    code = "destination_refused"
    default_detail = "Destination URL refused."


class DestinationTestFailed(ApplicationError):
    """502 ``destination_failed``: the test message did not go through (the service refused it, or could not
    be reached in time). Nothing else changed; the destination stays unverified."""

    code = "destination_failed"
    status_code = 502
    default_detail = "The test message could not be delivered."


class DeliveryRetryable(Exception):
    """A send that failed and may succeed later (the service refused it or could not be reached)."""


class DeliveryTerminal(Exception):
    """A send that cannot succeed: the URL is refused now, or no key opens it."""


@dataclass(frozen=True)
class CheckedUrl:
    """A destination URL that passed ``destination_url_check``: its ``service`` (Apprise scheme) and ``hint``."""

    service: str
    hint: str


# --- keys and sealing ------------------------------------------------------------------------------------


def _fernet() -> MultiFernet:
    return fernet_build(list(settings.ALERT_DESTINATION_KEYS), error=DestinationKeyMissing,
                        missing="ALERT_DESTINATION_KEYS is not set: no destination can be saved",
                        invalid="ALERT_DESTINATION_KEYS holds a value that is not a valid Fernet key")


def _binding(destination_id: int) -> Binding:
    return ["alerts.AlertDestination", destination_id, "url"]


def destination_url(destination: AlertDestination) -> str:
    """The plaintext Apprise URL of ``destination``, for sending only (never shown, never logged).
    Raises: DestinationKeyMissing; InvalidToken (no configured key opens it, or it was copied from another row)."""
    return unseal(bytes(destination.url_encrypted), fernet=_fernet(), binding=_binding(destination.pk))


# --- URL checks ------------------------------------------------------------------------------------------


def _scheme(url: str) -> str:
    return url.split("://", 1)[0].strip().lower() if "://" in url else ""


def _plugin_protocols(plugin: Any) -> set[str]:
    found: set[str] = set()
    for attr in ("protocol", "secure_protocol"):
        value = getattr(plugin, attr, None)
        if isinstance(value, str):
            found.add(value.lower())
        elif isinstance(value, list | tuple):
            found.update(str(v).lower() for v in value)
    return found


def _network_hosts(plugin: Any, scheme: str) -> list[tuple[str, int]]:
    """The (host, port) pairs the plugin will connect to that the URL chose (none for fixed-host services)."""
    if scheme in FIXED_HOST_SCHEMES:
        return []
    if scheme in ("ntfy", "ntfys") and str(getattr(plugin, "mode", "")) == "cloud":
        return []  # ntfy.sh
    if scheme in ("matrix", "matrixs") and str(getattr(plugin, "mode", "")) == "t2bot":
        return []  # webhooks.t2bot.io
    if scheme in ("mailto", "mailtos"):
        host = str(getattr(plugin, "smtp_host", "") or getattr(plugin, "host", "") or "")
        return [(host, int(getattr(plugin, "port", None) or 25))]
    network_host = getattr(plugin, "host", None)
    if not network_host:
        return []
    default = 443 if scheme.endswith("s") else 80
    return [(str(network_host), int(getattr(plugin, "port", None) or default))]


def _hint(url: str, service: str) -> str:
    bare = url.split("?", 1)[0].rstrip("/")
    return f"{service}://…{bare[-4:]}" if len(bare) > len(service) + 7 else f"{service}://…"


def destination_url_check(url: str, *, resolve_strict: bool = False) -> CheckedUrl:
    """Check an Apprise URL (module docstring); return its service and hint.

    A host name that does not resolve now is accepted unless ``resolve_strict`` (sends check again).
    Raises: DestinationRefused (fixed texts); with ``resolve_strict``, WebhookTargetUnresolved.
    """
    url = url.strip()
    if not url:
        raise DestinationRefused("url: an Apprise URL is required.")
    if len(url) > settings.ALERTS_DESTINATION_MAX_URL_LENGTH:
        raise DestinationRefused(f"url: at most {settings.ALERTS_DESTINATION_MAX_URL_LENGTH} characters.")
    scheme = _scheme(url)
    allowed = set(settings.ALERTS_DESTINATION_SCHEMES)
    if not scheme or scheme not in allowed:
        raise DestinationRefused(f"url: the scheme must be one of {', '.join(sorted(allowed))}.")
    query = urlsplit(url).query if "?" in url else ""
    options = {key.lower() for key, _ in parse_qsl(query, keep_blank_values=True)}
    if refused := sorted(options & REFUSED_OPTIONS):
        raise DestinationRefused(f"url: option(s) not allowed: {', '.join(refused)}.")
    import apprise  # here, not at the top: Apprise's plugins cost a process ~15 MB; only senders and savers need it

    plugin = apprise.Apprise.instantiate(url, asset=_asset(), suppress_exceptions=True)
    if plugin is None or not (_plugin_protocols(plugin) & {scheme}):
        raise DestinationRefused("url: not a valid Apprise URL for this service.")
    for host, port in _network_hosts(plugin, scheme):
        try:
            host_check(host, port)
        except WebhookTargetRefused as exc:
            raise DestinationRefused(f"url: {exc.reason}") from exc
        except WebhookTargetUnresolved:
            if resolve_strict:
                raise
    return CheckedUrl(service=scheme, hint=_hint(url, scheme))


# --- destinations CRUD -----------------------------------------------------------------------------------


def destination_create(*, owner_id: int, name: str, url: str) -> AlertDestination:
    """Save a destination for ``owner_id``: the URL checked and sealed, ``service`` and ``hint`` derived.
    Raises: InvalidParameter (name), DestinationRefused (url), QuotaExceeded (LIMITS_MAX_DESTINATIONS_PER_USER),
    DestinationKeyMissing (no key: nothing stored)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise InvalidParameter("name: 1 to 200 characters.")
    checked = destination_url_check(url)
    fernet = _fernet()  # before anything is written
    with transaction.atomic():
        owner_quota_check(owner_id=owner_id, owned=AlertDestination.objects.filter(owner_id=owner_id),
                          limit=settings.LIMITS_MAX_DESTINATIONS_PER_USER, what="alert destinations")
        destination = AlertDestination.objects.create(owner_id=owner_id, name=name, url_encrypted=b"",
                                                       service=checked.service, hint=checked.hint)
        destination.url_encrypted = seal(url.strip(), fernet=fernet, binding=_binding(destination.pk))
        destination.save(update_fields=["url_encrypted"])
    return destination


def destination_update(*, destination: AlertDestination, name: str | None = None, url: str | None = None,
                       status: str | None = None) -> AlertDestination:
    """Rename, replace the URL (unverified again, failures reset) or pause/resume (``status``) ``destination``.
    Resuming resets the failure count. Raises like ``destination_create``; InvalidParameter for a bad status."""
    fields = ["updated_at"]
    if name is not None:
        name = name.strip()
        if not name or len(name) > 200:
            raise InvalidParameter("name: 1 to 200 characters.")
        destination.name = name
        fields.append("name")
    if url is not None:
        checked = destination_url_check(url)
        destination.url_encrypted = seal(url.strip(), fernet=_fernet(), binding=_binding(destination.pk))
        destination.service, destination.hint, destination.verified_at = checked.service, checked.hint, None
        destination.consecutive_failures, destination.last_error = 0, ""
        fields += ["url_encrypted", "service", "hint", "verified_at", "consecutive_failures", "last_error"]
    if status is not None:
        if status not in DestinationStatus.values:
            raise InvalidParameter(f"status: one of {', '.join(DestinationStatus.values)}.")
        if status != destination.status:
            destination.status = status
            destination.paused_at = timezone.now() if status == DestinationStatus.PAUSED else None
            if status == DestinationStatus.ACTIVE:
                destination.consecutive_failures = 0
            fields += ["status", "paused_at", "consecutive_failures"]
    destination.save(update_fields=list(dict.fromkeys(fields)))
    return destination


def destination_delete(*, destination: AlertDestination) -> None:
    """Delete ``destination`` (its deliveries go with it; rules simply stop naming it)."""
    destination.delete()


def rule_destinations_check(*, owner_id: int, destinations: Iterable[AlertDestination]) -> list[AlertDestination]:
    """``destinations`` when every one belongs to ``owner_id``. Raises: InvalidParameter naming the others."""
    rows = list(destinations)
    foreign = [str(d.pk) for d in rows if d.owner_id != owner_id]
    if foreign:
        raise InvalidParameter(f"destinations: unknown ids: {', '.join(foreign[:10])}.")
    return rows


def destination_keys_rotate() -> int:
    """Re-seal every destination's URL with the newest key; return how many rows. One transaction per row
    (locked). Raises: DestinationKeyMissing; InvalidToken for a row no configured key opens (rows before it
    are done)."""
    done = 0
    fernet = _fernet()
    for pk in AlertDestination.objects.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            row = AlertDestination.objects.select_for_update().get(pk=pk)
            plaintext = unseal(bytes(row.url_encrypted), fernet=fernet, binding=_binding(pk))
            row.url_encrypted = seal(plaintext, fernet=fernet, binding=_binding(pk))
            row.save(update_fields=["url_encrypted"])
        done += 1
    return done


# --- sending ---------------------------------------------------------------------------------------------


def _send_url(url: str, *, service: str, message: Message, idempotency_key: str = "") -> str:
    """``url`` with this module's own options: each service's formatting (Discord embed with the explorer link,
    Slack blocks, Telegram HTML), the timeouts, and the JSON targets' Idempotency-Key header."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in OWN_OPTIONS]
    timeout = f"{settings.ALERTS_DESTINATION_TIMEOUT_S:g}"
    query += [("cto", timeout), ("rto", timeout), ("redirect", "no")]
    if service == "discord":
        query.append(("format", "markdown"))  # Apprise sends an embed only when the URL asks for Markdown
        if message.link:
            query.append(("href", message.link))
    elif service == "slack":
        query.append(("blocks", "yes"))
    elif service == "tgram":
        query.append(("format", "html"))
    if idempotency_key and service in ("json", "jsons"):
        query.append(("+Idempotency-Key", idempotency_key))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _asset() -> "apprise.AppriseAsset":
    """Apprise's settings for every send: our name; no cache files on disk (``storage_mode`` memory: a worker's
    home may be read-only); no payload templates (they read local files); and no HTTP redirects followed (a
    public host answering 307 to an internal address would get around the host check)."""
    import apprise

    return apprise.AppriseAsset(app_id="WhaleTrack", app_desc="WhaleTrack whale alerts",
                                app_url="https://github.com/whaletrack", secure_logging=True, storage_mode="memory",
                                allow_templates=False, http_redirects=False)


def message_send(*, url: str, service: str, message: Message, idempotency_key: str = "") -> None:
    """Send ``message`` to the Apprise ``url`` once (no retry here). The URL is checked first.
    Raises: DeliveryTerminal (refused URL); DeliveryRetryable (host does not resolve, or Apprise reports a
    failure: the service answered an error or could not be reached within ALERTS_DESTINATION_TIMEOUT_S).
    Error texts are fixed: never the URL, a reply body or an address."""
    try:
        destination_url_check(url, resolve_strict=True)
    except DestinationRefused as exc:
        raise DeliveryTerminal(f"refused: {exc.detail}") from exc
    except WebhookTargetUnresolved as exc:
        raise DeliveryRetryable("the host name does not resolve") from exc
    import apprise

    asset = _asset()
    notifier = apprise.Apprise(asset=asset)
    if not notifier.add(_send_url(url, service=service, message=message, idempotency_key=idempotency_key)):
        raise DeliveryTerminal("refused: not a valid Apprise URL for this service")
    if not notifier.notify(body=message.body, title=message.title, body_format=apprise.NotifyFormat(message.style)):
        raise DeliveryRetryable(f"{service}: the service did not accept the message or could not be reached")


def destination_test(*, destination: AlertDestination) -> AlertDestination:
    """Send a test message to ``destination`` now (one attempt, ALERTS_DESTINATION_TIMEOUT_S). On success set
    ``verified_at``, clear ``last_error`` and the failure count, and un-pause it. Raises: DestinationTestFailed
    (502; ``last_error`` records the reason), DestinationKeyMissing."""
    try:
        url = destination_url(destination)
    except InvalidToken as exc:
        raise DestinationTestFailed("No configured ALERT_DESTINATION_KEYS key opens this destination's URL; "
                                    "save the URL again.") from exc
    try:
        message_send(url=url, service=destination.service,
                     message=probe_message(name=destination.name, service=destination.service))
    except (DeliveryRetryable, DeliveryTerminal) as exc:
        AlertDestination.objects.filter(pk=destination.pk).update(last_error=str(exc)[:500],
                                                                  updated_at=timezone.now())
        raise DestinationTestFailed(f"The test message was not delivered: {exc}") from exc
    now = timezone.now()
    AlertDestination.objects.filter(pk=destination.pk).update(
        verified_at=now, last_error="", consecutive_failures=0, status=DestinationStatus.ACTIVE, paused_at=None,
        updated_at=now)
    destination.refresh_from_db()
    return destination


# --- delivery --------------------------------------------------------------------------------------------


def alert_destinations_dispatch(*, alert: Alert) -> list[int]:
    """Create the deliveries of ``alert`` to its rule's active destinations (one per destination, unique; rows
    that exist are left alone) and enqueue ``alerts.deliver_destination`` for each created after commit.
    Returns the ids of the deliveries created. Only destinations of the rule's owner are used."""
    rule: AlertRule = alert.rule
    targets = list(rule.destinations.filter(owner_id=rule.owner_id, status=DestinationStatus.ACTIVE)
                   .order_by("pk").values_list("pk", flat=True))
    if not targets:
        return []
    created: list[int] = []
    with transaction.atomic():
        for destination_id in targets:
            delivery, was_created = AlertDelivery.objects.get_or_create(alert=alert, destination_id=destination_id)
            if was_created:
                created.append(delivery.pk)
                task_enqueue_on_commit("alerts.deliver_destination", kwargs={"delivery_id": delivery.pk})
    return created


def _claim(delivery_id: int) -> bool:
    """pending -> sending (or a sending row quiet for the sweep delay: its worker died). True if claimed."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.ALERTS_DESTINATION_SWEEP_AFTER_S)
    return bool(AlertDelivery.objects.filter(pk=delivery_id).filter(
        Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.SENDING, updated_at__lte=stale),
    ).update(status=DeliveryStatus.SENDING, updated_at=now))


def delivery_send(*, delivery_id: int) -> str:
    """Send one delivery (task ``alerts.deliver_destination``); return its final status.

    A row already delivered, failed or skipped, or being sent by another worker, is left alone and nothing is
    sent. A paused destination's row becomes ``skipped``. Otherwise up to the attempts left of
    ALERTS_DESTINATION_MAX_ATTEMPTS are made (each adds to ``attempts``; a failure sets ``last_error``), with
    exponential backoff; success: ``delivered``, ``delivered_at``, the destination's failures reset; failure:
    ``failed`` and the destination's ``consecutive_failures`` + 1, paused at
    ALERTS_DESTINATION_PAUSE_AFTER_FAILURES. The message is built once, so every attempt sends the same text.
    """
    delivery = (AlertDelivery.objects.select_related("destination", "alert__rule", "alert__event__whale__entity")
                .filter(pk=delivery_id).first())
    if delivery is None or delivery.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED,
                                               DeliveryStatus.SKIPPED):
        return delivery.status if delivery is not None else DeliveryStatus.FAILED
    destination = delivery.destination
    if destination.status == DestinationStatus.PAUSED:
        AlertDelivery.objects.filter(pk=delivery_id, status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]
                                     ).update(status=DeliveryStatus.SKIPPED, last_error="destination paused",
                                              updated_at=timezone.now())
        return DeliveryStatus.SKIPPED
    if not _claim(delivery_id):
        return DeliveryStatus.SENDING
    left = settings.ALERTS_DESTINATION_MAX_ATTEMPTS - delivery.attempts
    if left <= 0:
        _finish(delivery, DeliveryStatus.FAILED, "gave up: no attempts left")
        return DeliveryStatus.FAILED
    try:
        url = destination_url(destination)
    except (InvalidToken, DestinationKeyMissing) as exc:
        _finish(delivery, DeliveryStatus.FAILED, f"the URL cannot be opened: {type(exc).__name__}")
        return DeliveryStatus.FAILED
    message = alert_message(delivery.alert, service=destination.service)
    retrying = Retrying(
        stop=stop_after_attempt(left),
        wait=wait_exponential_jitter(multiplier=BACKOFF_INITIAL_S, max=BACKOFF_MAX_S, jitter=BACKOFF_INITIAL_S),
        retry=retry_if_exception_type(DeliveryRetryable),
    )
    try:
        for attempt in retrying:
            with attempt:
                _attempt(delivery, url=url, message=message)
    except DeliveryTerminal as exc:
        _finish(delivery, DeliveryStatus.FAILED, str(exc))
        return DeliveryStatus.FAILED
    except RetryError as exc:
        _finish(delivery, DeliveryStatus.FAILED, f"gave up: {exc.last_attempt.exception()}")
        return DeliveryStatus.FAILED
    _finish(delivery, DeliveryStatus.DELIVERED, "")
    return DeliveryStatus.DELIVERED


def _attempt(delivery: AlertDelivery, *, url: str, message: Message) -> None:
    AlertDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1, updated_at=timezone.now())
    try:
        message_send(url=url, service=delivery.destination.service, message=message,
                     idempotency_key=delivery.idempotency_key)
    except (DeliveryRetryable, DeliveryTerminal) as exc:
        AlertDelivery.objects.filter(pk=delivery.pk).update(last_error=str(exc)[:500])
        logger.warning("alerts.destination.attempt_failed",
                       extra={"delivery": delivery.pk, "service": delivery.destination.service})
        raise


def _finish(delivery: AlertDelivery, status: str, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        fields: dict[str, Any] = {"status": status, "updated_at": now}
        if status == DeliveryStatus.DELIVERED:
            fields["delivered_at"] = now
        elif error:
            fields["last_error"] = error[:500]
        AlertDelivery.objects.filter(pk=delivery.pk).update(**fields)
        destinations = AlertDestination.objects.filter(pk=delivery.destination_id)
        if status == DeliveryStatus.DELIVERED:
            destinations.update(consecutive_failures=0, last_error="", updated_at=now)
        else:
            destinations.update(consecutive_failures=F("consecutive_failures") + 1, last_error=error[:500],
                                updated_at=now)
            destinations.filter(status=DestinationStatus.ACTIVE,
                                consecutive_failures__gte=settings.ALERTS_DESTINATION_PAUSE_AFTER_FAILURES,
                                ).update(status=DestinationStatus.PAUSED, paused_at=now)
    log = logger.info if status == DeliveryStatus.DELIVERED else logger.warning
    log("alerts.destination.finished", extra={"delivery": delivery.pk, "status": status})


def destinations_redeliver_pending(*, older_than_s: int, limit: int = SWEEP_BATCH) -> int:
    """Sweep: queue again the deliveries left pending or sending with nothing queued or attempted for
    ``older_than_s`` seconds; return how many were queued. The task claims each row, so a row queued twice is
    sent once. At most ``limit`` per call."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=older_than_s)
    queued = 0
    stale = AlertDelivery.objects.filter(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING],
                                         updated_at__lte=cutoff)
    for delivery_id in stale.order_by("updated_at", "id").values_list("pk", flat=True)[:limit]:
        task_enqueue_on_commit("alerts.deliver_destination", kwargs={"delivery_id": delivery_id})
        queued += 1
    if queued:
        logger.warning("alerts.destination.swept", extra={"queued": queued})
    return queued
