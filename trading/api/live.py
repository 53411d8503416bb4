"""API of live trading (``/api/v1/trading/accounts/{account_id}/...``): the account's venue, gates, credentials,
connection test, limits confirmation, live mode (staff), the venue's open orders, reconciliations and the
emergency stop. Owner-scoped like the rest of ``trading.api`` (another user's account is 404), except
``live/mode``, which staff use on any account.

Secrets never leave the server: credentials are write-only here; an answer shows only the venue, a hint (an
address or the key's last characters) and the last test's result. Errors: 400 ``invalid_parameter`` for a bad
body, 404 ``not_found``, 409 ``conflict`` for a state that does not allow the action, 503 ``misconfigured``
without a credentials key, 502 ``venue_error`` when the venue could not be asked.
"""

from urllib.parse import urlsplit

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from trading.adapters.base import VenueError, VenueOrder
from trading.adapters.registry import adapter_for
from trading.api.views import ACCOUNT_ID, BAD_REQUEST, NOT_FOUND, UNAUTHORIZED, OwnerScopedView, _account_get
from trading.live import (
    account_emergency_stop,
    account_reconcile,
    credential_set,
    credential_test,
    live_confirm,
    live_gates,
    live_limits,
    live_mode_set,
)
from trading.models import Account, ExchangeCredential, LiveVenue, Reconciliation, VenueCall
from whales.api.params import validated, validated_query
from whales.api.serializers import ErrorSerializer
from whales.errors import NotFound

CONFLICT = OpenApiResponse(ErrorSerializer, description="The account's state does not allow this (code conflict).")
MISCONFIGURED = OpenApiResponse(ErrorSerializer, description="No credentials key is configured (code misconfigured).")
VENUE_ERROR = OpenApiResponse(ErrorSerializer, description="The venue could not be asked (code venue_error).")
FORBIDDEN = OpenApiResponse(ErrorSerializer, description="Staff only (code permission_denied).")


class VenueUnreachable(APIException):
    """502 ``venue_error``: the venue did not answer or refused the call (the message is the venue's)."""

    status_code = status.HTTP_502_BAD_GATEWAY
    default_code = "venue_error"


# --- serializers -----------------------------------------------------------------------------------


class GateSerializer(serializers.Serializer):
    """One gate of live trading: ``name`` (setting, admin_toggle, live_mode, confirmation, credentials)."""

    name = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class CredentialSerializer(serializers.ModelSerializer):
    """Stored credentials as they may be shown: venue, hint and the last connection test. Never the secret."""

    venue = serializers.CharField(source="exchange")

    class Meta:
        model = ExchangeCredential
        fields = ["venue", "hint", "tested_at", "tested_ok", "tested_detail", "created_at"]
        read_only_fields = fields


class ReconciliationSerializer(serializers.ModelSerializer):
    """One reconciliation: status (ok, drift, error), what it imported and settled, and each drift
    ``{"kind", "symbol", "order", "ours", "venue"}``."""

    class Meta:
        model = Reconciliation
        fields = ["id", "started_at", "finished_at", "status", "fills_imported", "orders_updated", "drift", "detail"]
        read_only_fields = fields


class VenueCallSerializer(serializers.ModelSerializer):
    """One call to the venue (place, cancel, flatten, test, resolve, list_open_orders) with its answer."""

    class Meta:
        model = VenueCall
        fields = ["id", "venue", "action", "order", "request", "response", "ok", "at"]
        read_only_fields = fields


class LiveStateSerializer(serializers.Serializer):
    """Live trading of one account: its venue and where that venue is reached (``venue_host``; ``simulated`` is
    true for a loopback host, the replay node's simulator), the gates, the stored credentials, the limits the
    owner confirms (and when), the newest reconciliation and the newest venue calls."""

    account = serializers.IntegerField()
    mode = serializers.CharField()
    live_venue = serializers.CharField(allow_blank=True)
    venue_host = serializers.CharField(allow_null=True)
    simulated = serializers.BooleanField()
    gates = GateSerializer(many=True)
    credentials = CredentialSerializer(allow_null=True)
    limits = serializers.DictField(child=serializers.CharField())
    limits_confirmed_at = serializers.DateTimeField(allow_null=True)
    halted = serializers.BooleanField()
    halted_reason = serializers.CharField(allow_blank=True)
    reconciliation = ReconciliationSerializer(allow_null=True)
    venue_calls = VenueCallSerializer(many=True)


class CredentialSetSerializer(serializers.Serializer):
    """Body of ``PUT …/credentials``. Hyperliquid: ``api_key`` = your main wallet's address, ``secret`` = an agent
    (API) wallet's private key (never the main wallet's). Coinspot: the API key and its secret."""

    venue = serializers.ChoiceField(choices=LiveVenue.choices)
    api_key = serializers.CharField(max_length=200, trim_whitespace=True)
    secret = serializers.CharField(max_length=200, trim_whitespace=True, write_only=True)


class LiveModeSerializer(serializers.Serializer):
    """Body of ``POST …/live/mode`` (staff): live on ``venue``, or back to paper; ``reason`` is audited."""

    live = serializers.BooleanField()
    venue = serializers.ChoiceField(choices=LiveVenue.choices, required=False, default="")
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=1000)


class EmergencyStopSerializer(serializers.Serializer):
    """Body of ``POST …/emergency-stop``: also close every position with reduce-only market orders?"""

    flatten = serializers.BooleanField(required=False, default=False)
    reason = serializers.CharField(required=False, default="", allow_blank=True, max_length=1000)


class StopReportSerializer(serializers.Serializer):
    """What the emergency stop did (each step is also a venue call with the venue's answer)."""

    cancelled = serializers.ListField(child=serializers.CharField())
    already_closed = serializers.ListField(child=serializers.CharField())
    flatten_orders = serializers.ListField(child=serializers.IntegerField())
    failures = serializers.ListField(child=serializers.CharField())


class VenueOrderSerializer(serializers.Serializer):
    """An order resting at the venue (quantities in asset units, prices USD per unit, as the venue reports)."""

    venue_order_id = serializers.CharField()
    symbol = serializers.CharField()
    side = serializers.CharField()
    status = serializers.CharField()
    quantity = serializers.CharField()
    filled_quantity = serializers.CharField()
    limit_price_usd = serializers.CharField(allow_null=True)
    placed_at = serializers.DateTimeField(allow_null=True)
    order = serializers.IntegerField(allow_null=True, help_text="Our order id, when the order is ours.")


class VenueOrderListSerializer(serializers.Serializer):
    """``GET …/venue/orders``: the orders resting at the venue now and their count."""

    items = VenueOrderSerializer(many=True)
    total = serializers.IntegerField()


class ReconciliationListSerializer(serializers.Serializer):
    """``GET …/reconciliations``: the newest 50 reconciliations, newest first, and how many there are."""

    items = ReconciliationSerializer(many=True)
    total = serializers.IntegerField()


# --- helpers ---------------------------------------------------------------------------------------


def venue_host(account: Account) -> str | None:
    """``host:port`` where the account's live venue is reached (from HYPERLIQUID_API_URL / COINSPOT_API_URL)."""
    url = {LiveVenue.HYPERLIQUID: settings.HYPERLIQUID_API_URL,
           LiveVenue.COINSPOT: settings.COINSPOT_API_URL}.get(account.live_venue)  # type: ignore[call-overload]
    return urlsplit(url).netloc if url else None


LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def live_state(account: Account) -> dict:
    """The ``LiveStateSerializer`` data of ``account`` (no venue call)."""
    host = venue_host(account)
    credential = ExchangeCredential.objects.filter(account=account, exchange=account.live_venue).first() \
        if account.live_venue else None
    return {"account": account.pk, "mode": account.mode, "live_venue": account.live_venue, "venue_host": host,
            "simulated": host is not None and host.rsplit(":", 1)[0] in LOOPBACK,
            "gates": [g.__dict__ for g in live_gates(account)],
            "credentials": CredentialSerializer(credential).data if credential else None,
            "limits": live_limits(account), "limits_confirmed_at": account.live_confirmed_at
            if account.live_confirmed_limits == live_limits(account) else None,
            "halted": account.halted, "halted_reason": account.halted_reason,
            "reconciliation": ReconciliationSerializer(latest).data
            if (latest := account.reconciliations.first()) else None,
            "venue_calls": VenueCallSerializer(account.venue_calls.all()[:20], many=True).data}


def _venue_order_data(order: VenueOrder, ours: dict[str, int]) -> dict:
    return {"venue_order_id": order.venue_order_id, "symbol": order.symbol, "side": order.side,
            "status": order.status, "quantity": f"{order.quantity:f}", "filled_quantity": f"{order.filled_quantity:f}",
            "limit_price_usd": f"{order.limit_price_usd:f}" if order.limit_price_usd is not None else None,
            "placed_at": order.placed_at, "order": ours.get(order.venue_order_id)}


# --- views -----------------------------------------------------------------------------------------


class LiveStateView(OwnerScopedView):
    """GET trading/accounts/{account_id}/live: the account's venue, gates, credentials (hint only), confirmed
    limits, newest reconciliation and venue calls."""

    @extend_schema(operation_id="trading_live_state", parameters=[ACCOUNT_ID],
                   responses={200: LiveStateSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def get(self, request: Request, account_id: int) -> Response:
        validated_query(None, request)
        return Response(live_state(_account_get(request, account_id)))


class CredentialView(OwnerScopedView):
    """PUT trading/accounts/{account_id}/credentials: store (replace) the venue credentials, encrypted; the answer
    is the live state (a hint, never the secret). DELETE: forget them (the account must not be live)."""

    @extend_schema(operation_id="trading_credentials_set", parameters=[ACCOUNT_ID], request=CredentialSetSerializer,
                   responses={200: LiveStateSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND,
                              409: CONFLICT, 503: MISCONFIGURED})
    def put(self, request: Request, account_id: int) -> Response:
        account = _account_get(request, account_id)
        data = validated(CredentialSetSerializer, request.data)
        credential_set(account_id=account.pk, owner=request.user, venue=data["venue"],  # type: ignore[arg-type]
                       api_key=data["api_key"], secret=data["secret"])
        account.refresh_from_db()
        return Response(live_state(account))

    @extend_schema(operation_id="trading_credentials_delete", parameters=[ACCOUNT_ID], request=None,
                   responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND, 409: CONFLICT})
    def delete(self, request: Request, account_id: int) -> Response:
        from trading.live import LiveRefused

        account = _account_get(request, account_id)
        if account.mode == "live":
            raise LiveRefused("the account trades live; staff must set it back to paper first")
        ExchangeCredential.objects.filter(account=account).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class CredentialTestView(OwnerScopedView):
    """POST trading/accounts/{account_id}/credentials/test: "Test connection", one read-only call (balances) with
    the stored credentials; the answer is the live state with the test's result on the credentials."""

    @extend_schema(operation_id="trading_credentials_test", parameters=[ACCOUNT_ID], request=None,
                   responses={200: LiveStateSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND, 409: CONFLICT,
                              503: MISCONFIGURED})
    def post(self, request: Request, account_id: int) -> Response:
        account = _account_get(request, account_id)
        credential_test(account_id=account.pk, owner=request.user)  # type: ignore[arg-type]
        return Response(live_state(account))


class LiveConfirmView(OwnerScopedView):
    """POST trading/accounts/{account_id}/live/confirm: the owner confirms the account's current limits (gate 4);
    changing a limit later voids the confirmation."""

    @extend_schema(operation_id="trading_live_confirm", parameters=[ACCOUNT_ID], request=None,
                   responses={200: LiveStateSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def post(self, request: Request, account_id: int) -> Response:
        account = _account_get(request, account_id)
        return Response(live_state(live_confirm(account_id=account.pk, by_user=request.user)))  # type: ignore[arg-type]


class LiveModeView(OwnerScopedView):
    """POST trading/accounts/{account_id}/live/mode: staff put any account in live mode on a venue, or back to
    paper (audited); 403 for others, 409 when the account holds positions or open orders."""

    @extend_schema(operation_id="trading_live_mode", parameters=[ACCOUNT_ID], request=LiveModeSerializer,
                   responses={200: LiveStateSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 403: FORBIDDEN,
                              404: NOT_FOUND, 409: CONFLICT})
    def post(self, request: Request, account_id: int) -> Response:
        if not request.user.is_staff:
            raise PermissionDenied("Only staff may change an account's trading mode.")
        data = validated(LiveModeSerializer, request.data)
        if not Account.objects.filter(pk=account_id).exists():
            raise NotFound(f"No trading account {account_id}.")
        account = live_mode_set(account_id=account_id, live=data["live"], venue=data["venue"],
                                by_user=request.user, reason=data["reason"])
        return Response(live_state(account))


class VenueOrderListView(OwnerScopedView):
    """GET trading/accounts/{account_id}/venue/orders: the orders resting at the account's venue now (asked
    live), each with our order id when it is ours."""

    @extend_schema(operation_id="trading_venue_orders", parameters=[ACCOUNT_ID],
                   responses={200: VenueOrderListSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND,
                              409: CONFLICT, 502: VENUE_ERROR, 503: MISCONFIGURED})
    def get(self, request: Request, account_id: int) -> Response:
        validated_query(None, request)
        account = _account_get(request, account_id)
        adapter = adapter_for(account)
        try:
            orders = adapter.open_orders()
        except VenueError as exc:
            raise VenueUnreachable(str(exc)) from exc
        finally:
            adapter.close()
        ids = [o.venue_order_id for o in orders]
        ours = dict(account.orders.filter(venue_order_id__in=ids).values_list("venue_order_id", "id")) \
            if account.live_venue and account.mode == "live" else {o: int(o) for o in ids}
        return Response({"items": [_venue_order_data(o, ours) for o in orders], "total": len(orders)})


class ReconciliationListView(OwnerScopedView):
    """GET trading/accounts/{account_id}/reconciliations: the newest 50 reconciliations; POST: reconcile now."""

    @extend_schema(operation_id="trading_reconciliation_list", parameters=[ACCOUNT_ID],
                   responses={200: ReconciliationListSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED,
                              404: NOT_FOUND})
    def get(self, request: Request, account_id: int) -> Response:
        validated_query(None, request)
        account = _account_get(request, account_id)
        rows = account.reconciliations.all()
        return Response({"items": ReconciliationSerializer(rows[:50], many=True).data, "total": rows.count()})

    @extend_schema(operation_id="trading_reconcile", parameters=[ACCOUNT_ID], request=None,
                   responses={201: ReconciliationSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND, 409: CONFLICT,
                              503: MISCONFIGURED})
    def post(self, request: Request, account_id: int) -> Response:
        account = _account_get(request, account_id)
        row = account_reconcile(account_id=account.pk)
        return Response(ReconciliationSerializer(row).data, status=status.HTTP_201_CREATED)


class EmergencyStopView(OwnerScopedView):
    """POST trading/accounts/{account_id}/emergency-stop: halt the account, cancel every open order at its venue,
    and with ``flatten`` close every position with reduce-only market orders; each step is recorded with the
    venue's answer (``live`` state's ``venue_calls``)."""

    @extend_schema(operation_id="trading_emergency_stop", parameters=[ACCOUNT_ID], request=EmergencyStopSerializer,
                   responses={200: StopReportSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND,
                              409: CONFLICT, 503: MISCONFIGURED})
    def post(self, request: Request, account_id: int) -> Response:
        account = _account_get(request, account_id)
        data = validated(EmergencyStopSerializer, request.data)
        report = account_emergency_stop(account_id=account.pk, by_user=request.user,  # type: ignore[arg-type]
                                        flatten=data["flatten"], reason=data["reason"])
        return Response(report.__dict__)
