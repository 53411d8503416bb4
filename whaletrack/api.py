"""API composition: the exception handler that renders every error as {"detail", "code"}."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from whales.errors import ApplicationError


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        return "; ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return "; ".join(_flatten(item) for item in detail)
    return str(detail)


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
        response.data = {"detail": _flatten(exc.detail), "code": code}
    return response
