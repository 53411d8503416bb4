"""API composition: the exception handler that renders every error as {"detail", "code"}, the 404 of paths
under /api/ that match no route in that same shape, and the deprecated aliases that keep pre-grouping paths
working."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.views import defaults
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from whales.errors import ApplicationError, flatten_errors


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """Render ``exc`` as ``{"detail": str, "code": str}``.

    Shape: DRF errors keep their status (400 validation -> code "invalid", 404 -> "not_found",
    ...); ApplicationError uses its own code/status; Django's ValidationError is a 400.
    Anything else is left to Django (a 500).
    """
    if isinstance(exc, ApplicationError):
        return Response({"detail": exc.detail, "code": exc.code}, status=exc.status_code)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid"
        if response.status_code == status.HTTP_400_BAD_REQUEST:
            code = "invalid" if not isinstance(codes, str) else codes
        response.data = {"detail": flatten_errors(exc.detail, list_separator="; "), "code": code}
    return response


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: a path under ``/api/`` that matches no route (e.g. ``/api/v1/trading/orders/abc``,
    an id that is not an integer) answers the API's JSON ``{"detail": "Not found.", "code": "not_found"}``,
    as its views' own 404s do; any other path gets Django's page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
    return defaults.page_not_found(request, exception)


# When the read endpoints were grouped by ledger (issue 12): the aliases' Deprecation date.
ALIASES_DEPRECATED_AT = datetime(2026, 12, 3, tzinfo=UTC)


def deprecated_alias(view: type[APIView], *, successor: str, operation_id: str) -> Callable[..., HttpResponseBase]:
    """A view function serving ``view`` at a path kept from before the API was grouped by ledger.

    Shape: the same answers as ``successor`` (a path, e.g. ``/api/v1/glass/smart-money-flows``), plus the
    headers ``Deprecation: @<epoch s>`` (RFC 9745, ALIASES_DEPRECATED_AT) and
    ``Link: <successor?query>; rel="successor-version"``. The OpenAPI schema lists the alias as deprecated,
    under its own ``operation_id`` (operation ids are unique).
    """

    class Alias(view):  # type: ignore[valid-type,misc]  # a subclass of the view class given at run time
        def finalize_response(self, request: Request, response: HttpResponseBase, *args: Any,
                              **kwargs: Any) -> HttpResponseBase:
            response = super().finalize_response(request, response, *args, **kwargs)
            query = request.META.get("QUERY_STRING", "")
            response["Deprecation"] = f"@{int(ALIASES_DEPRECATED_AT.timestamp())}"
            response["Link"] = f'<{successor}{"?" + query if query else ""}>; rel="successor-version"'
            return response

    Alias.__name__ = Alias.__qualname__ = f"{view.__name__}Alias"
    Alias.__doc__ = f"Deprecated alias of {successor}: {view.__doc__ or ''}"
    documented = extend_schema_view(get=extend_schema(operation_id=operation_id, deprecated=True))(Alias)
    return documented.as_view()
