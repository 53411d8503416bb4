"""What the SEC EDGAR client returns: plain records, no ORM."""

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class Filing:
    """One filing of one issuer, as EDGAR lists it.

    ``accession_number`` as EDGAR writes it (``0001193125-25-170550``); ``form`` the form type (``8-K``);
    ``filed_on`` the filing date (EDGAR's date, US Eastern); ``accepted_at`` aware UTC (submissions:
    ``acceptanceDateTime``; the Atom feed: the entry's ``updated``), None when EDGAR gives none;
    ``report_period`` the period the filing covers, when given; ``primary_document`` the file name of
    the main document ("" from the Atom feed, which does not name it); ``items`` 8-K item numbers
    ("5.03,8.01,9.01"); ``size_bytes`` EDGAR's size of the submission (0 when not given).
    """

    cik: int
    accession_number: str
    form: str
    filed_on: date
    accepted_at: datetime | None
    report_period: date | None
    primary_document: str
    primary_document_description: str
    items: str
    size_bytes: int


@dataclass(frozen=True, slots=True)
class OlderPage:
    """An older page of an issuer's filings named in ``filings.files``: its file name
    (``CIK0001318605-submissions-001.json``), how many filings it holds, and their date span."""

    name: str
    filing_count: int
    filing_from: date | None
    filing_to: date | None


@dataclass(frozen=True, slots=True)
class Submissions:
    """``GET /submissions/CIK##########.json``: the issuer (``cik``, ``name``, ``tickers``), its recent
    filings (newest first, as EDGAR orders them) and the older pages it names."""

    cik: int
    name: str
    tickers: tuple[str, ...]
    filings: tuple[Filing, ...]
    older_pages: tuple[OlderPage, ...]


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One entry of the "latest filings" Atom feed (``browse-edgar?action=getcurrent``): a filing as seen
    from one party, the filer (``role`` "Filer"), the issuer ("Issuer") or a reporting owner ("Reporting").
    ``cik`` and ``name`` are that party's; ``index_url`` the filing's index page; ``updated`` aware UTC."""

    cik: int
    name: str
    role: str
    form: str
    accession_number: str
    filed_on: date
    updated: datetime
    index_url: str
