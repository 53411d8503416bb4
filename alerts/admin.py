"""Admin for alert rules (owner, on/off, conditions), a read-only view of the alerts they raised, users' alert
destinations (never their URL) and the deliveries to them."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from alerts.models import Alert, AlertDelivery, AlertDestination, AlertRule, DestinationStatus


class AlertRuleAdminForm(forms.ModelForm):
    """Refuses destinations that are not the rule owner's (they would leak alerts to another user)."""

    class Meta:
        model = AlertRule
        fields = ["owner", "name", "active", "chains", "event_types", "min_value_usd", "whales", "labels", "entities",
                  "destinations", "direction", "cooldown_seconds", "channels", "webhook_url"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        owner, destinations = data.get("owner"), data.get("destinations")
        if owner is not None and destinations is not None and any(d.owner_id != owner.pk for d in destinations):
            self.add_error("destinations", "Only destinations of the rule's owner.")
        return data


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    """Rules of every user; ``active`` is editable in the list and by the two actions.

    ``webhook_secret`` is never shown or editable here (staff are not the rule's owner): the form
    leaves it out and shows ``webhook_secret_hint`` (last 4 characters); a rule turned to the webhook
    channel without one gets a generated secret, which its owner sees through the API.
    """

    list_display = ("name", "owner", "active", "chains", "event_types", "min_value_usd", "direction",
                    "cooldown_seconds", "channels", "last_alert_at", "updated_at")
    list_editable = ("active",)
    list_filter = ("active", "direction")
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username")
    form = AlertRuleAdminForm
    autocomplete_fields = ("owner", "whales", "labels", "entities")
    raw_id_fields = ("destinations",)
    exclude = ("webhook_secret",)
    readonly_fields = ("webhook_secret_hint", "last_alert_at", "created_at", "updated_at")
    ordering = ("-created_at",)
    actions = ("activate", "deactivate")

    def save_model(self, request: HttpRequest, obj: AlertRule, form: Any, change: bool) -> None:
        if obj.webhook_secret_ensure():
            self.message_user(request, "A webhook secret was generated for this rule (its owner can set a new "
                                       "one through the API).", messages.INFO)
        super().save_model(request, obj, form, change)

    @admin.action(description="Activate selected rules")
    def activate(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        count = queryset.update(active=True)
        self.message_user(request, f"{count} rule(s) activated.", messages.SUCCESS)

    @admin.action(description="Deactivate selected rules")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        count = queryset.update(active=False)
        self.message_user(request, f"{count} rule(s) deactivated.", messages.SUCCESS)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """Raised alerts, read-only (they are written only by alerts.services)."""

    list_display = ("created_at", "rule", "owner", "kind", "status", "summary", "delivered_at", "webhook_status",
                    "webhook_attempts")
    list_filter = ("status", "kind", "webhook_status")
    list_select_related = ("rule", "owner")
    search_fields = ("summary", "rule__name", "owner__username")
    raw_id_fields = ("rule", "owner", "event", "digest")
    ordering = ("-created_at",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AlertDestination)
class AlertDestinationAdmin(admin.ModelAdmin):
    """Users' destinations. The URL is sealed and never shown here (``service`` and ``hint`` only); staff cannot
    add one (only its owner knows the URL) but can pause or resume it."""

    list_display = ("name", "owner", "service", "hint", "status", "verified_at", "consecutive_failures",
                    "last_error", "paused_at", "created_at")
    list_filter = ("status", "service")
    list_select_related = ("owner",)
    search_fields = ("name", "owner__username", "service")
    fields = ("owner", "name", "service", "hint", "status", "verified_at", "consecutive_failures", "last_error",
              "paused_at", "created_at", "updated_at")
    readonly_fields = ("owner", "service", "hint", "verified_at", "consecutive_failures", "last_error", "paused_at",
                       "created_at", "updated_at")
    ordering = ("-created_at",)
    actions = ("pause", "resume")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Pause selected destinations")
    def pause(self, request: HttpRequest, queryset: QuerySet[AlertDestination]) -> None:
        count = queryset.filter(status=DestinationStatus.ACTIVE).update(status=DestinationStatus.PAUSED,
                                                                        paused_at=timezone.now())
        self.message_user(request, f"{count} destination(s) paused.", messages.SUCCESS)

    @admin.action(description="Resume selected destinations")
    def resume(self, request: HttpRequest, queryset: QuerySet[AlertDestination]) -> None:
        count = queryset.filter(status=DestinationStatus.PAUSED).update(
            status=DestinationStatus.ACTIVE, paused_at=None, consecutive_failures=0)
        self.message_user(request, f"{count} destination(s) resumed.", messages.SUCCESS)


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(admin.ModelAdmin):
    """Deliveries of alerts to destinations, read-only (written only by alerts.destinations)."""

    list_display = ("created_at", "alert", "destination", "status", "attempts", "last_error", "delivered_at")
    list_filter = ("status", "destination__service")
    list_select_related = ("alert", "destination")
    search_fields = ("destination__name", "destination__owner__username", "idempotency_key")
    raw_id_fields = ("alert", "destination")
    ordering = ("-created_at",)
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
