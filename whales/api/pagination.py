"""Keyset (cursor) pagination on ``(block_time, id)`` descending, with opaque cursors.

A cursor is the URL-safe base64 of ``"<block_time ISO-8601>|<id>"`` of the last row of a page; the
next page holds rows strictly after it in ``(-block_time, -id)`` order, so rows sharing one
``block_time`` are neither repeated nor skipped, and rows inserted meanwhile never shift a page.
"""

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

from django.db.models import Model, Q, QuerySet

from whales.errors import InvalidCursor

MAX_ID = 2**63 - 1  # bigint: larger ids would overflow the query, not just miss

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class KeysetPage(Generic[M]):
    """One page: its rows and the cursor of the next page (None on the last page)."""

    items: list[M]
    next_cursor: str | None


def cursor_encode(block_time: datetime, row_id: int) -> str:
    """The opaque cursor of the position just after row ``(block_time, row_id)``."""
    raw = f"{block_time.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor_decode(cursor: str) -> tuple[datetime, int]:
    """``(block_time, id)`` from a cursor made by ``cursor_encode``.

    Raises: InvalidCursor (400 ``invalid_cursor``) for anything else: bad base64, no ``|``, a naive
    or malformed time, an id that is not a positive bigint.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        time_part, id_part = raw.split("|")
        block_time = datetime.fromisoformat(time_part)
        row_id = int(id_part)
        if block_time.tzinfo is not None:
            block_time = block_time.astimezone(UTC)  # OverflowError near year 1 / 9999
    except (binascii.Error, UnicodeDecodeError, ValueError, OverflowError) as exc:
        raise InvalidCursor("Malformed cursor: use next_cursor from a previous page.") from exc
    if block_time.tzinfo is None or not (0 < row_id <= MAX_ID) or not id_part.isdigit():
        raise InvalidCursor("Malformed cursor: use next_cursor from a previous page.")
    return block_time, row_id


def keyset_page(queryset: QuerySet[M], *, cursor: str | None, limit: int) -> KeysetPage[M]:
    """The page of ``queryset`` after ``cursor`` (None = first page), at most ``limit`` rows.

    ``queryset`` rows need ``block_time`` and ``id``; the page is ordered ``-block_time, -id``
    whatever the queryset's own ordering. One query: ``limit + 1`` rows tell whether a next page exists.
    Raises: InvalidCursor for a malformed cursor.
    """
    queryset = queryset.order_by("-block_time", "-id")
    if cursor:
        block_time, row_id = cursor_decode(cursor)
        queryset = queryset.filter(Q(block_time__lt=block_time) | Q(block_time=block_time, id__lt=row_id))
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return KeysetPage(items=rows, next_cursor=None)
    rows = rows[:limit]
    last = rows[-1]
    last_time = last.block_time  # type: ignore[attr-defined]  # M is any model with block_time (docstring)
    return KeysetPage(items=rows, next_cursor=cursor_encode(last_time, last.pk))
