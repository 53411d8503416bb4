"""Alert rules and the alerts they raise (DESIGN.md section 2).

An ``AlertRule`` is one user's filter over the live feed (``whales.WhaleEvent``); every event it
matches becomes one ``Alert`` (unique on (rule, event): the exactly-once guarantee). Inside the
rule's cooldown an alert is kept as ``suppressed`` and later rolled into one ``digest`` alert, so
nothing is ever dropped. Matching, delivery and digests are in ``alerts.services``.
"""

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from knox.models import AbstractAuthToken

from alerts.targets import WebhookTargetRefused, webhook_url_check
from whales.chains import Chain
from whales.models import Direction, Entity, EventType, Label, Watchlist, Whale, WhaleEvent, usd_field

# Webhook URLs: http(s) only (Django's URLValidator would also take ftp/ftps).
webhook_url_validator = URLValidator(schemes=["http", "https"])


class AlertChannel(models.TextChoices):
    """Where an alert goes: the owner's ``/ws/alerts/`` connections, and/or an HTTP webhook."""

    WEBSOCKET = "websocket", "WebSocket"
    WEBHOOK = "webhook", "Webhook"


class AlertKind(models.TextChoices):
    EVENT = "event", "One event"
    DIGEST = "digest", "Digest of suppressed alerts"


class AlertStatus(models.TextChoices):
    """Lifecycle: pending -> delivered | failed; or suppressed (inside the cooldown) -> digested."""

    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    SUPPRESSED = "suppressed", "Suppressed (waiting for the digest)"
    DIGESTED = "digested", "Sent in a digest"
    FAILED = "failed", "Failed"


class WebhookStatus(models.TextChoices):
    NONE = "none", "No webhook"
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


def default_channels() -> list[str]:
    return [AlertChannel.WEBSOCKET.value]


class AlertRule(models.Model):
    """One user's filter over whale events, and where its alerts go.

    Matching (``alerts.services.rule_matches``; every condition set must hold, an empty one is "any"):

    - ``active``: inactive rules match nothing (default True: a rule starts working when saved).
    - ``chains`` / ``event_types``: JSON lists of ``Chain`` / ``EventType`` values; the event's is in it.
    - ``min_value_usd``: the event's ``value_usd`` is known and >= it (an unpriced event never matches).
    - ``whales``: the event's whale is one of them. ``labels``: the event's whale carries at least one
      of them (any source). ``entities``: the event's whale belongs to one of them.
    - ``watchlist``: the event's whale's ``(chain, address)`` is on that list (``whales.watchlists``).
    - ``direction`` (a ``whales.Direction`` value): the direction of the whale's activity the event
      reports, i.e. of its ``Trade`` (same chain, tx_hash, log_index and whale; see
      ``alerts.selectors.event_directions``). Events that carry no direction (``mempool_whale``,
      ``reorg_retraction``) never match a rule with a direction.

    ``cooldown_seconds``: after an alert goes out (an event alert or a digest, ``last_alert_at``),
    further matches within this many seconds are stored ``suppressed`` and sent as one digest when
    the cooldown ends. ``destinations``: the owner's saved ``AlertDestination`` rows (e-mail, Telegram,
    Discord, Slack, ntfy... through Apprise) every delivered alert and digest also goes to, whatever
    ``channels`` says (``alerts.destinations``; another user's destination is refused by the services).
    ``channels``: JSON list, subset of ``AlertChannel`` (empty: alerts are only stored and listed by the API).
    ``webhook_secret`` signs webhook bodies (HMAC-SHA256); generated when the webhook channel is on and none
    is given.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    chains = models.JSONField(default=list, blank=True, help_text="Chain values; empty = any chain.")
    event_types = models.JSONField(default=list, blank=True, help_text="Event types; empty = any type.")
    min_value_usd = usd_field(null=True, blank=True, help_text="Minimum event value in USD; empty = any.")
    whales = models.ManyToManyField(Whale, blank=True, related_name="alert_rules")
    labels = models.ManyToManyField(Label, blank=True, related_name="alert_rules",
                                    help_text="The event's whale carries one of these labels.")
    entities = models.ManyToManyField(Entity, blank=True, related_name="alert_rules",
                                      help_text="The event's whale belongs to one of these entities.")
    direction = models.CharField(max_length=20, choices=Direction.choices, blank=True,
                                 help_text="Direction of the whale's activity; empty = any.")
    watchlist = models.ForeignKey(
        Watchlist, null=True, blank=True, on_delete=models.PROTECT, related_name="alert_rules",
        help_text="The event's whale is on this watchlist (yours or a published one); empty = any.")
    cooldown_seconds = models.PositiveIntegerField(default=0, help_text="0 = every match is sent at once.")
    channels = models.JSONField(default=default_channels, blank=True, help_text='Subset of ["websocket", "webhook"].')
    webhook_url = models.URLField(max_length=500, blank=True, validators=[webhook_url_validator])
    webhook_secret = models.CharField(max_length=128, blank=True)
    destinations: "models.ManyToManyField[AlertDestination, Any]" = models.ManyToManyField(
        "AlertDestination", blank=True, related_name="rules",
        help_text="The owner's saved destinations (Apprise) every alert of this rule is also sent to.")
    last_alert_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When an alert (or digest) last went out; cooldown start.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="alertrule_owner_created"),
            models.Index(fields=["active"], name="alertrule_active"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Raises: ValidationError naming each field whose list holds an unknown value, a negative
        ``min_value_usd``, the webhook channel without a webhook URL, or a webhook URL whose host is refused
        (``alerts.targets.webhook_url_check``: loopback, private, link-local, metadata... addresses)."""
        errors: dict[str, str] = {}
        for field, allowed in (("chains", Chain.values), ("event_types", EventType.values),
                               ("channels", AlertChannel.values)):
            value = getattr(self, field)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors[field] = "Must be a list of strings."
            elif unknown := sorted(set(value) - set(allowed)):
                errors[field] = f"Unknown value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}."
        if self.min_value_usd is not None and self.min_value_usd < 0:
            errors["min_value_usd"] = "Must be zero or more."
        if isinstance(self.channels, list) and AlertChannel.WEBHOOK in self.channels and not self.webhook_url:
            errors["webhook_url"] = "Required when the webhook channel is on."
        try:
            webhook_url_check(self.webhook_url)
        except WebhookTargetRefused as exc:
            errors["webhook_url"] = exc.reason
        if errors:
            raise ValidationError(errors)

    def webhook_secret_ensure(self) -> bool:
        """Generate a random secret (64 hex) when the webhook channel is on and none is set; True if it did."""
        if AlertChannel.WEBHOOK in (self.channels or ()) and not self.webhook_secret:
            self.webhook_secret = secrets.token_hex(32)
            return True
        return False

    @property
    def webhook_secret_hint(self) -> str:
        """The secret's last 4 characters behind an ellipsis ("" when there is none)."""
        return f"…{self.webhook_secret[-4:]}" if self.webhook_secret else ""


class Alert(models.Model):
    """One alert of a rule: for one event (``kind=event``) or a digest of suppressed ones (``kind=digest``).

    Unique (rule, event) while the event exists: an event raises at most one alert per rule, however
    many processes publish it. A digest has no event; ``events`` lists the event ids it covers and
    the covered alerts point to it (``digest``). ``owner`` repeats ``rule.owner`` so a user's alerts
    list is one index range. ``webhook_*`` record the webhook delivery (attempts, last error, when it was last
    queued or attempted).
    An event deleted later (a reorg) leaves its alerts with ``event`` null; ``summary`` keeps the text.
    """

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alerts")
    event = models.ForeignKey(WhaleEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts")
    kind = models.CharField(max_length=10, choices=AlertKind.choices, default=AlertKind.EVENT)
    events = models.JSONField(default=list, blank=True, help_text="Digest: ids of the events it covers.")
    summary = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=12, choices=AlertStatus.choices, default=AlertStatus.PENDING)
    digest = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="covered")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    webhook_status = models.CharField(max_length=10, choices=WebhookStatus.choices, default=WebhookStatus.NONE)
    webhook_attempts = models.PositiveIntegerField(default=0)
    webhook_last_error = models.TextField(blank=True)
    webhook_delivered_at = models.DateTimeField(null=True, blank=True)
    webhook_updated_at = models.DateTimeField(
        null=True, blank=True,
        help_text="When the webhook delivery was last queued or attempted (the pending-webhook sweep re-sends "
                  "deliveries left pending longer than ALERTS_WEBHOOK_SWEEP_AFTER_S).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["rule", "event"], condition=Q(event__isnull=False),
                                    name="alert_rule_event_uniq"),
        ]
        indexes = [
            models.Index(fields=["owner", "-created_at", "-id"], name="alert_owner_created"),
            models.Index(fields=["rule", "-created_at"], name="alert_rule_created"),
            models.Index(fields=["rule", "created_at"], condition=Q(status=AlertStatus.SUPPRESSED),
                         name="alert_suppressed"),
            models.Index(fields=["created_at"], condition=Q(status=AlertStatus.PENDING), name="alert_pending"),
            models.Index(fields=["webhook_updated_at"], condition=Q(webhook_status=WebhookStatus.PENDING),
                         name="alert_webhook_pending"),
        ]

    def __str__(self) -> str:
        return self.summary or f"alert {self.pk}"


class ApiToken(AbstractAuthToken):
    """A personal API token: django-rest-knox's token (``knox.models.AbstractAuthToken``) with a name, an id to
    revoke it by and when it was last used. ``KNOX_TOKEN_MODEL`` points knox here.

    Only knox's SHA-512 ``digest`` of the token is stored, plus ``token_key`` (its first 15 characters: the
    ``wt_`` prefix and 12 random hex digits) to find the row; the token itself is shown once, when it is made
    (``alerts.tokens.api_token_create``). ``expiry`` null = never expires. ``last_used_at`` is advanced at
    most once a minute (``alerts.tokens.LAST_USED_EVERY_S``). Revoking deletes the row.
    """

    # The annotations are for mypy: knox's base class is untyped.
    id: "models.BigAutoField[int, int]" = models.BigAutoField(primary_key=True)
    digest: "models.CharField[str, str]" = models.CharField(max_length=128, unique=True)  # knox: the pk; here a column
    name: "models.CharField[str, str]" = models.CharField(max_length=100)
    last_used_at: "models.DateTimeField[datetime | None, datetime | None]" = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        indexes = [models.Index(fields=["user", "-created"], name="apitoken_user_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.token_key}…)"
class DestinationStatus(models.TextChoices):
    """``paused``: failed ALERTS_DESTINATION_PAUSE_AFTER_FAILURES deliveries in a row (or paused by its owner);
    nothing is sent to it until a test message succeeds (``alerts.destinations.destination_test``)."""

    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class AlertDestination(models.Model):
    """One user's saved place to send alerts: an Apprise URL (e-mail, Telegram, Discord, Slack, ntfy, ...).

    ``url_encrypted``: the Apprise URL sealed with ALERT_DESTINATION_KEYS and bound to this row
    (``whales.sealing``); it is never shown back: ``service`` (the URL's scheme, e.g. ``discord``) and
    ``hint`` (the scheme and the URL's last 4 characters) identify it. ``verified_at``: the last test
    message that went through. ``consecutive_failures`` counts deliveries that failed in a row (reset by a
    success); at ALERTS_DESTINATION_PAUSE_AFTER_FAILURES the destination is ``paused`` (``paused_at``).
    ``last_error`` is a fixed text (never a reply body or the URL). Owner-scoped like ``AlertRule``.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="alert_destinations")
    name = models.CharField(max_length=200)
    url_encrypted = models.BinaryField(editable=False, help_text="The Apprise URL, sealed (never shown).")
    service = models.CharField(max_length=40, help_text="The Apprise scheme of the URL, e.g. discord, mailto.")
    hint = models.CharField(max_length=80, blank=True, help_text="Enough of the URL to recognise it.")
    status = models.CharField(max_length=10, choices=DestinationStatus.choices, default=DestinationStatus.ACTIVE)
    verified_at = models.DateTimeField(null=True, blank=True, help_text="When a test message last went through.")
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="alertdest_owner_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.service})"


class DeliveryStatus(models.TextChoices):
    """pending -> sending -> delivered | failed; skipped: the destination was paused when its turn came."""

    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped (destination paused)"


def idempotency_key_new() -> str:
    return secrets.token_hex(16)


class AlertDelivery(models.Model):
    """One alert (or digest) sent to one destination: unique (alert, destination), so at-least-once
    delivery never creates a second row. ``attempts`` counts every try; ``idempotency_key`` is sent where
    the service takes one (the JSON target's ``Idempotency-Key`` header) and is the same on every try;
    ``updated_at`` is when it was last queued or attempted (the sweep re-queues quiet ones)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="deliveries")
    destination = models.ForeignKey(AlertDestination, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=64, unique=True, default=idempotency_key_new, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "destination"], name="alertdelivery_alert_destination_uniq"),
        ]
        indexes = [
            models.Index(fields=["updated_at"],
                         condition=Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING]),
                         name="alertdelivery_open"),
            models.Index(fields=["destination", "-created_at"], name="alertdelivery_dest_created"),
        ]

    def __str__(self) -> str:
        return f"alert {self.alert_id} -> {self.destination_id}: {self.status}"
