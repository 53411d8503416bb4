"""API errors of the whales endpoints.

They are DRF ``APIException`` subclasses with a string ``default_code``, so the project's exception
handler (``whaletrack.api.exception_handler``) renders them as ``{"detail": str, "code": str}``
without ``whales`` importing the composition root.
"""

from collections.abc import Mapping, Sequence

from rest_framework import status
from rest_framework.exceptions import APIException


class InvalidParameter(APIException):
    """400 ``invalid_parameter``: a query parameter is malformed, out of range or not allowed."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_parameter"
    default_detail = "Invalid query parameter."


class InvalidCursor(APIException):
    """400 ``invalid_cursor``: the ``cursor`` parameter is not one this API handed out."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_cursor"
    default_detail = "Invalid cursor."


class InvalidAddress(APIException):
    """400 ``invalid_address``: the address in the URL is not valid on its chain."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_address"
    default_detail = "Invalid address."


class UnknownChain(APIException):
    """404 ``unknown_chain``: the chain in the URL is not one WhaleTrack follows."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "unknown_chain"
    default_detail = "Unknown chain."


class NotFound(APIException):
    """404 ``not_found``: no such wallet or collector."""

    status_code = status.HTTP_404_NOT_FOUND
    default_code = "not_found"
    default_detail = "Not found."


def flatten_errors(errors: Mapping | Sequence | str) -> str:
    """One line from form/serializer errors: ``"limit: Ensure ...; chain: Select ..."``."""
    if isinstance(errors, Mapping):
        return "; ".join(f"{key}: {flatten_errors(value)}" for key, value in errors.items())
    if isinstance(errors, str):
        return errors
    return " ".join(flatten_errors(item) for item in errors)


def validated(serializer_class: type, data: Mapping) -> dict:
    """``data`` (query parameters or a body) validated by ``serializer_class``, as a dict.

    Raises: InvalidParameter naming each bad parameter (``flatten_errors``); nothing else is done."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidParameter(flatten_errors(serializer.errors))
    return dict(serializer.validated_data)
