"""API views of alert rules and alerts (``/api/v1/alerts...``). Authenticated, owner-scoped.

Auth: token (``Authorization: Token <key>``) or session; anonymous requests get 401. Another user's
rule answers 404 ``not_found`` exactly like a missing one (its existence is not disclosed). Errors are
``{"detail", "code"}``: bad query parameters and bodies 400 ``invalid_parameter``.
"""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api.serializers import (
    AlertListParamsSerializer,
    AlertListSerializer,
    AlertRuleListSerializer,
    AlertRuleSerializer,
    AlertRuleWriteSerializer,
    AlertSerializer,
    DestinationCreateSerializer,
    DestinationListSerializer,
    DestinationSerializer,
    DestinationUpdateSerializer,
    PageParamsSerializer,
    SimulateParamsSerializer,
    SimulationSerializer,
)
from alerts.destinations import destination_create, destination_delete, destination_test, destination_update
from alerts.models import AlertDestination, AlertRule
from alerts.selectors import (
    alert_list,
    alert_rule_get,
    alert_rule_list,
    destination_get,
    destination_list,
    rule_simulate,
)
from alerts.services import alert_rule_create, alert_rule_delete, alert_rule_update
from alerts.tokens import ApiTokenAuthentication
from whales.api.params import validated, validated_query
from whales.api.serializers import ErrorSerializer
from whales.errors import InvalidParameter, NotFound, flatten_errors

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad parameter or body (code invalid_parameter).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such rule of yours (code not_found).")
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="Not signed in (code not_authenticated).")
RULE_ID = OpenApiParameter("rule_id", int, OpenApiParameter.PATH, description="Id of one of your rules.")


def _body(request: Request, *, instance: AlertRule | None = None, partial: bool = False) -> dict:
    """Validated rule body. Raises: InvalidParameter naming each bad field."""
    serializer = AlertRuleWriteSerializer(instance=instance, data=request.data, partial=partial)
    if not serializer.is_valid():
        raise InvalidParameter(flatten_errors(serializer.errors))
    return dict(serializer.validated_data)


def _owner_id(request: Request) -> int:
    """The signed-in user's id. Raises: NotAuthenticated (401) without one (the views require sign-in)."""
    user_id = request.user.pk
    if user_id is None:
        raise exceptions.NotAuthenticated
    return user_id


def _rule_get(request: Request, rule_id: int) -> AlertRule:
    try:
        return alert_rule_get(owner_id=_owner_id(request), rule_id=rule_id)
    except AlertRule.DoesNotExist as exc:
        raise NotFound(f"No alert rule {rule_id}.") from exc


def _rule_response(rule: AlertRule, *, secret_before: str | None, status_code: int = status.HTTP_200_OK) -> Response:
    rule = AlertRule.objects.prefetch_related("whales", "labels", "entities", "destinations").get(pk=rule.pk)
    reveal = bool(rule.webhook_secret) and rule.webhook_secret != secret_before
    return Response(AlertRuleSerializer(rule, context={"reveal_secret": reveal}).data, status=status_code)


class OwnerScopedView(APIView):
    # Token first: an anonymous request then gets 401 with WWW-Authenticate instead of 403.
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class AlertRuleListView(OwnerScopedView):
    """GET alerts/rules: your rules, newest first, {"items", "total"}; POST: create one (201)."""

    @extend_schema(operation_id="alert_rule_list", parameters=[PageParamsSerializer],
                   responses={200: AlertRuleListSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        params = validated_query(PageParamsSerializer, request)
        rules = alert_rule_list(owner_id=_owner_id(request))
        page = rules[params["offset"]:params["offset"] + params["limit"]]
        return Response({"items": AlertRuleSerializer(page, many=True).data, "total": rules.count()})

    @extend_schema(operation_id="alert_rule_create", request=AlertRuleWriteSerializer,
                   responses={201: AlertRuleSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED})
    def post(self, request: Request) -> Response:
        data = _body(request)
        rule = alert_rule_create(owner_id=_owner_id(request), **data)
        return _rule_response(rule, secret_before=None, status_code=status.HTTP_201_CREATED)


class AlertRuleDetailView(OwnerScopedView):
    """GET/PUT/PATCH/DELETE alerts/rules/{rule_id}: one of your rules."""

    @extend_schema(operation_id="alert_rule_detail", parameters=[RULE_ID],
                   responses={200: AlertRuleSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def get(self, request: Request, rule_id: int) -> Response:
        return Response(AlertRuleSerializer(_rule_get(request, rule_id)).data)

    def _update(self, request: Request, rule_id: int, *, partial: bool) -> Response:
        rule = _rule_get(request, rule_id)
        secret_before = rule.webhook_secret
        data = _body(request, instance=rule, partial=partial)
        rule = alert_rule_update(rule=rule, **data)
        return _rule_response(rule, secret_before=secret_before)

    @extend_schema(operation_id="alert_rule_replace", parameters=[RULE_ID], request=AlertRuleWriteSerializer,
                   responses={200: AlertRuleSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def put(self, request: Request, rule_id: int) -> Response:
        return self._update(request, rule_id, partial=False)

    @extend_schema(operation_id="alert_rule_update", parameters=[RULE_ID], request=AlertRuleWriteSerializer,
                   responses={200: AlertRuleSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def patch(self, request: Request, rule_id: int) -> Response:
        return self._update(request, rule_id, partial=True)

    @extend_schema(operation_id="alert_rule_delete", parameters=[RULE_ID],
                   responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def delete(self, request: Request, rule_id: int) -> Response:
        alert_rule_delete(rule=_rule_get(request, rule_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class AlertRuleSimulateView(OwnerScopedView):
    """POST alerts/rules/{rule_id}/simulate?days=N: what the rule would have sent over the stored
    events of the last N days (1-90), cooldown and digests included (``rule_simulate``)."""

    @extend_schema(operation_id="alert_rule_simulate", parameters=[RULE_ID, SimulateParamsSerializer], request=None,
                   responses={200: SimulationSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def post(self, request: Request, rule_id: int) -> Response:
        rule = _rule_get(request, rule_id)
        params = validated_query(SimulateParamsSerializer, request)
        return Response(SimulationSerializer(rule_simulate(rule, days=params["days"])).data)


class AlertListView(OwnerScopedView):
    """GET alerts: your alerts, newest first (created_at, id), {"items", "total"}; filters rule, status."""

    @extend_schema(operation_id="alert_list", parameters=[AlertListParamsSerializer],
                   responses={200: AlertListSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        params = validated_query(AlertListParamsSerializer, request)
        alerts = alert_list(owner_id=_owner_id(request), rule_id=params.get("rule"), status=params.get("status"))
        page = alerts[params["offset"]:params["offset"] + params["limit"]]
        return Response({"items": AlertSerializer(page, many=True).data, "total": alerts.count()})


DESTINATION_ID = OpenApiParameter("destination_id", int, OpenApiParameter.PATH,
                                  description="Id of one of your destinations.")
DESTINATION_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such destination of yours (code not_found).")
MISCONFIGURED = OpenApiResponse(ErrorSerializer, description="ALERT_DESTINATION_KEYS is not set (code misconfigured).")
TEST_FAILED = OpenApiResponse(ErrorSerializer, description="The test message was not delivered "
                                                           "(code destination_failed).")


def _destination_get(request: Request, destination_id: int) -> AlertDestination:
    try:
        return destination_get(owner_id=_owner_id(request), destination_id=destination_id)
    except AlertDestination.DoesNotExist as exc:
        raise NotFound(f"No alert destination {destination_id}.") from exc


class DestinationListView(OwnerScopedView):
    """GET alerts/destinations: your destinations, newest first, {"items", "total"}; POST: save one (201).
    The URL is sealed at rest and never shown back (``service`` and ``hint`` identify it)."""

    @extend_schema(operation_id="alert_destination_list", parameters=[PageParamsSerializer],
                   responses={200: DestinationListSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        params = validated_query(PageParamsSerializer, request)
        rows = destination_list(owner_id=_owner_id(request))
        page = rows[params["offset"]:params["offset"] + params["limit"]]
        return Response({"items": DestinationSerializer(page, many=True).data, "total": rows.count()})

    @extend_schema(operation_id="alert_destination_create", request=DestinationCreateSerializer,
                   responses={201: DestinationSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 503: MISCONFIGURED})
    def post(self, request: Request) -> Response:
        data = validated(DestinationCreateSerializer, request.data)
        destination = destination_create(owner_id=_owner_id(request), name=data["name"], url=data["url"])
        return Response(DestinationSerializer(destination).data, status=status.HTTP_201_CREATED)


class DestinationDetailView(OwnerScopedView):
    """GET/PATCH/DELETE alerts/destinations/{destination_id}: one of your destinations."""

    @extend_schema(operation_id="alert_destination_detail", parameters=[DESTINATION_ID],
                   responses={200: DestinationSerializer, 401: UNAUTHORIZED, 404: DESTINATION_NOT_FOUND})
    def get(self, request: Request, destination_id: int) -> Response:
        return Response(DestinationSerializer(_destination_get(request, destination_id)).data)

    @extend_schema(operation_id="alert_destination_update", parameters=[DESTINATION_ID],
                   request=DestinationUpdateSerializer,
                   responses={200: DestinationSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED,
                              404: DESTINATION_NOT_FOUND, 503: MISCONFIGURED})
    def patch(self, request: Request, destination_id: int) -> Response:
        destination = _destination_get(request, destination_id)
        data = validated(DestinationUpdateSerializer, request.data)
        destination = destination_update(destination=destination, **data)
        return Response(DestinationSerializer(destination).data)

    @extend_schema(operation_id="alert_destination_delete", parameters=[DESTINATION_ID],
                   responses={204: None, 401: UNAUTHORIZED, 404: DESTINATION_NOT_FOUND})
    def delete(self, request: Request, destination_id: int) -> Response:
        destination_delete(destination=_destination_get(request, destination_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DestinationTestView(OwnerScopedView):
    """POST alerts/destinations/{destination_id}/test: send a test message now (synchronous, with
    ALERTS_DESTINATION_TIMEOUT_S); on success ``verified_at`` is set and a paused destination resumes (200);
    otherwise 502 ``destination_failed`` with the reason (``last_error`` records it)."""

    @extend_schema(operation_id="alert_destination_test", parameters=[DESTINATION_ID], request=None,
                   responses={200: DestinationSerializer, 401: UNAUTHORIZED, 404: DESTINATION_NOT_FOUND,
                              502: TEST_FAILED, 503: MISCONFIGURED})
    def post(self, request: Request, destination_id: int) -> Response:
        destination = destination_test(destination=_destination_get(request, destination_id))
        return Response(DestinationSerializer(destination).data)
