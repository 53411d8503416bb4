"""API of personal API tokens: ``/api/v1/account/tokens`` (list, create) and ``.../{id}`` (revoke).

Signed-in users only (a session, or a token: a script may rotate its own token). The token itself is in the
201 answer to its creation and nowhere else. Errors are ``{"detail", "code"}``.
"""

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts.api.views import _owner_id
from alerts.models import ApiToken
from alerts.tokens import NAME_MAX_CHARS, ApiTokenAuthentication, api_token_create, api_token_list, api_token_revoke
from whales.api.params import validated, validated_query
from whales.api.serializers import ErrorSerializer, IsoDateTimeField

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad body or parameter, or the token quota reached "
                                                           "(code invalid_parameter / quota_exceeded).")
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="Not signed in (code not_authenticated).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such token of yours (code not_found).")


class ApiTokenSerializer(serializers.Serializer):
    """One token as listed: never the token itself, only its first characters (``token_key``)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    token_key = serializers.CharField(help_text="The token's first 15 characters, to tell tokens apart.")
    created_at = IsoDateTimeField(source="created")
    expires_at = IsoDateTimeField(source="expiry", allow_null=True, help_text="null: never expires.")
    expired = serializers.SerializerMethodField()
    last_used_at = IsoDateTimeField(allow_null=True, help_text="Advanced at most once a minute.")

    def get_expired(self, token: ApiToken) -> bool:
        return token.expiry is not None and token.expiry <= self.context["now"]


class ApiTokenCreatedSerializer(ApiTokenSerializer):
    """A token just made: the listing plus ``token``, shown this once."""

    token = serializers.CharField(help_text="Send it as `Authorization: Token <token>`. Shown only now.")


class ApiTokenListSerializer(serializers.Serializer):
    items = ApiTokenSerializer(many=True)
    total = serializers.IntegerField()


class ApiTokenCreateSerializer(serializers.Serializer):
    """Body of a token's creation."""

    name = serializers.CharField(max_length=NAME_MAX_CHARS, help_text="What the token is for, e.g. `grafana`.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="ISO-8601 with a zone; omitted or null: never expires.")


class TokenAuthView(APIView):
    # Token first: an anonymous request then gets 401 with WWW-Authenticate instead of 403.
    authentication_classes = [ApiTokenAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]


class ApiTokenListView(TokenAuthView):
    """GET account/tokens: your tokens, newest first; POST: make one (201, the token shown once)."""

    @extend_schema(operation_id="api_token_list", responses={200: ApiTokenListSerializer, 401: UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        validated_query(None, request)
        tokens = list(api_token_list(user_id=_owner_id(request)))
        items = ApiTokenSerializer(tokens, many=True, context={"now": timezone.now()}).data
        return Response({"items": items, "total": len(tokens)})

    @extend_schema(operation_id="api_token_create", request=ApiTokenCreateSerializer,
                   responses={201: ApiTokenCreatedSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED})
    def post(self, request: Request) -> Response:
        body = validated(ApiTokenCreateSerializer, request.data)
        row, token = api_token_create(user_id=_owner_id(request), name=body["name"], expires_at=body["expires_at"])
        row.token = token  # for the serializer only; never stored
        data = ApiTokenCreatedSerializer(row, context={"now": timezone.now()}).data
        return Response(data, status=status.HTTP_201_CREATED)


class ApiTokenDetailView(TokenAuthView):
    """DELETE account/tokens/{id}: revoke one of your tokens (204); it stops working at once."""

    @extend_schema(operation_id="api_token_revoke",
                   parameters=[OpenApiParameter("token_id", int, OpenApiParameter.PATH, description="Token id.")],
                   responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def delete(self, request: Request, token_id: int) -> Response:
        api_token_revoke(user_id=_owner_id(request), token_id=token_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
