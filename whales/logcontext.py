"""Structured logs: a correlation id on every log record, and the JSON formatter settings.LOGGING uses.

``correlation_id`` is a context variable: the ``CorrelationIdMiddleware`` sets it per HTTP request (the client's
``X-Request-ID`` when it is 1-64 letters, digits, ``-`` or ``_``, else a new one, echoed in the answer's
``X-Request-ID``) until the answer is closed, ``ledgers.runlog.collector_execute`` per collector run (and keeps
it in the run's ``details``). ``install`` wraps the log record factory so every record made while one is set
carries it as ``record.correlation_id`` ("" otherwise), whatever handler later formats it.

``json_formatter`` (python-json-logger) writes one JSON object per line: ``time`` (ISO-8601 UTC), ``level``,
``logger``, ``message``, ``correlation_id``, and every field the code passes in ``extra=`` as its own key.
"""

import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

correlation_id: ContextVar[str] = ContextVar("whaletrack_correlation_id", default="")
_VALID_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_installed = False


def new_correlation_id(prefix: str = "") -> str:
    """A fresh id: ``prefix-`` and 16 random hex digits."""
    return f"{prefix}-{uuid.uuid4().hex[:16]}" if prefix else uuid.uuid4().hex[:16]


@contextmanager
def correlation_scope(value: str) -> Iterator[str]:
    """Set the correlation id for the block, then restore the previous one."""
    token = correlation_id.set(value)
    try:
        yield value
    finally:
        correlation_id.reset(token)


def install() -> None:
    """Make every log record carry ``correlation_id`` (idempotent; called by WhalesConfig.ready)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.correlation_id = correlation_id.get()
        return record

    logging.setLogRecordFactory(factory)
    request_finished.connect(_request_finished, dispatch_uid="whales.logcontext.request_finished")
    _installed = True


def _request_finished(**kwargs: Any) -> None:
    """The answer was sent and closed (Django's ``request_finished``, after its error-answer log line): the
    request's id no longer applies to what this thread or task logs next."""
    correlation_id.set("")


class _Formatter(JsonFormatter):
    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def json_formatter() -> logging.Formatter:
    """The JSON formatter of the module docstring (settings.LOGGING's ``"()"`` factory)."""
    return _Formatter("{asctime}{levelname}{name}{message}{correlation_id}", style="{",
                      rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})


def plain_formatter() -> logging.Formatter:
    """One line per record: time, level, logger, ``[correlation id]``, message (the ``extra=`` fields are not
    shown: use the JSON format for them)."""
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s",
                             defaults={"correlation_id": ""})


class CorrelationIdMiddleware:
    """Per request: the correlation id (module docstring) set for the view, and sent back as ``X-Request-ID``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        asked = request.META.get("HTTP_X_REQUEST_ID", "")
        value = asked if _VALID_ID.match(asked) else new_correlation_id("req")
        # Not reset on the way out: Django logs an error answer (django.request) after the middleware returns, and
        # that line must carry the id too. It is cleared when the answer is closed (``_request_finished``).
        correlation_id.set(value)
        response = self.get_response(request)
        response["X-Request-ID"] = value
        return response
