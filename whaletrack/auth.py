"""Sign-in hardening wired in settings: the client address every throttle and lockout counts by, and the
django-axes backend that refuses a locked-out client."""

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The client's IP address as DRF's throttles compute it with ``NUM_PROXIES``.

    Shape: ``REMOTE_ADDR`` when ``settings.NUM_PROXIES`` is 0 or no X-Forwarded-For came; else the address the
    outermost trusted proxy appended (the N-th from the right), so a client cannot choose its own identity.
    """
    remote_addr = request.META.get("REMOTE_ADDR", "")
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    if not settings.NUM_PROXIES or not forwarded:
        return remote_addr
    addresses = [part.strip() for part in forwarded.split(",")]
    return addresses[-min(settings.NUM_PROXIES, len(addresses))]


class LoginLockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check for every sign-in made over HTTP (the login page, the admin, DRF).

    A call of ``authenticate()`` without a request (a management command, the test client's ``login``) has
    no client to lock out and is left to the next backend, where django-axes would raise instead.
    """

    def authenticate(self, request: HttpRequest | None, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def login_name(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account name django-axes counts failures by: ``username`` (the admin's form, DRF, allauth when the
    login is a username), ``email`` (allauth when it is an address), else the site form's raw ``login`` field.
    Lower-cased, so ``Alice`` and ``alice`` share one count."""
    credentials = credentials or {}
    name = credentials.get("username") or credentials.get("email")
    if not name and request is not None and request.method == "POST":
        name = request.POST.get("login") or request.POST.get("username")
    return name.strip().lower() if isinstance(name, str) and name.strip() else None
