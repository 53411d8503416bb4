"""Validation of query parameters and bodies for every API view and page: one line per error, raised as
``whales.errors.InvalidParameter`` (rendered 400 ``invalid_parameter`` by the project's handler)."""

from collections.abc import Mapping
from typing import Any

from whales.errors import InvalidParameter, flatten_errors


def validated(serializer_class: type, data: Mapping) -> dict[str, Any]:
    """``data`` (query parameters or a body) validated by ``serializer_class``, as a dict.

    Raises: InvalidParameter naming each bad parameter (``flatten_errors``); nothing else is done."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidParameter(flatten_errors(serializer.errors))
    return dict(serializer.validated_data)
