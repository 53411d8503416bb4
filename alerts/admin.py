"""Admin for alert rules (owner, on/off, conditions) and a read-only view of the alerts they raised."""

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from alerts.models import Alert, AlertRule


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
    autocomplete_fields = ("owner", "whales", "labels", "entities")
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
