"""The one error model (DESIGN.md section 10): every error a caller may meet is a class it can catch.

``ApplicationError`` subclasses carry their machine ``code`` and HTTP ``status_code``; the project's one
API exception handler (``whaletrack.api.exception_handler``) renders any of them as
``{"detail": str, "code": str}`` with that status, so views raise them and never translate. The same
classes serve services, tasks and commands: a service raises ``InvalidParameter`` for bad input (nothing
changed), ``NotFound`` for a missing row, ``Conflict`` when the row's state forbids the operation.
Sources raise ``ledgers.errors.SourceUnavailable`` (503, retryable) or ``SourceError`` (502).

Every app may import this module (``whales`` is the bottom of the import graph).
"""

from collections.abc import Mapping, Sequence


class ApplicationError(Exception):
    """Base of the errors WhaleTrack shows to callers. ``detail``: one human-readable line (the class's
    ``default_detail`` when not given); ``code``: a stable machine code; ``status_code``: its HTTP status."""

    code = "error"
    status_code = 400
    default_detail = "The request could not be processed."

    def __init__(self, detail: str | None = None) -> None:
        self.detail = detail or self.default_detail
        super().__init__(self.detail)


class InvalidParameter(ApplicationError, ValueError):
    """400 ``invalid_parameter``: a parameter or body field is malformed, out of range or not allowed;
    the detail names it (``"limit: Ensure ..."``). Nothing was changed. Also a ``ValueError``, so code
    that validates with the standard library's convention catches it."""

    code = "invalid_parameter"
    status_code = 400
    default_detail = "Invalid parameter."


class InvalidCursor(ApplicationError):
    """400 ``invalid_cursor``: a pagination cursor that this API did not hand out."""

    code = "invalid_cursor"
    status_code = 400
    default_detail = "Invalid cursor."


class InvalidAddress(InvalidParameter):
    """400 ``invalid_address``: an address that is not valid on its chain (``whales.chains``)."""

    code = "invalid_address"
    status_code = 400
    default_detail = "Invalid address."


class NotFound(ApplicationError):
    """404 ``not_found``: no such row (or one the caller may not see: the same answer as a missing one)."""

    code = "not_found"
    status_code = 404
    default_detail = "Not found."


class UnknownChain(NotFound):
    """404 ``unknown_chain``: a chain WhaleTrack does not follow."""

    code = "unknown_chain"
    default_detail = "Unknown chain."


class Conflict(ApplicationError):
    """409 ``conflict``: the request is valid but the current state forbids it (an order no longer open,
    a collector already running). Nothing was changed."""

    code = "conflict"
    status_code = 409
    default_detail = "Conflict with the current state."


class Misconfigured(ApplicationError):
    """503 ``misconfigured``: a setting this operation needs is missing or invalid; an operator must fix
    it (the detail names the setting)."""

    code = "misconfigured"
    status_code = 503
    default_detail = "A required setting is missing."


def flatten_errors(errors: Mapping | Sequence | str, *, list_separator: str = " ") -> str:
    """One line from form/serializer errors: ``"limit: Ensure ...; chain: Select ..."``.

    Shape: fields joined by ``"; "``, a field's messages by ``list_separator``; other leaves (DRF's
    ErrorDetail, lazy strings) as ``str()``."""
    if isinstance(errors, Mapping):
        return "; ".join(f"{key}: {flatten_errors(value, list_separator=list_separator)}"
                         for key, value in errors.items())
    if isinstance(errors, str) or not isinstance(errors, Sequence):
        return str(errors)
    return list_separator.join(flatten_errors(item, list_separator=list_separator) for item in errors)
