"""Personal API tokens: made, listed and revoked by their owner; accepted by every REST call and the WebSockets.

Storage and checking are django-rest-knox's (``knox``): a token is ``wt_`` + 64 random hex digits; only its
SHA-512 digest and its first 15 characters (to find the row) are stored (``alerts.models.ApiToken``), and a
presented token is compared digest to digest in constant time. The token itself is returned once, by
``api_token_create``, and can never be read back.

Sending one: ``Authorization: Token <token>`` (or ``Bearer <token>``) on any ``/api/v1/`` call and on a
WebSocket handshake (``alerts.auth.TokenAuthMiddleware``); browsers, which cannot set headers on a WebSocket,
may pass ``?token=`` on the WebSocket URL only.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.settings import knox_settings
from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request

from alerts.models import ApiToken
from whales.errors import InvalidParameter, NotFound
from whales.quotas import owner_quota_check

# ``last_used_at`` is written at most this often per token: one UPDATE a minute, not one per request.
LAST_USED_EVERY_S = 60
SCHEMES = (b"token", b"bearer")
NAME_MAX_CHARS = 100
# Longer than any token we issue (3 + 64): refused before hashing.
TOKEN_MAX_CHARS = 100


def api_token_create(*, user_id: int, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Make a token for user ``user_id``; return the row and the token itself (shown once: only its digest is kept).

    ``name``: 1-100 characters after trimming. ``expires_at``: aware, in the future and at most
    ``API_TOKEN_MAX_DAYS`` ahead; None = never expires.
    Raises: InvalidParameter (bad name or expiry), QuotaExceeded (``API_TOKENS_MAX_PER_USER`` reached;
    ``whales.quotas.owner_quota_check`` counts under a lock of the user's row).
    """
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_CHARS:
        raise InvalidParameter(f"name: 1 to {NAME_MAX_CHARS} characters.")
    now = timezone.now()
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            raise InvalidParameter("expires_at: give a time zone (e.g. 2027-01-31T00:00:00Z).")
        if expires_at <= now:
            raise InvalidParameter("expires_at: must be in the future.")
        if expires_at > now + timedelta(days=settings.API_TOKEN_MAX_DAYS):
            raise InvalidParameter(f"expires_at: at most {settings.API_TOKEN_MAX_DAYS} days ahead.")
    with transaction.atomic():
        owner_quota_check(owner_id=user_id, owned=ApiToken.objects.filter(user_id=user_id),
                          limit=settings.API_TOKENS_MAX_PER_USER, what="API tokens")
        # knox's manager takes a TTL; the expiry chosen here is an instant, set on the row it made.
        row, token = ApiToken.objects.create(get_user_model()(pk=user_id), expiry=None,
                                             prefix=knox_settings.TOKEN_PREFIX, name=name)
        if expires_at is not None:
            row.expiry = expires_at
            row.save(update_fields=["expiry"])
    return row, token


def api_token_list(*, user_id: int) -> QuerySet[ApiToken]:
    """User ``user_id``'s tokens, newest first (expired ones included: their ``expiry`` is in the past)."""
    return ApiToken.objects.filter(user_id=user_id).order_by("-created", "-id")


def api_token_revoke(*, user_id: int, token_id: int) -> None:
    """Delete user ``user_id``'s token ``token_id``: it stops working at once.

    Raises: NotFound when the user has no such token (another user's token is not found either)."""
    deleted, _ = ApiToken.objects.filter(user_id=user_id, pk=token_id).delete()
    if not deleted:
        raise NotFound(f"No API token {token_id}.")


class ApiTokenAuthentication(TokenAuthentication):
    """knox's ``TokenAuthentication`` for ``alerts.ApiToken``: ``Authorization: Token <t>`` or ``Bearer <t>``.

    Differences from knox's own, and why: an expired token is refused but kept (its owner sees it listed as
    expired and revokes it; knox would delete it, and scan every other token of the user on each request), and
    ``last_used_at`` is advanced at most once a minute. Answers 401 with ``WWW-Authenticate: Token``.
    """

    def authenticate(self, request: Request):
        """(user, ApiToken), None when no Token/Bearer header came. Raises: AuthenticationFailed."""
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() not in SCHEMES:
            return None
        if len(auth) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: give one token after the scheme.")
        if len(auth[1]) > TOKEN_MAX_CHARS or not auth[1].isascii():
            raise exceptions.AuthenticationFailed("Invalid token.")
        return self.authenticate_credentials(auth[1])

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        """True (skip it) when this token has expired; knox's hook, with nothing deleted."""
        return auth_token.expiry is not None and auth_token.expiry <= timezone.now()

    def validate_user(self, auth_token: ApiToken):
        user, token = super().validate_user(auth_token)
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= LAST_USED_EVERY_S:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        return user, token


def api_token_user(token: str) -> AbstractBaseUser | None:
    """The active user owning the unexpired ``token``, else None (a WebSocket handshake's check; no exception:
    a wrong token makes the connection anonymous)."""
    if len(token) > TOKEN_MAX_CHARS or not token.isascii():
        return None
    try:
        user, _ = ApiTokenAuthentication().authenticate_credentials(token.encode("utf-8"))
    except exceptions.AuthenticationFailed:
        return None
    return user


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI security scheme of ``ApiTokenAuthentication`` (drf-spectacular; registered on import)."""

    target_class = "alerts.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "A personal API token (made at /account/tokens/ or POST /api/v1/account/tokens), "
                               "prefixed with `Token ` (or `Bearer `): `Authorization: Token wt_...`."}
