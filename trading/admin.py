"""Admin for trading: accounts (halt/resume actions), strategies (pause/resume), orders, fills,
positions, lots, the audited live-trading switch, and credentials (ciphertext never shown)."""

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from trading.models import (
    Account,
    AccountAudit,
    ExchangeCredential,
    Fill,
    LiveTradingToggle,
    Order,
    Position,
    PositionLot,
    Strategy,
    StrategyStatus,
)
from trading.services import account_halt, account_resume, live_trading_set


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "mode", "cash", "halted", "halted_reason", "updated_at")
    list_filter = ("mode", "halted")
    search_fields = ("name", "owner__username")
    readonly_fields = ("cash", "halted", "halted_reason", "halted_at", "start_of_day_value", "start_of_day_date",
                       "created_at", "updated_at")
    actions = ("halt_accounts", "resume_accounts")

    @admin.action(description="Emergency stop: halt selected accounts")
    def halt_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset.order_by("pk"):
            account_halt(account_id=account.pk, reason=f"halted from the admin by {request.user}", by_user=request.user)
        self.message_user(request, f"Halted {queryset.count()} account(s).", messages.WARNING)

    @admin.action(description="Resume selected accounts")
    def resume_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        for account in queryset.order_by("pk"):
            account_resume(account_id=account.pk, reason="resumed from the admin", by_user=request.user)
        self.message_user(request, f"Resumed {queryset.count()} account(s).")


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    list_display = ("name", "account", "kind", "status", "created_at")
    list_filter = ("status", "kind")
    actions = ("pause", "resume")

    @admin.action(description="Pause selected strategies")
    def pause(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        queryset.update(status=StrategyStatus.PAUSED)

    @admin.action(description="Resume selected strategies")
    def resume(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        queryset.update(status=StrategyStatus.ACTIVE)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Books are written by trading.services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "strategy", "client_order_id", "side", "type", "symbol", "quantity", "status",
                    "average_fill_price", "created_at")
    list_filter = ("status", "side", "type")
    search_fields = ("client_order_id", "symbol", "reject_reason")


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "order", "side", "symbol", "quantity", "price", "fee_usd", "realized_pnl_usd",
                    "filled_at")
    list_filter = ("side",)


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("account", "symbol", "quantity", "average_price", "total_cost", "updated_at")


@admin.register(PositionLot)
class PositionLotAdmin(ReadOnlyAdmin):
    list_display = ("account", "symbol", "opened_at", "quantity", "quantity_remaining", "cost_remaining")


@admin.register(AccountAudit)
class AccountAuditAdmin(ReadOnlyAdmin):
    list_display = ("account", "action", "reason", "by_user", "at")


@admin.register(LiveTradingToggle)
class LiveTradingToggleAdmin(admin.ModelAdmin):
    """Adding a row flips the switch (through ``live_trading_set``, so it is audited); rows never change."""

    list_display = ("changed_at", "previous", "enabled", "changed_by", "reason")
    fields = ("enabled", "reason")

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: LiveTradingToggle, form: object, change: bool) -> None:
        row = live_trading_set(enabled=obj.enabled, by_user=request.user, reason=obj.reason)
        obj.pk, obj.previous, obj.changed_by, obj.changed_at = row.pk, row.previous, row.changed_by, row.changed_at


@admin.register(ExchangeCredential)
class ExchangeCredentialAdmin(admin.ModelAdmin):
    """Lists which accounts have credentials; the encrypted fields are never displayed or editable."""

    list_display = ("account", "exchange", "created_at")
    fields = ("account", "exchange", "created_at")
    readonly_fields = ("account", "exchange", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
