"""The two ways an upstream source fails, shared by every client (DESIGN.md section 10).

A client raises a subclass of one of them and nothing else: ``SourceUnavailable`` when waiting can
fix it (timeout, refused connection, 429/5xx after the transport's retries, a spent request budget),
``SourceError`` when it cannot (a JSON-RPC error, another 4xx, a malformed body). Tasks retry on the
first class (Celery ``autoretry_for``), never by reading an error's text.
"""

from whales.errors import ApplicationError


class SourceUnavailable(ApplicationError):
    """The source could not answer now: retryable."""

    code = "source_unavailable"
    status_code = 503


class SourceError(ApplicationError):
    """The source answered with something unusable: terminal for this request."""

    code = "source_error"
    status_code = 502
