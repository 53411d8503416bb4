"""Pure parsing of SEC EDGAR answers into ``types`` records: no I/O, no ORM.

Sources: ``data.sec.gov/submissions/CIK##########.json`` (an issuer and its recent filings as parallel
column arrays, newest first), its older pages (``CIK##########-submissions-001.json``: the same columns as a
bare object) and the "latest filings" Atom feed of ``www.sec.gov/cgi-bin/browse-edgar?action=getcurrent``
(read with feedparser). Every parser raises ``SecFormatError`` naming what is wrong; nothing is guessed.
"""

import calendar
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import feedparser  # type: ignore[import-untyped]

from ledgers.catalyst.sec.types import FeedEntry, Filing, OlderPage, Submissions

ARCHIVES_URL = "https://www.sec.gov/Archives/edgar/data"
"""Where EDGAR keeps every filing's documents: links for people, never fetched by the collector."""

# The columns every filing row needs; the others are read when present.
REQUIRED_COLUMNS = ("accessionNumber", "filingDate", "form")
_ACCESSION = re.compile(r"^\d{10}-\d{2}-\d{6}$")
# "4 - Perez Daniel Antonio (0002063236) (Reporting)"; forms may hold spaces ("SC 13G/A").
_FEED_TITLE = re.compile(r"^(?P<form>.+?) - (?P<name>.*) \((?P<cik>\d{10})\) \((?P<role>[^()]+)\)$")
_FEED_FILED = re.compile(r"Filed:\s*(?:</b>)?\s*(\d{4}-\d{2}-\d{2})")
_FEED_ACCESSION = re.compile(r"accession-number=(\d{10}-\d{2}-\d{6})")


class SecFormatError(ValueError):
    """An EDGAR answer is not the shape EDGAR documents (a missing column, a bad date, ragged arrays)."""


def cik_format(cik: int) -> str:
    """``CIK`` padded to the 10 digits EDGAR's file names use: ``1050446`` -> ``"0001050446"``."""
    return f"{cik:010d}"


def index_url(cik: int, accession_number: str) -> str:
    """The filing's index page on sec.gov (what the Atom feed links to)."""
    return f"{ARCHIVES_URL}/{cik}/{accession_number.replace('-', '')}/{accession_number}-index.htm"


def document_url(cik: int, accession_number: str, primary_document: str) -> str:
    """The filing's primary document on sec.gov, or its index page when the document is not named."""
    if not primary_document:
        return index_url(cik, accession_number)
    return f"{ARCHIVES_URL}/{cik}/{accession_number.replace('-', '')}/{primary_document}"


def _date(value: Any, what: str, *, optional: bool = False) -> date | None:
    if optional and value in (None, ""):
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise SecFormatError(f"{what} {value!r} is not a YYYY-MM-DD date") from None


def _accepted_at(value: Any) -> datetime | None:
    """``acceptanceDateTime`` (``2025-07-31T20:24:14.000Z``) as aware UTC; None when absent."""
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise SecFormatError(f"acceptanceDateTime {value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise SecFormatError(f"acceptanceDateTime {value!r} has no UTC offset")
    return parsed.astimezone(UTC)


def filings_columns_parse(cik: int, columns: Mapping[str, Any]) -> tuple[Filing, ...]:
    """The filings of EDGAR's column object (``filings.recent``, or an older page), in its order.

    Shape: parallel arrays keyed by column name; ``REQUIRED_COLUMNS`` must be present, the rest
    (``acceptanceDateTime``, ``reportDate``, ``primaryDocument``, ``primaryDocDescription``, ``items``,
    ``size``) are read when present. Raises: SecFormatError for a missing column, arrays of different
    lengths, a malformed accession number or date.
    """
    if not isinstance(columns, Mapping):
        raise SecFormatError("filings are not a JSON object of columns")
    missing = [name for name in REQUIRED_COLUMNS if not isinstance(columns.get(name), list)]
    if missing:
        raise SecFormatError(f"filings lack the column(s) {', '.join(missing)}")
    count = len(columns["accessionNumber"])
    arrays: dict[str, Sequence[Any]] = {}
    for name, values in columns.items():
        if isinstance(values, list):
            if len(values) != count:
                raise SecFormatError(f"column {name} has {len(values)} values, accessionNumber {count}")
            arrays[name] = values

    def column(name: str, index: int, default: Any = "") -> Any:
        values = arrays.get(name)
        return default if values is None else values[index]

    filings = []
    for index in range(count):
        accession = str(column("accessionNumber", index))
        if not _ACCESSION.match(accession):
            raise SecFormatError(f"accession number {accession!r} is not ##########-##-######")
        form = str(column("form", index)).strip()
        if not form:
            raise SecFormatError(f"filing {accession} has no form type")
        size = column("size", index, 0)
        filings.append(Filing(
            cik=cik,
            accession_number=accession,
            form=form,
            filed_on=_date(column("filingDate", index), f"filing {accession} filingDate"),  # type: ignore[arg-type]
            accepted_at=_accepted_at(column("acceptanceDateTime", index, None)),
            report_period=_date(column("reportDate", index, None), f"filing {accession} reportDate", optional=True),
            primary_document=str(column("primaryDocument", index) or "")[:200],
            primary_document_description=str(column("primaryDocDescription", index) or "")[:200],
            items=str(column("items", index) or "")[:200],
            size_bytes=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else 0,
        ))
    return tuple(filings)


def submissions_parse(raw: Any) -> Submissions:
    """An issuer's submissions answer. Raises: SecFormatError when its ``cik``, ``name`` or
    ``filings.recent`` is missing or malformed (see ``filings_columns_parse``)."""
    if not isinstance(raw, Mapping):
        raise SecFormatError("submissions answer is not a JSON object")
    try:
        cik = int(str(raw["cik"]))
    except (KeyError, ValueError):
        raise SecFormatError(f"submissions answer has no numeric cik ({raw.get('cik')!r})") from None
    filings = raw.get("filings")
    if not isinstance(filings, Mapping) or "recent" not in filings:
        raise SecFormatError(f"CIK {cik}: no filings.recent")
    pages = []
    for entry in filings.get("files") or []:
        if not isinstance(entry, Mapping) or not str(entry.get("name") or "").endswith(".json"):
            raise SecFormatError(f"CIK {cik}: filings.files entry {entry!r} names no JSON page")
        pages.append(OlderPage(
            name=str(entry["name"]),
            filing_count=int(entry.get("filingCount") or 0),
            filing_from=_date(entry.get("filingFrom"), "filingFrom", optional=True),
            filing_to=_date(entry.get("filingTo"), "filingTo", optional=True),
        ))
    tickers = raw.get("tickers") or []
    return Submissions(
        cik=cik,
        name=str(raw.get("name") or "").strip(),
        tickers=tuple(str(t) for t in tickers) if isinstance(tickers, list) else (),
        filings=filings_columns_parse(cik, filings["recent"]),
        older_pages=tuple(pages),
    )


def feed_parse(body: bytes) -> list[FeedEntry]:
    """The entries of one page of the "latest filings" Atom feed, in its order (newest first).

    Shape: each entry's title is ``FORM - NAME (CIK) (ROLE)``, its summary holds ``Filed: YYYY-MM-DD`` and
    its id the accession number; ``updated`` carries an offset (EDGAR's Eastern time) and is returned in
    UTC. A filing appears once per party (filer, issuer, reporting owner), with the same accession number.
    Raises: SecFormatError when the body is not an Atom feed, or an entry lacks one of those parts.
    """
    parsed = feedparser.parse(body)
    if parsed.get("bozo") and not parsed.entries:
        raise SecFormatError(f"not an Atom feed ({parsed.get('bozo_exception')!s:.120})")
    if parsed.get("version", "") != "atom10":
        raise SecFormatError(f"not an Atom 1.0 feed (feedparser sees {parsed.get('version')!r})")
    entries = []
    for item in parsed.entries:
        title = str(item.get("title") or "")
        match = _FEED_TITLE.match(title)
        if match is None:
            raise SecFormatError(f"feed entry title {title!r} is not 'FORM - NAME (CIK) (ROLE)'")
        accession = _FEED_ACCESSION.search(str(item.get("id") or ""))
        filed = _FEED_FILED.search(str(item.get("summary") or ""))
        updated = item.get("updated_parsed")
        if accession is None or filed is None or updated is None:
            raise SecFormatError(f"feed entry {title!r} lacks its accession number, filing date or updated time")
        entries.append(FeedEntry(
            cik=int(match["cik"]),
            name=match["name"].strip()[:200],
            role=match["role"],
            form=match["form"].strip(),
            accession_number=accession[1],
            filed_on=_date(filed[1], "Filed"),  # type: ignore[arg-type]
            updated=datetime.fromtimestamp(calendar.timegm(updated), tz=UTC),
            index_url=str(item.get("link") or ""),
        ))
    return entries
