"""Admin for trading: accounts (halt/resume actions), strategies (pause/resume), orders, fills,
positions, lots, the audited live-trading switch, and credentials (ciphertext never shown)."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

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
    StrategySignal,
    StrategyStatus,
)
from trading.services import ACCOUNT_SETTINGS, account_halt, account_resume, live_trading_set
from trading.strategies import StrategyParamsError
from trading.strategies.services import (
    strategy_delete,
    strategy_params_validate,
    strategy_schedule,
    strategy_set_status,
)


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "mode", "venue", "cash_usd", "halted", "halted_reason", "updated_at")
    list_filter = ("mode", "venue", "halted")
    search_fields = ("name", "owner__username")
    # ``mode`` is read-only: paper/live changes only through a reviewed path, never a form edit.
    # So are the live fields: staff use the actions below, the owner confirms the limits on the trading page.
    readonly_fields = ("mode", "live_venue", "live_confirmed_limits", "live_confirmed_at", "live_confirmed_by",
                       "fills_synced_at", "cash_usd", "halted", "halted_reason", "halted_at", "start_of_day_value_usd",
                       "start_of_day_date", "created_at", "updated_at")
    actions = ("halt_accounts", "resume_accounts", "live_mode_on", "live_mode_off")

    def save_model(self, request: HttpRequest, obj: Account, form: forms.ModelForm, change: bool) -> None:
        """Save, and audit every venue or limit change (AccountAudit ``limits_changed``: old -> new)."""
        before = Account.objects.filter(pk=obj.pk).values(*ACCOUNT_SETTINGS).first() if change else None
        super().save_model(request, obj, form, change)
        if before is None:
            return
        changes = [f"{name}: {before[name]} -> {getattr(obj, name)}" for name in ACCOUNT_SETTINGS
                   if before[name] != getattr(obj, name)]
        if changes:
            AccountAudit.objects.create(account=obj, action="limits_changed", reason="; ".join(changes),
                                        by_user=request.user if request.user.is_authenticated else None)

    @admin.action(description="Emergency stop: halt selected accounts")
    def halt_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        by_user = request.user if request.user.is_authenticated else None
        for account in queryset.order_by("pk"):
            account_halt(account_id=account.pk, reason=f"halted from the admin by {request.user}", by_user=by_user)
        self.message_user(request, f"Halted {queryset.count()} account(s).", messages.WARNING)

    @admin.action(description="Resume selected accounts")
    def resume_accounts(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        by_user = request.user if request.user.is_authenticated else None
        for account in queryset.order_by("pk"):
            account_resume(account_id=account.pk, reason="resumed from the admin", by_user=by_user)
        self.message_user(request, f"Resumed {queryset.count()} account(s).")


    @admin.action(description="Live mode ON, on the venue of the account's stored credentials (audited)")
    def live_mode_on(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        from trading.live import LiveRefused, live_mode_set

        done = []
        for account in queryset.order_by("pk"):
            venue = account.live_venue or ExchangeCredential.objects.filter(account=account).values_list(
                "exchange", flat=True).first()
            if not venue:
                self.message_user(request, f"{account}: no venue credentials stored; nothing changed.", messages.ERROR)
                continue
            try:
                live_mode_set(account_id=account.pk, live=True, venue=venue, by_user=request.user,  # type: ignore[arg-type]
                              reason="from the admin")
            except LiveRefused as exc:
                self.message_user(request, f"{account}: {exc}", messages.ERROR)
                continue
            done.append(f"{account.name} ({venue})")
        if done:
            self.message_user(request, f"Live mode on for {', '.join(done)}. Orders still need the setting, the admin "
                                       "switch and the owner's confirmation of the limits.", messages.WARNING)

    @admin.action(description="Back to paper mode (audited)")
    def live_mode_off(self, request: HttpRequest, queryset: QuerySet[Account]) -> None:
        from trading.live import LiveRefused, live_mode_set

        for account in queryset.order_by("pk"):
            try:
                live_mode_set(account_id=account.pk, live=False, by_user=request.user,  # type: ignore[arg-type]
                              reason="from the admin")
            except LiveRefused as exc:
                self.message_user(request, f"{account}: {exc}", messages.ERROR)
                continue
            self.message_user(request, f"{account.name}: paper mode.")


class StrategyAdminForm(forms.ModelForm):
    """Validates ``params`` against the chosen kind's implementation (a clear error, nothing saved)."""

    class Meta:
        model = Strategy
        fields = ("account", "name", "kind", "params", "started_at")

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm.clean returns self.cleaned_data (typed Optional for overrides); use it directly
        cleaned = self.cleaned_data
        kind, params = cleaned.get("kind"), cleaned.get("params")
        if kind and isinstance(params, dict):
            try:
                strategy_params_validate(kind=kind, params=params)
            except StrategyParamsError as exc:
                raise forms.ValidationError({"params": str(exc)}) from exc
        elif params is not None and not isinstance(params, dict):
            raise forms.ValidationError({"params": "params must be a JSON object"})
        return cleaned


@admin.register(Strategy)
class StrategyAdmin(admin.ModelAdmin):
    """Strategies with their own beat row: a new one is scheduled every 5 minutes (edit the schedule,
    interval or crontab, on the linked periodic task); pause/resume switch both the strategy and its row."""

    form = StrategyAdminForm
    list_display = ("name", "account", "kind", "status", "schedule", "last_run_at", "last_run")
    list_filter = ("status", "kind")
    readonly_fields = ("status", "schedule", "last_run_at", "last_run_summary", "created_at")
    actions = ("pause", "resume")

    @admin.display(description="beat row")
    def schedule(self, obj: Strategy) -> str:
        task = obj.periodic_task
        if task is None:
            return "-"
        url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        return format_html('<a href="{}">{}</a> ({})', url, task.interval or task.crontab,
                           "enabled" if task.enabled else "disabled")

    @admin.display(description="last run")
    def last_run(self, obj: Strategy) -> str:
        s = obj.last_run_summary or {}
        if not s:
            return "-"
        return (f"{s.get('generated', 0)} signals: {s.get('ordered', 0)} ordered, {s.get('rejected', 0)} rejected, "
                f"{s.get('skipped', 0)} skipped")

    def save_model(self, request: HttpRequest, obj: Strategy, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if obj.periodic_task_id is None:
            strategy_schedule(strategy_id=obj.pk)
            obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Strategy) -> None:
        strategy_delete(strategy_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            strategy_delete(strategy_id=pk)

    @admin.action(description="Pause selected strategies")
    def pause(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        by_user = request.user if request.user.is_authenticated else None
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            strategy_set_status(strategy_id=pk, status=StrategyStatus.PAUSED, by_user=by_user,
                                reason="paused from the admin")
        self.message_user(request, f"Paused {queryset.count()} strategy(ies) and their beat rows.")

    @admin.action(description="Resume selected strategies")
    def resume(self, request: HttpRequest, queryset: QuerySet[Strategy]) -> None:
        by_user = request.user if request.user.is_authenticated else None
        for pk in queryset.order_by("pk").values_list("pk", flat=True):
            strategy_set_status(strategy_id=pk, status=StrategyStatus.ACTIVE, by_user=by_user,
                                reason="resumed from the admin")
        self.message_user(request, f"Resumed {queryset.count()} strategy(ies) and their beat rows.")


class ReadOnlyAdmin(admin.ModelAdmin):
    """Books are written by trading.services only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "strategy", "client_order_id", "side", "type", "symbol", "quantity", "status",
                    "average_fill_price_usd", "created_at")
    list_filter = ("status", "side", "type")
    search_fields = ("client_order_id", "symbol", "reject_reason")


@admin.register(Fill)
class FillAdmin(ReadOnlyAdmin):
    list_display = ("id", "account", "order", "side", "symbol", "quantity", "price_usd", "fee_usd",
                    "realized_pnl_usd", "filled_at")
    list_filter = ("side",)


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("account", "symbol", "quantity", "average_price_usd", "total_cost_usd", "updated_at")


@admin.register(PositionLot)
class PositionLotAdmin(ReadOnlyAdmin):
    list_display = ("account", "symbol", "opened_at", "quantity", "quantity_remaining", "cost_remaining_usd")


@admin.register(StrategySignal)
class StrategySignalAdmin(ReadOnlyAdmin):
    """Every signal of every strategy with what was done with it (ordered, rejected, skipped and why)."""

    list_display = ("generated_at", "strategy", "side", "symbol", "quantity", "outcome", "outcome_reason", "order")
    list_filter = ("outcome", "side", "strategy__kind")
    search_fields = ("key", "symbol", "reason", "outcome_reason")
    list_select_related = ("strategy", "order")


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
        by_user = request.user if request.user.is_authenticated else None
        row = live_trading_set(enabled=obj.enabled, by_user=by_user, reason=obj.reason)
        obj.pk, obj.previous, obj.changed_by, obj.changed_at = row.pk, row.previous, row.changed_by, row.changed_at


@admin.register(ExchangeCredential)
class ExchangeCredentialAdmin(admin.ModelAdmin):
    """Lists which accounts have credentials; the encrypted fields are never displayed or editable."""

    list_display = ("account", "exchange", "hint", "tested_ok", "tested_at", "created_at")
    fields = ("account", "exchange", "hint", "tested_ok", "tested_at", "tested_detail", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
