"""Serializers of the alerts API: rule reads/writes, simulation and alert listings.

Units: ``min_value_usd`` is a Decimal USD amount rendered as a string; times are ISO-8601 UTC.
Rule conditions (what each field matches) are documented on ``alerts.models.AlertRule``.
"""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from alerts.models import (
    AlertChannel,
    AlertDestination,
    AlertKind,
    AlertRule,
    AlertStatus,
    DestinationStatus,
    WebhookStatus,
    webhook_url_validator,
)
from alerts.payloads import alert_payload
from alerts.targets import WebhookTargetRefused, webhook_url_check
from whales.api.serializers import EventSerializer, limit_field, offset_field
from whales.chains import Chain
from whales.models import Direction, Entity, EventType, Label, Watchlist, Whale

MAX_COOLDOWN_S = 7 * 24 * 3600
MAX_ID = 2**63 - 1


class IdListField(serializers.ListField):
    """A JSON list of ids of ``queryset`` rows -> the rows, in the given order, duplicates dropped.

    At most ``settings.LIMITS_MAX_IDS_PER_LIST`` items (checked before any item is parsed); every id must
    exist, checked in one query (``in_bulk``) however many there are.
    """

    def __init__(self, *, queryset: QuerySet, **kwargs: Any) -> None:
        self.queryset = queryset
        super().__init__(child=serializers.IntegerField(min_value=1, max_value=MAX_ID), **kwargs)

    def to_internal_value(self, data: Any) -> list:
        limit = settings.LIMITS_MAX_IDS_PER_LIST
        if isinstance(data, list | tuple) and len(data) > limit:
            raise serializers.ValidationError(f"Ensure this field has no more than {limit} elements.")
        ids = list(dict.fromkeys(super().to_internal_value(data)))
        found = self.queryset.in_bulk(ids) if ids else {}
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            raise serializers.ValidationError(f"Unknown ids: {', '.join(missing[:10])}.")
        return [found[pk] for pk in ids]



class PageParamsSerializer(serializers.Serializer):
    """limit/offset paging of ``GET alerts/rules``."""

    limit = limit_field()
    offset = offset_field()


class AlertListParamsSerializer(PageParamsSerializer):
    """Paging and filters of ``GET alerts``."""

    rule = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1,
                                    help_text="Only this rule's alerts (one of yours).")
    status = serializers.ChoiceField(choices=AlertStatus.choices, required=False, help_text="Only this status.")


class SimulateParamsSerializer(serializers.Serializer):
    days = serializers.IntegerField(required=False, default=7, min_value=1, max_value=90,
                                    help_text="Replay the last N days, 1-90 (default 7).")


class AlertRuleSerializer(serializers.ModelSerializer):
    """A rule as the API shows it. ``webhook_secret`` is the full secret only in the response of the
    request that set or generated it (null otherwise); ``webhook_secret_hint`` shows its last 4 characters."""

    whales: "serializers.PrimaryKeyRelatedField[Whale]" = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True)
    labels: "serializers.PrimaryKeyRelatedField[Label]" = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True)
    entities: "serializers.PrimaryKeyRelatedField[Entity]" = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True)
    destinations: "serializers.PrimaryKeyRelatedField[AlertDestination]" = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="Ids of your destinations (alerts/destinations) alerts also go to.")
    # Declared: as read-only model fields they lose allow_blank, and the schema would not allow their "".
    direction = serializers.ChoiceField(choices=Direction.choices, allow_blank=True, read_only=True,
                                        help_text="Blank = any direction.")
    webhook_url = serializers.CharField(read_only=True, help_text="http(s) URL; blank = no webhook.")
    webhook_secret = serializers.SerializerMethodField()
    webhook_secret_hint = serializers.CharField(read_only=True)

    class Meta:
        model = AlertRule
        fields = ["id", "name", "active", "chains", "event_types", "min_value_usd", "whales", "labels", "entities",
                  "destinations", "direction", "watchlist", "cooldown_seconds", "channels", "webhook_url",
                  "webhook_secret",
                  "webhook_secret_hint", "last_alert_at", "created_at", "updated_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_webhook_secret(self, rule: AlertRule) -> str | None:
        return rule.webhook_secret if self.context.get("reveal_secret") else None


class AlertRuleListSerializer(serializers.Serializer):
    items = AlertRuleSerializer(many=True)
    total = serializers.IntegerField()


class AlertRuleWriteSerializer(serializers.Serializer):
    """Body of POST (create), PUT (replace: omitted fields take their defaults) and PATCH (partial).

    Ids of whales/labels/entities must exist; ids of destinations must be yours. ``webhook_url`` (http/https,
    a public host: see ``alerts.targets``) is required when ``channels`` has "webhook"; ``webhook_secret`` is
    optional (16-128 characters; generated when empty).
    """

    name = serializers.CharField(max_length=200)
    active = serializers.BooleanField(default=True)
    chains = serializers.ListField(child=serializers.ChoiceField(choices=Chain.choices), default=list,
                                   max_length=len(Chain.values), help_text="Empty = any chain.")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EventType.choices), default=list,
                                        max_length=len(EventType.values), help_text="Empty = any type.")
    min_value_usd = serializers.DecimalField(max_digits=38, decimal_places=8, min_value=0, allow_null=True,
                                             default=None, help_text="Minimum event value in USD; null = any.")
    whales = IdListField(queryset=Whale.objects.all(), default=list)
    labels = IdListField(queryset=Label.objects.all(), default=list)
    entities = IdListField(queryset=Entity.objects.all(), default=list)
    destinations = IdListField(queryset=AlertDestination.objects.all(), default=list,
                               help_text="Ids of your destinations; another user's id is refused as unknown.")
    direction = serializers.ChoiceField(choices=Direction.choices, allow_blank=True, default="",
                                        help_text="Direction of the whale's activity; blank = any.")
    watchlist: "serializers.PrimaryKeyRelatedField[Watchlist]" = serializers.PrimaryKeyRelatedField(
        queryset=Watchlist.objects.all(), allow_null=True, default=None,
        help_text="Id of a watchlist (yours or a published one): the event's whale is on it; null = any.")
    cooldown_seconds = serializers.IntegerField(min_value=0, max_value=MAX_COOLDOWN_S, default=0)
    channels = serializers.ListField(child=serializers.ChoiceField(choices=AlertChannel.choices),
                                     default=lambda: [AlertChannel.WEBSOCKET.value], max_length=2)
    webhook_url = serializers.CharField(max_length=500, allow_blank=True, default="",
                                        validators=[webhook_url_validator])
    webhook_secret = serializers.CharField(min_length=16, max_length=128, allow_blank=True, default="",
                                           write_only=True, trim_whitespace=False)

    def validate_webhook_url(self, value: str) -> str:
        """Refuse a URL whose host resolves to a loopback, private, link-local, multicast, metadata or
        unspecified address (``alerts.targets``), unless inside ALERTS_WEBHOOK_ALLOWED_NETWORKS."""
        try:
            webhook_url_check(value)
        except WebhookTargetRefused as exc:
            raise serializers.ValidationError(exc.reason) from exc
        return value

    def validate(self, attrs: dict) -> dict:
        rule: AlertRule | None = self.instance
        channels = attrs.get("channels", rule.channels if rule is not None else [AlertChannel.WEBSOCKET])
        url = attrs.get("webhook_url", rule.webhook_url if rule is not None else "")
        if AlertChannel.WEBHOOK in channels and not url:
            raise serializers.ValidationError({"webhook_url": "Required when channels include webhook."})
        return attrs


class SimulationDaySerializer(serializers.Serializer):
    date = serializers.DateField()
    alerts = serializers.IntegerField()


class PeakHourSerializer(serializers.Serializer):
    hour = serializers.IntegerField(min_value=0, max_value=23, help_text="Hour of day, UTC.")
    alerts = serializers.IntegerField()


class SimulationSerializer(serializers.Serializer):
    """Result of ``alerts.selectors.rule_simulate``."""

    days = serializers.IntegerField()
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    events_matched = serializers.IntegerField()
    alerts = serializers.IntegerField(help_text="Alerts that would have been sent: event alerts + digests.")
    event_alerts = serializers.IntegerField()
    digests = serializers.IntegerField()
    suppressed = serializers.IntegerField(help_text="Matches sent inside digests.")
    waiting = serializers.IntegerField(help_text="Matches still inside a cooldown at the end of the window.")
    per_day = SimulationDaySerializer(many=True)
    peak_hour = PeakHourSerializer(allow_null=True)


class AlertRuleRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class AlertSerializer(serializers.Serializer):
    """One alert: the ``alert.message`` payload (``alerts.services.alert_payload``) plus its delivery state."""

    id = serializers.IntegerField()
    rule = AlertRuleRefSerializer()
    kind = serializers.ChoiceField(choices=AlertKind.choices)
    event = EventSerializer(allow_null=True)
    events = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the events covered.")
    count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    summary = serializers.CharField()
    status = serializers.ChoiceField(choices=AlertStatus.choices)
    delivered_at = serializers.DateTimeField(allow_null=True)
    digest = serializers.IntegerField(allow_null=True, help_text="The digest that carried a digested alert.")
    webhook_status = serializers.ChoiceField(choices=WebhookStatus.choices)
    webhook_attempts = serializers.IntegerField()
    webhook_last_error = serializers.CharField(allow_blank=True)
    webhook_delivered_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, alert) -> dict:
        def iso(value):
            return value.isoformat().replace("+00:00", "Z") if value is not None else None

        return {
            **alert_payload(alert),
            "status": alert.status,
            "delivered_at": iso(alert.delivered_at),
            "digest": alert.digest_id,
            "webhook_status": alert.webhook_status,
            "webhook_attempts": alert.webhook_attempts,
            "webhook_last_error": alert.webhook_last_error,
            "webhook_delivered_at": iso(alert.webhook_delivered_at),
        }


class AlertListSerializer(serializers.Serializer):
    items = AlertSerializer(many=True)
    total = serializers.IntegerField()


class DestinationSerializer(serializers.ModelSerializer):
    """A destination as the API shows it: never its URL. ``service`` is the Apprise scheme (discord, tgram,
    slack, mailto, ntfy, json...), ``hint`` the scheme and the URL's last 4 characters. ``status`` paused: it
    failed ALERTS_DESTINATION_PAUSE_AFTER_FAILURES deliveries in a row (or was paused); a successful test
    un-pauses it."""

    class Meta:
        model = AlertDestination
        fields = ["id", "name", "service", "hint", "status", "verified_at", "consecutive_failures", "last_error",
                  "paused_at", "created_at", "updated_at"]
        read_only_fields = fields


class DestinationListSerializer(serializers.Serializer):
    items = DestinationSerializer(many=True)
    total = serializers.IntegerField()


class DestinationCreateSerializer(serializers.Serializer):
    """Body of POST alerts/destinations: a name and an Apprise URL (checked by ``alerts.destinations``)."""

    name = serializers.CharField(max_length=200)
    url = serializers.CharField(max_length=4000, trim_whitespace=True, write_only=True,
                                help_text="An Apprise URL, e.g. discord://id/token, tgram://bot/chat, mailto://...; "
                                          "never shown back.")


class DestinationUpdateSerializer(serializers.Serializer):
    """Body of PATCH alerts/destinations/{id}: any of name, url (replaces it; unverified again), status."""

    name = serializers.CharField(max_length=200, required=False)
    url = serializers.CharField(max_length=4000, required=False, write_only=True)
    status = serializers.ChoiceField(choices=DestinationStatus.choices, required=False,
                                     help_text="paused stops deliveries; active resumes them.")
