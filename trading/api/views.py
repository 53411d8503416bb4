"""API views of paper trading (``/api/v1/trading/...``). Authenticated, owner-scoped.

Auth: token (``Authorization: Token <key>``) or session; anonymous requests get 401. Another user's
account or order answers 404 ``not_found`` exactly like a missing one. Errors are ``{"detail",
"code"}`` rendered by the project's handler from ``whales.errors`` classes the services raise: bad query
parameters and bodies (``TradingError``, ``StrategyParamsError``) are 400 ``invalid_parameter``;
cancelling an order that is no longer open (``OrderNotOpen``) is 409 ``conflict``.
Credentials (``ExchangeCredential``) are never serialized by any view here. Strategies (create, list,
pause, resume) and their recorded signals are owner-scoped the same way.
"""

from uuid import uuid4

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.tokens import ApiTokenAuthentication
from trading.api.serializers import (
    AccountCreateSerializer,
    AccountListSerializer,
    AccountParamsSerializer,
    AccountSerializer,
    CoinPnlListSerializer,
    HaltSerializer,
    HistoryParamsSerializer,
    HistorySerializer,
    OrderCreateSerializer,
    OrderListParamsSerializer,
    OrderListSerializer,
    OrderSerializer,
    PnlSummarySerializer,
    PositionListSerializer,
    RealizedParamsSerializer,
    RealizedSerializer,
    SignalListParamsSerializer,
    SignalListSerializer,
    SignalSerializer,
    StrategyCreateSerializer,
    StrategyListParamsSerializer,
    StrategyListSerializer,
    StrategyPnlListSerializer,
    StrategySerializer,
    UnrealizedSerializer,
)
from trading.models import Account, Order, Strategy, StrategyStatus
from trading.pnl import (
    equity_curve,
    pnl_by_coin,
    pnl_by_strategy,
    pnl_realized_fills,
    pnl_summary,
    pnl_unrealized,
    portfolio_value_usd,
    position_valuations,
)
from trading.selectors import order_list, realized_pnl, signal_list
from trading.services import account_create, account_halt, account_resume, order_cancel, order_place
from trading.strategies import StrategyParamsError
from trading.strategies.services import strategy_create, strategy_set_status
from trading.venues import price_source_for
from whales.api.params import validated, validated_query
from whales.api.serializers import ErrorSerializer
from whales.errors import InvalidParameter, NotFound
from whales.quotas import owner_quota_check

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad parameter or body (code invalid_parameter).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such account or order of yours (code not_found).")
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="Not signed in (code not_authenticated).")
CONFLICT = OpenApiResponse(ErrorSerializer, description="The order is not open (code conflict).")
ACCOUNT_ID = OpenApiParameter("account_id", int, OpenApiParameter.PATH, description="Id of one of your accounts.")
ORDER_ID = OpenApiParameter("order_id", int, OpenApiParameter.PATH, description="Id of one of your orders.")
READ_ERRORS = {400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND}


def _owner_id(request: Request) -> int:
    """The signed-in user's id. Raises: NotAuthenticated (401) without one (the views require sign-in)."""
    user_id = request.user.pk
    if user_id is None:
        raise exceptions.NotAuthenticated
    return user_id


def _account_get(request: Request, account_id: int) -> Account:
    """One of the user's accounts. Raises: NotFound (also for another user's account)."""
    try:
        return Account.objects.get(pk=account_id, owner_id=_owner_id(request))
    except Account.DoesNotExist as exc:
        raise NotFound(f"No trading account {account_id}.") from exc


def _order_get(request: Request, order_id: int) -> Order:
    try:
        return Order.objects.get(pk=order_id, account__owner_id=_owner_id(request))
    except Order.DoesNotExist as exc:
        raise NotFound(f"No order {order_id}.") from exc


def _account_data(accounts: list[Account]) -> list[dict]:
    now = timezone.now()
    values = {a.pk: portfolio_value_usd(account_id=a.pk, cash_usd=a.cash_usd, now=now,
                                      price_source=price_source_for(a.venue)) for a in accounts}
    serializer = AccountSerializer(accounts, many=True, context={"portfolio_values": values})
    return serializer.data  # type: ignore[return-value]  # stubs: ReturnDict; many=True gives a ReturnList of dicts


def _account_response(account: Account, status_code: int = status.HTTP_200_OK) -> Response:
    return Response(_account_data([account])[0], status=status_code)


class OwnerScopedView(APIView):
    # Token first: an anonymous request then gets 401 with WWW-Authenticate instead of 403.
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]

    def account_param(self, request: Request, serializer_class: type[serializers.Serializer] = AccountParamsSerializer
                      ) -> tuple[Account, dict]:
        """The ``?account=`` (required; one of yours) and the other validated parameters."""
        params = validated_query(serializer_class, request)
        return _account_get(request, params["account"]), params


# --- accounts --------------------------------------------------------------------------------------


class AccountListView(OwnerScopedView):
    """GET trading/accounts: your accounts by id, {"items", "total"}; POST: create a paper account (201)."""

    @extend_schema(operation_id="trading_account_list", responses={200: AccountListSerializer, 401: UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        validated_query(None, request)
        accounts = list(Account.objects.filter(owner_id=_owner_id(request)).order_by("id"))
        return Response({"items": _account_data(accounts), "total": len(accounts)})

    @extend_schema(operation_id="trading_account_create", request=AccountCreateSerializer,
                   responses={201: AccountSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED})
    def post(self, request: Request) -> Response:
        data = validated(AccountCreateSerializer, request.data)
        data.pop("mode")  # validated to be paper; the service creates paper accounts only
        owner_id = _owner_id(request)
        with transaction.atomic():
            owner_quota_check(owner_id=owner_id, owned=Account.objects.filter(owner_id=owner_id),
                              limit=settings.LIMITS_MAX_ACCOUNTS_PER_USER, what="accounts")
            account = account_create(owner_id=owner_id, **data)
        return _account_response(account, status.HTTP_201_CREATED)


class AccountDetailView(OwnerScopedView):
    """GET trading/accounts/{account_id}: the account with its limits and portfolio value."""

    @extend_schema(operation_id="trading_account_detail", parameters=[ACCOUNT_ID],
                   responses={200: AccountSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def get(self, request: Request, account_id: int) -> Response:
        return _account_response(_account_get(request, account_id))


class AccountHaltView(OwnerScopedView):
    """POST trading/accounts/{account_id}/halt: emergency stop (``account_halt``, audited); the account
    places nothing until resumed. Halting a halted account keeps the first reason."""

    @extend_schema(operation_id="trading_account_halt", parameters=[ACCOUNT_ID], request=HaltSerializer,
                   responses={200: AccountSerializer, **READ_ERRORS})
    def post(self, request: Request, account_id: int) -> Response:
        account = _account_get(request, account_id)
        data = validated(HaltSerializer, request.data)
        by_user = request.user if request.user.is_authenticated else None
        return _account_response(account_halt(account_id=account.pk, reason=data["reason"], by_user=by_user))


class AccountResumeView(OwnerScopedView):
    """POST trading/accounts/{account_id}/resume: lift a halt (``account_resume``, audited); 409 for a
    daily-loss halt of the same UTC day unless the user is staff."""

    @extend_schema(operation_id="trading_account_resume", parameters=[ACCOUNT_ID], request=HaltSerializer,
                   responses={200: AccountSerializer, **READ_ERRORS, 409: OpenApiResponse(
                       ErrorSerializer, description="A daily-loss halt of today: staff only until the next UTC "
                                                    "day (code conflict).")})
    def post(self, request: Request, account_id: int) -> Response:
        account = _account_get(request, account_id)
        data = validated(HaltSerializer, request.data)
        by_user = request.user if request.user.is_authenticated else None
        return _account_response(account_resume(account_id=account.pk, reason=data["reason"], by_user=by_user))


# --- orders ----------------------------------------------------------------------------------------


class OrderListView(OwnerScopedView):
    """GET trading/orders: your orders, newest first, {"items", "total"}; POST: place one.

    POST answers 201 with the new order, which may be ``rejected`` (with ``reject_reason``) by the
    safety checks; a ``client_order_id`` already used on the account answers 200 with the stored order
    and places nothing (idempotent retry).
    """

    @extend_schema(operation_id="trading_order_list", parameters=[OrderListParamsSerializer],
                   responses={200: OrderListSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        params = validated_query(OrderListParamsSerializer, request)
        if "account" in params:
            _account_get(request, params["account"])
        orders = order_list(owner_id=_owner_id(request), account_id=params.get("account"), status=params.get("status"),
                            symbol=params.get("symbol"), side=params.get("side"), strategy_id=params.get("strategy"),
                            since=params.get("since"), until=params.get("until"))
        page = orders[params["offset"]:params["offset"] + params["limit"]]
        return Response({"items": OrderSerializer(page, many=True).data, "total": orders.count()})

    @extend_schema(operation_id="trading_order_place", request=OrderCreateSerializer,
                   responses={200: OrderSerializer, 201: OrderSerializer, **READ_ERRORS})
    def post(self, request: Request) -> Response:
        data = validated(OrderCreateSerializer, request.data)
        account = _account_get(request, data["account"])
        now = timezone.now()
        order = order_place(account_id=account.pk, symbol=data["symbol"], side=data["side"],
                            quantity=data["quantity"], order_type=data["type"],
                            limit_price_usd=data["limit_price_usd"],
                            client_order_id=data.get("client_order_id") or f"api:{uuid4().hex}",
                            strategy_id=data["strategy"], now=now)
        # order_place stamps a new order with our ``now``; a stored order (a retry) has its own time.
        created = order.created_at == now
        return Response(OrderSerializer(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderDetailView(OwnerScopedView):
    """GET trading/orders/{order_id}: one of your orders."""

    @extend_schema(operation_id="trading_order_detail", parameters=[ORDER_ID],
                   responses={200: OrderSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def get(self, request: Request, order_id: int) -> Response:
        return Response(OrderSerializer(_order_get(request, order_id)).data)


class OrderCancelView(OwnerScopedView):
    """POST trading/orders/{order_id}/cancel: cancel an open order (200); 409 when it is not open."""

    @extend_schema(operation_id="trading_order_cancel", parameters=[ORDER_ID], request=None,
                   responses={200: OrderSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND, 409: CONFLICT})
    def post(self, request: Request, order_id: int) -> Response:
        order = _order_get(request, order_id)
        if order.venue != "paper":  # a live order is cancelled at its venue first
            from trading.live import live_order_cancel

            by_user = request.user if request.user.is_authenticated else None
            order = live_order_cancel(account_id=order.account_id, order_id=order.pk, by_user=by_user)
        else:
            order = order_cancel(account_id=order.account_id, order_id=order.pk)
        return Response(OrderSerializer(order).data)


# --- positions and P&L -----------------------------------------------------------------------------


class PositionListView(OwnerScopedView):
    """GET trading/positions?account=: open positions at market, by symbol, {"items", "total"}."""

    @extend_schema(operation_id="trading_position_list", parameters=[AccountParamsSerializer],
                   responses={200: PositionListSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        account, _ = self.account_param(request)
        items = position_valuations(account_id=account.pk, price_source=price_source_for(account.venue))
        return Response(PositionListSerializer({"items": items, "total": len(items)}).data)


class PnlSummaryView(OwnerScopedView):
    """GET trading/pnl/summary?account=: ``trading.pnl.pnl_summary``."""

    @extend_schema(operation_id="trading_pnl_summary", parameters=[AccountParamsSerializer],
                   responses={200: PnlSummarySerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        account, _ = self.account_param(request)
        summary = pnl_summary(account_id=account.pk, price_source=price_source_for(account.venue))
        return Response(PnlSummarySerializer(summary).data)


class PnlByStrategyView(OwnerScopedView):
    """GET trading/pnl/by-strategy?account=: ``trading.pnl.pnl_by_strategy`` as {"items"}."""

    @extend_schema(operation_id="trading_pnl_by_strategy", parameters=[AccountParamsSerializer],
                   responses={200: StrategyPnlListSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        account, _ = self.account_param(request)
        items = pnl_by_strategy(account_id=account.pk, price_source=price_source_for(account.venue))
        return Response(StrategyPnlListSerializer({"items": items}).data)


class PnlByCoinView(OwnerScopedView):
    """GET trading/pnl/by-coin?account=: ``trading.pnl.pnl_by_coin`` as {"items"}."""

    @extend_schema(operation_id="trading_pnl_by_coin", parameters=[AccountParamsSerializer],
                   responses={200: CoinPnlListSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        account, _ = self.account_param(request)
        items = pnl_by_coin(account_id=account.pk, price_source=price_source_for(account.venue))
        return Response(CoinPnlListSerializer({"items": items}).data)


class PnlHistoryView(OwnerScopedView):
    """GET trading/pnl/history?account=&interval=: the equity curve, {"interval", "points": [{timestamp,
    equity_usd}]} (``trading.pnl.equity_curve``; no points before the first fill)."""

    @extend_schema(operation_id="trading_pnl_history", parameters=[HistoryParamsSerializer],
                   responses={200: HistorySerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        account, params = self.account_param(request, HistoryParamsSerializer)
        points = equity_curve(account_id=account.pk, interval=params["interval"],
                              price_source=price_source_for(account.venue))
        return Response(HistorySerializer({"interval": params["interval"], "points": points}).data)


class PnlRealizedView(OwnerScopedView):
    """GET trading/pnl/realized?account=&limit=&offset=: sell fills with their realized P&L, newest first."""

    @extend_schema(operation_id="trading_pnl_realized", parameters=[RealizedParamsSerializer],
                   responses={200: RealizedSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        account, params = self.account_param(request, RealizedParamsSerializer)
        fills = pnl_realized_fills(account_id=account.pk)
        page = fills[params["offset"]:params["offset"] + params["limit"]]
        return Response(RealizedSerializer({"items": page, "total": fills.count(),
                                            "total_realized_pnl_usd": realized_pnl(account_id=account.pk)}).data)


class PnlUnrealizedView(OwnerScopedView):
    """GET trading/pnl/unrealized?account=: ``trading.pnl.pnl_unrealized`` (total null when unpriced)."""

    @extend_schema(operation_id="trading_pnl_unrealized", parameters=[AccountParamsSerializer],
                   responses={200: UnrealizedSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        account, _ = self.account_param(request)
        unrealized = pnl_unrealized(account_id=account.pk, price_source=price_source_for(account.venue))
        return Response(UnrealizedSerializer(unrealized).data)


# --- strategies and signals ------------------------------------------------------------------------


def _strategy_get(request: Request, strategy_id: int) -> Strategy:
    try:
        return Strategy.objects.select_related("periodic_task__interval", "periodic_task__crontab").get(
            pk=strategy_id, account__owner_id=_owner_id(request))
    except Strategy.DoesNotExist as exc:
        raise NotFound(f"No strategy {strategy_id}.") from exc


STRATEGY_ID = OpenApiParameter("strategy_id", int, OpenApiParameter.PATH, description="Id of one of your strategies.")


class StrategyListView(OwnerScopedView):
    """GET trading/strategies[?account=]: your strategies by id, {"items", "total"}; POST: create one,
    scheduled on its own beat row (201)."""

    @extend_schema(operation_id="trading_strategy_list", parameters=[StrategyListParamsSerializer],
                   responses={200: StrategyListSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        params = validated_query(StrategyListParamsSerializer, request)
        strategies = Strategy.objects.filter(account__owner_id=_owner_id(request))
        if "account" in params:
            strategies = strategies.filter(account=_account_get(request, params["account"]))
        items = list(strategies.select_related("periodic_task__interval", "periodic_task__crontab").order_by("id"))
        return Response({"items": StrategySerializer(items, many=True).data, "total": len(items)})

    @extend_schema(operation_id="trading_strategy_create", request=StrategyCreateSerializer,
                   responses={201: StrategySerializer, **READ_ERRORS})
    def post(self, request: Request) -> Response:
        data = validated(StrategyCreateSerializer, request.data)
        account = _account_get(request, data["account"])
        if Strategy.objects.filter(account=account, name=data["name"]).exists():
            raise InvalidParameter(f"name: the account already has a strategy named {data['name']!r}")
        try:
            with transaction.atomic():
                owner_quota_check(owner_id=account.owner_id,
                                  owned=Strategy.objects.filter(account__owner_id=account.owner_id),
                                  limit=settings.LIMITS_MAX_STRATEGIES_PER_USER, what="strategies")
                strategy = strategy_create(account_id=account.pk, name=data["name"], kind=data["kind"],
                                           params=data["params"], every_seconds=data.get("every_seconds"),
                                           crontab=data.get("crontab"))
        except StrategyParamsError as exc:  # name the body field the message is about
            raise StrategyParamsError(f"params: {exc}") from exc
        return Response(StrategySerializer(_strategy_get(request, strategy.pk)).data, status=status.HTTP_201_CREATED)


class StrategyPauseView(OwnerScopedView):
    """POST trading/strategies/{strategy_id}/pause: pause it and disable its beat row (audited)."""

    status_to = StrategyStatus.PAUSED

    @extend_schema(operation_id="trading_strategy_pause", parameters=[STRATEGY_ID], request=HaltSerializer,
                   responses={200: StrategySerializer, **READ_ERRORS})
    def post(self, request: Request, strategy_id: int) -> Response:
        strategy = _strategy_get(request, strategy_id)
        data = validated(HaltSerializer, request.data)
        by_user = request.user if request.user.is_authenticated else None
        strategy_set_status(strategy_id=strategy.pk, status=self.status_to, by_user=by_user,
                            reason=data["reason"])
        return Response(StrategySerializer(_strategy_get(request, strategy.pk)).data)


class StrategyResumeView(StrategyPauseView):
    """POST trading/strategies/{strategy_id}/resume: resume it and enable its beat row (audited)."""

    status_to = StrategyStatus.ACTIVE

    @extend_schema(operation_id="trading_strategy_resume", parameters=[STRATEGY_ID], request=HaltSerializer,
                   responses={200: StrategySerializer, **READ_ERRORS})
    def post(self, request: Request, strategy_id: int) -> Response:
        return super().post(request, strategy_id)


class SignalListView(OwnerScopedView):
    """GET trading/signals[?account=&strategy=&outcome=]: your strategies' signals, newest first, each
    with what was done with it (ordered, rejected by a limit, skipped and why), {"items", "total"}."""

    @extend_schema(operation_id="trading_signal_list", parameters=[SignalListParamsSerializer],
                   responses={200: SignalListSerializer, **READ_ERRORS})
    def get(self, request: Request) -> Response:
        params = validated_query(SignalListParamsSerializer, request)
        if "account" in params:
            _account_get(request, params["account"])
        if "strategy" in params:
            _strategy_get(request, params["strategy"])
        signals = signal_list(owner_id=_owner_id(request), account_id=params.get("account"),
                              strategy_id=params.get("strategy"), outcome=params.get("outcome"))
        page = signals[params["offset"]:params["offset"] + params["limit"]]
        return Response({"items": SignalSerializer(page, many=True).data, "total": signals.count()})
