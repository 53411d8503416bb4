"""Validation of query parameters and bodies for every API view and page: one line per error, raised as
``whales.errors.InvalidParameter`` (rendered 400 ``invalid_parameter`` by the project's handler).

Query strings are strict: a parameter the view does not read is a 400 that names it (``query_params_check``),
so a misspelt filter (``minRoi`` for ``min_roi``) never quietly returns the unfiltered list. ``format`` (DRF's
renderer override, e.g. ``?format=json``) is accepted everywhere.
"""

import functools
from collections.abc import Iterable, Mapping
from typing import Any

from django_filters import FilterSet
from rest_framework.request import Request

from whales.errors import InvalidParameter, flatten_errors

# Query parameters every view accepts: DRF's URL_FORMAT_OVERRIDE.
ALWAYS_KNOWN = frozenset({"format"})
# Unknown names quoted in one error at most (a query string of 10 000 junk names must not echo them all).
UNKNOWN_NAMES_SHOWN = 10
NAME_CHARS_SHOWN = 40


def validated(serializer_class: type, data: Mapping) -> dict[str, Any]:
    """``data`` (query parameters or a body) validated by ``serializer_class``, as a dict.

    Raises: InvalidParameter naming each bad parameter (``flatten_errors``); nothing else is done."""
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise InvalidParameter(flatten_errors(serializer.errors))
    return dict(serializer.validated_data)


@functools.cache
def known_query_params(*sources: type) -> frozenset[str]:
    """The query parameter names read through ``sources``: DRF serializer classes (their fields) and/or
    django-filter FilterSet classes (their filters), plus ``ALWAYS_KNOWN``."""
    names = set(ALWAYS_KNOWN)
    for source in sources:
        if isinstance(source, type) and issubclass(source, FilterSet):
            names |= set(source.base_filters)  # type: ignore[attr-defined]  # django-filter is untyped
        else:
            names |= set(source().fields)
    return frozenset(names)


def query_params_check(query_params: Mapping[str, Any], *, known: Iterable[str]) -> None:
    """Refuse a query string that carries a parameter outside ``known`` (and ``ALWAYS_KNOWN``).

    Raises: InvalidParameter, e.g. ``"Unknown parameter(s): minRoi, sortBy. Known: limit, min_roi, ..."``
    (at most ``UNKNOWN_NAMES_SHOWN`` names, each cut to ``NAME_CHARS_SHOWN`` characters). Checks nothing else.
    """
    allowed = set(known) | ALWAYS_KNOWN
    unknown = sorted(name for name in query_params if name not in allowed)
    if not unknown:
        return
    shown = ", ".join(name[:NAME_CHARS_SHOWN] for name in unknown[:UNKNOWN_NAMES_SHOWN])
    more = f" and {len(unknown) - UNKNOWN_NAMES_SHOWN} more" if len(unknown) > UNKNOWN_NAMES_SHOWN else ""
    known_list = ", ".join(sorted(allowed - ALWAYS_KNOWN)) or "none"
    raise InvalidParameter(f"Unknown parameter(s): {shown}{more}. Known: {known_list}.")


def validated_query(serializer_class: type | None, request: Request, *,
                    also: Iterable[type] = ()) -> dict[str, Any]:
    """The request's query parameters validated by ``serializer_class`` (``{}`` when None), after checking that
    it carries no parameter outside that serializer's fields and the filters of the FilterSets in ``also``.

    Raises: InvalidParameter for an unknown name (``query_params_check``) or a bad value (``validated``)."""
    sources = [*([serializer_class] if serializer_class is not None else []), *also]
    query_params_check(request.query_params, known=known_query_params(*sources))
    return validated(serializer_class, request.query_params) if serializer_class is not None else {}
