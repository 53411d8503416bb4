"""Streamed CSV / JSON exports: a queryset and a column spec in, encoded chunks out, in flat memory.

The exporter is generic: ``ExportSpec`` names the columns (output name -> ``values_list`` lookup, optionally a
converter of the raw value) and ``export_stream`` walks ``queryset.values_list(...).iterator(chunk_size=...)``
(a server-side cursor on PostgreSQL), yielding bytes of about ``EXPORT_CHUNK_ROWS`` rows at a time. No model
instance is built and nothing is accumulated, so a 1M-row export uses the memory of one chunk.

Cell encoding (both formats)
    ``Decimal`` -> its plain digits, never an exponent (``format(value, "f")``: the stored scale, e.g. USD with
    8 places); ``datetime`` -> ISO 8601 in UTC with ``Z`` (``2024-03-01T12:00:00Z``, microseconds when not 0);
    ``bool`` -> ``true`` / ``false``; ``None`` -> empty cell (CSV) / ``null`` (JSON); ``int`` as is; a JSON
    field (dict/list) -> compact JSON text in CSV, the object itself in JSON. Column names are the models'
    field names (``tx_hash``, ``block_number``, ``log_index``, ``value_usd`` ...).

CSV: RFC 4180 (``csv`` module, ``\\r\\n`` line ends, a header row), UTF-8 without BOM.
JSON: one JSON array of objects (``[`` + rows separated by ``,\\n`` + ``]``), each object keyed by column name;
    numbers that are Decimals are strings, as in the API.

CSV formula injection (OWASP "CSV Injection")
    A text cell whose first character is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with
    one apostrophe (``'``), so a spreadsheet shows it as text instead of evaluating it, unless the whole cell
    is a plain decimal number (``-12.5``, ``+3``, ``1e-9``; ``NUMBER_RE``): numbers stay numbers. ``-1+2`` or
    ``=1`` are not plain numbers and are prefixed. Only the CSV is escaped: the JSON carries values unchanged
    (JSON is not opened by spreadsheets, and a consumer must get the real value).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from itertools import islice
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import F, Func, Model, QuerySet, TextField
from django.db.models.functions import Cast

from whales.errors import ApplicationError

FORMATS = ("csv", "json")
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
NUMBER_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class ExportTooLarge(ApplicationError):
    """400 ``export_too_large``: more rows match than one export may hold (``EXPORT_MAX_ROWS``); nothing was
    sent. Narrow the filters."""

    code = "export_too_large"
    status_code = 400
    default_detail = "Too many rows for one export."


@dataclass(frozen=True)
class Column:
    """One exported column: ``name`` in the header / JSON key, ``lookup`` the ``values_list`` path (a field,
    ``whale__address``, or an annotation), ``convert`` an optional function of the raw value applied first."""

    name: str
    lookup: str
    convert: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class ExportSpec:
    """What one export writes: ``name`` (the file name's stem) and its ``columns`` in order."""

    name: str
    columns: Sequence[Column] = field(default_factory=tuple)

    @property
    def header(self) -> list[str]:
        return [column.name for column in self.columns]


def iso_utc(value: datetime) -> str:
    """An aware datetime as ISO 8601 in UTC with ``Z``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def plain_value(value: Any) -> Any:
    """The JSON-safe value of one raw cell (module docstring): Decimal -> str, datetime -> ISO UTC, the rest
    unchanged (None, bool, int, str, dict, list)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return iso_utc(value)
    return value


def csv_cell(value: Any) -> str:
    """The CSV text of one raw cell, formula-safe (module docstring)."""
    value = plain_value(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS) and not NUMBER_RE.fullmatch(text):
        return "'" + text
    return text


# PostgreSQL renders these columns as the export's text itself (as COPY would), so no Decimal or datetime object is
# built per cell: numeric::text is the plain digits at the stored scale (what format(value, "f") gives), the time
# is ISO 8601 UTC with microseconds only when not 0 (what iso_utc gives), a boolean true/false (CSV only: JSON
# keeps real booleans), a text cell formula-safe by csv_cell's rule (CSV only: the same first characters and the
# same plain-number pattern as NUMBER_RE).
_PG_FORMULA_SAFE = (
    "CASE WHEN left(%(expressions)s, 1) IN ('=', '+', '-', '@', chr(9), chr(13)) AND %(expressions)s !~ "
    "'^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$' THEN '''' || %(expressions)s "
    "ELSE %(expressions)s END")
_PG_TEXT = {
    "decimal": lambda lookup: Cast(F(lookup), TextField()),
    "datetime": lambda lookup: Func(
        F(lookup), output_field=TextField(),
        template="replace(to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), "
                 "'.000000Z', 'Z')"),
    "bool": lambda lookup: Cast(F(lookup), TextField()),
    "text": lambda lookup: Func(F(lookup), output_field=TextField(), template=_PG_FORMULA_SAFE),
}


def _rows(queryset: QuerySet, spec: ExportSpec, kinds: list[str], chunk_rows: int) -> Iterator[tuple]:
    lookups = []
    for index, column in enumerate(spec.columns):
        if kinds[index] == "sql_text":
            alias = f"_export_{index}"
            queryset = queryset.annotate(**{alias: _PG_TEXT[_kind(queryset.model, column.lookup)](column.lookup)})
            lookups.append(alias)
        else:
            lookups.append(column.lookup)
    converters = [(i, column.convert) for i, column in enumerate(spec.columns) if column.convert]
    rows = queryset.values_list(*lookups).iterator(chunk_size=chunk_rows)
    if not converters:
        yield from rows
        return
    for row in rows:
        values = list(row)
        for index, convert in converters:
            values[index] = convert(values[index])
        yield tuple(values)


def _kinds(queryset: QuerySet, spec: ExportSpec, fmt: str) -> list[str]:
    """Each column's kind (``_kind``); on PostgreSQL a column the database renders as text (``_PG_TEXT``) is
    ``sql_text``, which needs no work in Python."""
    kinds = [("any" if column.convert else _kind(queryset.model, column.lookup)) for column in spec.columns]
    if connections[queryset.db].vendor == "postgresql":
        in_sql = {"decimal", "datetime", "bool", "text"} if fmt == "csv" else {"decimal", "datetime"}
        kinds = ["sql_text" if kind in in_sql else kind for kind in kinds]
    return kinds


def _kind(model: type[Model], lookup: str) -> str:
    """How a column's raw values are encoded in CSV, from the model field its lookup ends at: ``int``, ``decimal``,
    ``datetime``, ``bool``, ``json``, ``text``; ``any`` for an annotation (``csv_cell`` decides per value)."""
    field: Any = None
    for part in lookup.split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return "any"
        if field.is_relation and field.related_model is not None:
            model = field.related_model
    internal = field.get_internal_type() if field is not None else ""
    if field is None or field.is_relation:
        return "int" if field is not None else "any"
    if internal == "DecimalField":
        return "decimal"
    if internal == "DateTimeField":
        return "datetime"
    if internal == "BooleanField":
        return "bool"
    if internal == "JSONField":
        return "json"
    if internal in ("AutoField", "BigAutoField", "IntegerField", "BigIntegerField", "SmallIntegerField",
                    "PositiveIntegerField", "PositiveSmallIntegerField", "PositiveBigIntegerField"):
        return "int"
    return "text"


def _decimal_cell(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    return format(value, "f") if "E" in text else text  # str() uses an exponent for tiny/huge scales


def _datetime_cell(value: datetime | None) -> str | None:
    return None if value is None else iso_utc(value)


def _bool_cell(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _json_cell(value: Any) -> str | None:
    return None if value is None else csv_cell(value)


_TRIGGER_CHARS = frozenset(FORMULA_TRIGGERS)
_CSV_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "decimal": _decimal_cell, "datetime": _datetime_cell, "bool": _bool_cell, "json": _json_cell, "any": csv_cell,
}


def _csv_row_encoder(kinds: list[str]) -> Callable[[tuple], list]:
    """A function turning one raw row into its CSV cells (``csv_cell``'s rules), with the conversion of each
    column chosen once from its field: ints and plain text pass through untouched (the csv module writes None as
    an empty cell), and text is only rewritten when it starts with a formula trigger."""
    converted = [(i, _CSV_CONVERTERS[kind]) for i, kind in enumerate(kinds) if kind in _CSV_CONVERTERS]
    texts = [i for i, kind in enumerate(kinds) if kind == "text"]

    def encode(row: tuple) -> list:
        cells = list(row)
        for index, convert in converted:
            cells[index] = convert(cells[index])
        for index in texts:
            text = cells[index]
            if text and text[0] in _TRIGGER_CHARS:
                cells[index] = csv_cell(text)
        return cells

    return encode


def export_check(queryset: QuerySet, *, max_rows: int | None = None) -> None:
    """Refuse an export of more than ``max_rows`` (default ``settings.EXPORT_MAX_ROWS``) rows before anything
    is sent. Cost: one unordered scan that stops after ``max_rows + 1`` matches.
    Raises: ExportTooLarge."""
    limit = settings.EXPORT_MAX_ROWS if max_rows is None else max_rows
    if queryset.order_by().values("pk")[limit:limit + 1].exists():
        raise ExportTooLarge(f"More than {limit} rows match; one export holds at most {limit} "
                             "(EXPORT_MAX_ROWS). Narrow the filters.")


def export_stream(queryset: QuerySet, spec: ExportSpec, *, fmt: str, chunk_rows: int | None = None) -> Iterator[bytes]:
    """The export of ``queryset`` (in its order) as UTF-8 chunks of about ``chunk_rows`` rows
    (default ``settings.EXPORT_CHUNK_ROWS``).

    Shape: ``fmt`` ``csv`` (header row first) or ``json`` (one array); encoding in the module docstring.
    Raises: ValueError for an unknown ``fmt``."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    chunk_rows = chunk_rows or settings.EXPORT_CHUNK_ROWS
    kinds = _kinds(queryset, spec, fmt)
    rows = _rows(queryset, spec, kinds, chunk_rows)
    if fmt == "csv":
        needs_python = any(kind not in ("sql_text", "int") for kind in kinds)
        yield from _csv_chunks(rows, _csv_row_encoder(kinds) if needs_python else None, spec, chunk_rows)
    else:
        yield from _json_chunks(rows, spec, chunk_rows)


def _csv_chunks(rows: Iterator[tuple], encode: Callable[[tuple], list] | None, spec: ExportSpec,
                chunk_rows: int) -> Iterator[bytes]:
    """CSV chunks of ``chunk_rows`` rows. ``encode`` None: the rows are CSV-ready already (ints, text, None), so the
    csv module writes each chunk in one call, with no Python per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spec.header)
    while chunk := list(islice(rows, chunk_rows)):
        writer.writerows(chunk if encode is None else map(encode, chunk))
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue().encode()


def _json_chunks(rows: Iterator[tuple], spec: ExportSpec, chunk_rows: int) -> Iterator[bytes]:
    names = spec.header
    encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    parts = ["["]
    first = True
    for row in rows:
        item = encoder.encode({name: plain_value(value) for name, value in zip(names, row, strict=True)})
        parts.append(item if first else ",\n" + item)
        first = False
        if len(parts) >= chunk_rows:
            yield "".join(parts).encode()
            parts = []
    parts.append("]\n")
    yield "".join(parts).encode()


async def export_stream_async(chunks: Iterator[bytes]) -> AsyncIterator[bytes]:
    """``chunks`` for an ASGI server, one ``next`` at a time in Django's sync thread (the one that holds the
    database connection and its server-side cursor). Django consumes a *sync* iterator under ASGI by reading
    it whole into a list first (``StreamingHttpResponse.__aiter__``), which would hold a whole export in memory.
    """
    def step() -> bytes | None:
        return next(chunks, None)

    fetch = sync_to_async(step, thread_sensitive=True)
    try:
        while (chunk := await fetch()) is not None:
            yield chunk
    finally:  # a client gone mid-export: close the generator, so its server-side cursor is closed too
        if hasattr(chunks, "close"):
            await sync_to_async(chunks.close, thread_sensitive=True)()
