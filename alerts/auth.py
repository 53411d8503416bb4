"""WebSocket authentication and origin checks for scripts and browsers.

Wrap order (``whaletrack/asgi.py``)::

    BrowserOriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(...))))

- ``AuthMiddlewareStack`` (outer) puts the session user in ``scope["user"]`` (browsers, admin sessions).
- ``TokenAuthMiddleware`` (inner) replaces it when the client presents a personal API token
  (``alerts.tokens``), so a script's token wins over whatever cookie it may also send. A token that matches no
  active user, or has expired, makes the connection anonymous (it never falls back to the session): a wrong
  token must not quietly authenticate as someone.
- ``BrowserOriginValidator`` (outermost): channels' ``AllowedHostsOriginValidator`` refuses every handshake
  *without* an ``Origin`` header unless ``ALLOWED_HOSTS`` contains ``"*"`` (``OriginValidator.valid_origin``
  in channels 4.3: "None is not allowed unless all hosts are allowed"). Scripts (``websockets``, ``wscat``,
  curl) send no ``Origin``, so that validator would lock them out. Browsers always send ``Origin`` on a
  WebSocket handshake, and cross-site WebSocket hijacking needs a browser, so this validator still checks
  a present ``Origin`` against ``ALLOWED_HOSTS`` exactly like channels does, and lets a missing one through.
  Such a client still has to authenticate (a session cookie or a token) like any other.
"""

from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser


def _token_key(scope: dict) -> str | None:
    """The API token from an ``Authorization: Token <token>`` (or ``Bearer <token>``) header, else from
    ``?token=<token>`` (browsers cannot set headers on a WebSocket); the header wins when both are present.
    None when the client sent neither."""
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, key = value.decode("latin1").strip().partition(" ")
            if scheme.lower() in ("token", "bearer") and key.strip():
                return key.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin1"))
    keys = query.get("token")
    if keys and keys[0].strip():
        return keys[0].strip()
    return None


@database_sync_to_async
def _token_user(key: str) -> AbstractBaseUser | AnonymousUser:
    """The active user owning the unexpired token ``key``, else AnonymousUser."""
    from alerts.tokens import api_token_user  # imports models: the app registry is ready only at call time

    return api_token_user(key) or AnonymousUser()


class TokenAuthMiddleware(BaseMiddleware):
    """Sets ``scope["user"]`` from a personal API token (``Authorization: Token <token>``, or ``?token=``).

    Without a token it leaves the scope alone (the session user set by ``AuthMiddlewareStack``).
    Prefer the header: query strings end up in proxy access logs.
    """

    async def __call__(self, scope: dict, receive, send):
        if scope.get("type") == "websocket":
            key = _token_key(scope)
            if key is not None:
                scope = dict(scope, user=await _token_user(key))
        return await super().__call__(scope, receive, send)


class BrowserOriginValidator(OriginValidator):
    """``AllowedHostsOriginValidator`` that also admits handshakes without an ``Origin`` header (scripts).

    A present ``Origin`` must match ``settings.ALLOWED_HOSTS`` (channels' own matching); see the module
    docstring for why a missing one is safe to admit.
    """

    def __init__(self, application) -> None:
        allowed_hosts = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not allowed_hosts:
            allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
        super().__init__(application, allowed_hosts)

    def valid_origin(self, parsed_origin) -> bool:
        """True without an Origin header (not a browser); otherwise channels' ALLOWED_HOSTS check."""
        if parsed_origin is None:
            return True
        return super().valid_origin(parsed_origin)
