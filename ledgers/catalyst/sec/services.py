"""Writes of the SEC EDGAR collectors: the filings of the issuers analysts follow, stored once.

Two collectors share the storage:
- ``sec`` (daily): each active issuer's submissions, and its older pages the first time they are named;
- ``sec_feed`` (every 10 minutes): the "latest filings" Atom feed, paged until the entries the previous run
  saw, the feed's end (EDGAR's 503 past it, which is not an error) or SEC_FEED_MAX_PAGES, catching new
  filings of the followed issuers between daily runs.

Idempotent: a filing is unique per (issuer, accession number) and inserted with ``ignore_conflicts``; a
filing first seen in the feed gets its primary document, period and items when the submissions list it.
Network I/O happens outside transactions; each issuer's filings (and each older page with its "loaded"
mark) are stored in one transaction, so a run killed half-way keeps whole issuers and pages only.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledgers.catalyst.sec.activity import document_url
from ledgers.catalyst.sec.client import FEED_PAGE_SIZE, SecClient, SecError, SecUnavailable
from ledgers.catalyst.sec.models import FilingSource, SecFiling, SecIssuer
from ledgers.catalyst.sec.types import FeedEntry, Filing
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start, cursor_advance, cursor_get_or_create
from whales.context import CatalystItem, catalysts_upsert
from whales.errors import InvalidParameter, Misconfigured
from whales.models import CatalystType, RunStatus

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "sec"
FEED_COLLECTOR_NAME = "sec_feed"
FEED_STREAM = "sec_feed"
"""The feed's cursor: the newest entry time stored (epoch seconds, UTC)."""
MAX_FEED_PAGES = 60
CATALYST_SOURCE = "sec"
FORM_IMPACT: dict[str, int] = {"S-1": 70, "424B5": 70, "8-K": 60, "10-K": 40, "10-Q": 40, "144": 30, "4": 20}
"""Impact score (0-100) of a filing by form: an offering (S-1, 424B5: treasuries raise cash to buy coins) moves a
coin most, then a current report (8-K), the periodic reports, an insider's planned sale (144) and trades (4)."""
DEFAULT_IMPACT = 20


@dataclass(frozen=True)
class IssuerProgress:
    """Progress of a submissions run, after each issuer: ``done`` of ``total``, its outcome, filings so far."""

    issuer: str
    done: int
    total: int
    status: str
    filings_written: int

    def __str__(self) -> str:
        return f"{self.issuer} ({self.done}/{self.total}): {self.status}; {self.filings_written} filings stored so far"


def filings_store(*, issuer: SecIssuer, filings: Iterable[Filing], source: str,
                  forms: Iterable[str] | None = None) -> int:
    """Store the ``filings`` of ``issuer`` whose form is one of ``forms`` (default SEC_FORMS); return how many
    were new. A filing already stored is kept; when the feed stored it (no primary document yet) and these
    filings name its document, its document, period, items, size and accepted time are filled in.
    Shape: one transaction. Units: ``size_bytes`` bytes, times aware UTC."""
    wanted_forms = frozenset(settings.SEC_FORMS if forms is None else forms)
    wanted: dict[str, Filing] = {}
    for filing in filings:
        if filing.form in wanted_forms:
            wanted.setdefault(filing.accession_number, filing)
    if not wanted:
        return 0
    with transaction.atomic():
        stored = dict(SecFiling.objects.filter(issuer=issuer, accession_number__in=list(wanted))
                      .values_list("accession_number", "primary_document"))
        new = [SecFiling(
            issuer=issuer, accession_number=f.accession_number, form=f.form, filed_on=f.filed_on,
            accepted_at=f.accepted_at, report_period=f.report_period, primary_document=f.primary_document,
            primary_document_description=f.primary_document_description, items=f.items, size_bytes=f.size_bytes,
            document_url=document_url(issuer.cik, f.accession_number, f.primary_document), source=source,
        ) for accession, f in wanted.items() if accession not in stored]
        SecFiling.objects.bulk_create(new, ignore_conflicts=True, batch_size=500)
        for accession, document in stored.items():
            filing = wanted[accession]
            if not document and filing.primary_document:
                SecFiling.objects.filter(issuer=issuer, accession_number=accession).update(
                    primary_document=filing.primary_document,
                    primary_document_description=filing.primary_document_description,
                    report_period=filing.report_period, items=filing.items, size_bytes=filing.size_bytes,
                    accepted_at=filing.accepted_at,
                    document_url=document_url(issuer.cik, accession, filing.primary_document))
        filings_catalysts_upsert(issuer=issuer, accession_numbers=list(wanted))
    return len(new)


def filings_catalysts_upsert(*, issuer: SecIssuer, accession_numbers: list[str] | None = None) -> int:
    """Write the stored filings of ``issuer`` (those of ``accession_numbers``, or all) as catalysts of its coins
    (``whales.context``), from what is stored now: type ``sec_filing``, the title "ISSUER: FORM", the document
    link, the acceptance time (else the filing date at 00:00 UTC), ``FORM_IMPACT``. Returns how many were new."""
    filings = SecFiling.objects.filter(issuer=issuer)
    if accession_numbers is not None:
        filings = filings.filter(accession_number__in=accession_numbers)
    coins = issuer.coin_symbols
    items = []
    for filing in filings.order_by("id"):
        title = f"{issuer.name}: {filing.form}" + (f" (items {filing.items})" if filing.items else "")
        items.append(CatalystItem(
            source_ref=f"{issuer.cik}:{filing.accession_number}", type=CatalystType.SEC_FILING, title=title,
            url=filing.document_url,
            occurred_at=filing.accepted_at or datetime.combine(filing.filed_on, datetime.min.time(), tzinfo=UTC),
            impact_score=FORM_IMPACT.get(filing.form, DEFAULT_IMPACT), coins=coins,
            details={"form": filing.form, "accession_number": filing.accession_number, "cik": issuer.cik,
                     "issuer": issuer.name, "filed_on": filing.filed_on.isoformat(), "items": filing.items}))
    return catalysts_upsert(source=CATALYST_SOURCE, items=items)


def issuer_collect(*, client: SecClient, issuer: SecIssuer) -> tuple[int, int, list[str]]:
    """One issuer: its submissions, then every older page it names that is not stored yet.

    Returns (filings seen, filings stored, problems): a problem is an older page the source did not serve
    (404), retried by the next run. The issuer's name and tickers are filled from EDGAR when blank (an
    analyst's edits are kept), and ``last_collected_at`` set. Raises: SecError, SecUnavailable (nothing of
    a page that failed is stored)."""
    submissions = client.submissions(issuer.cik)
    seen = len(submissions.filings)
    written = filings_store(issuer=issuer, filings=submissions.filings, source=FilingSource.SUBMISSIONS)
    problems = []
    loaded = list(issuer.older_pages_loaded)
    for page in submissions.older_pages:
        if page.name in loaded:
            continue
        filings = client.older_page(issuer.cik, page.name)
        if filings is None:
            problems.append(f"CIK {issuer.cik}: older page {page.name} not served (404)")
            continue
        seen += len(filings)
        with transaction.atomic():
            written += filings_store(issuer=issuer, filings=filings, source=FilingSource.SUBMISSIONS)
            loaded.append(page.name)
            SecIssuer.objects.filter(pk=issuer.pk).update(older_pages_loaded=loaded)
    updates: dict[str, object] = {"last_collected_at": timezone.now()}
    if not issuer.name.strip() and submissions.name:
        updates["name"] = submissions.name[:200]
    if not issuer.tickers.strip() and submissions.tickers:
        updates["tickers"] = ",".join(submissions.tickers)[:200]
    SecIssuer.objects.filter(pk=issuer.pk).update(**updates)
    return seen, written, problems


def submissions_collect(*, cik: int | None = None, data_url: str | None = None,
                        progress: Callable[[IssuerProgress], None] | None = None) -> CollectorResult:
    """Registry entry point of ``sec``: every active issuer (or only ``cik``), logged in the run log.

    Status: ok when every issuer and page was read; partial when some failed (SecError: logged, the next
    issuer goes on) or an older page was not served, or when the source became unavailable after some
    issuers; failed when none could be read. A SecUnavailable stops the run (``failure`` set: the task
    retries). Raises: InvalidParameter for a ``cik`` that is not a followed issuer (nothing ran).
    """
    issuers = SecIssuer.objects.filter(is_active=True).order_by("id")
    if cik is not None:
        issuers = SecIssuer.objects.filter(cik=cik)
        if not issuers.exists():
            raise InvalidParameter(f"CIK {cik} is not an issuer WhaleTrack follows; add it in the admin first")
    targets = list(issuers)
    run = collector_run_start(collector=COLLECTOR_NAME)
    try:
        client = SecClient.from_settings(data_url=data_url)
    except Misconfigured as exc:
        collector_run_finish(run=run, status=RunStatus.FAILED, error=str(exc))
        return CollectorResult(collector=COLLECTOR_NAME, status=RunStatus.FAILED, error=str(exc), failure=exc)
    seen = written = failed = 0
    errors: list[str] = []
    problems: list[str] = []
    failure: BaseException | None = None
    try:
        for done, issuer in enumerate(targets, start=1):
            try:
                issuer_seen, issuer_written, issuer_problems = issuer_collect(client=client, issuer=issuer)
            except SecUnavailable as exc:
                failure = exc
                errors.append(f"{type(exc).__name__}: {exc}")
                break
            except SecError as exc:
                failed += 1
                errors.append(f"{type(exc).__name__}: {exc}")
                logger.warning("sec.issuer.failed", extra={"cik": issuer.cik, "error": str(exc)[:200]})
                status = f"error: {exc}"
            else:
                seen += issuer_seen
                written += issuer_written
                problems += issuer_problems
                status = f"ok, {issuer_seen} filings listed, {issuer_written} new"
                if issuer_problems:
                    status += f" ({len(issuer_problems)} older page(s) not served)"
            if progress is not None:
                progress(IssuerProgress(issuer=str(issuer), done=done, total=len(targets), status=status,
                                        filings_written=written))
    finally:
        client.close()
    read = len(targets) - failed - (1 if failure is not None else 0)
    if (failure is not None and read <= 0) or (targets and failed == len(targets)):
        status = RunStatus.FAILED
    elif errors or problems or failure is not None:
        status = RunStatus.PARTIAL
    else:
        status = RunStatus.OK
    error = "; ".join(errors + problems)
    run.items_seen, run.items_written = seen, written
    extra = {"issuers": len(targets), "issuers_failed": failed, "older_pages_missing": len(problems),
             "requests": client.requests_made}
    collector_run_finish(run=run, status=status, error=error, details=extra)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=seen, items_written=written,
                           error=error, extra=extra, failure=failure)


def _feed_filing(entry: FeedEntry) -> Filing:
    return Filing(cik=entry.cik, accession_number=entry.accession_number, form=entry.form, filed_on=entry.filed_on,
                  accepted_at=entry.updated, report_period=None, primary_document="", primary_document_description="",
                  items="", size_bytes=0)


def feed_collect(*, www_url: str | None = None, max_pages: int | None = None) -> CollectorResult:
    """Registry entry point of ``sec_feed``: page the latest-filings feed and store the filings of the active
    issuers (any party role) whose form is in SEC_FORMS; logged in the run log.

    Paging (``FEED_PAGE_SIZE`` entries a page) stops at: EDGAR's 503 past the feed's end (``end: past the
    end``, not an error), a short page, a page reaching entries older than the cursor (what the previous run
    saw), or ``max_pages`` (default SEC_FEED_MAX_PAGES, 1 to MAX_FEED_PAGES). The filings and the cursor (the
    newest entry time, epoch seconds) are written in one transaction. ``extra``: pages, entries, the reason
    paging ended, the followed issuers' entries. Raises: InvalidParameter for ``max_pages`` out of range. A
    503 on the first page is SecUnavailable (returned as ``failure``: the task retries).
    """
    pages_limit = settings.SEC_FEED_MAX_PAGES if max_pages is None else max_pages
    if not 1 <= pages_limit <= MAX_FEED_PAGES:
        raise InvalidParameter(f"max_pages must be 1 to {MAX_FEED_PAGES}, not {pages_limit}")
    cursor = cursor_get_or_create(stream=FEED_STREAM, start=0)
    run = collector_run_start(collector=FEED_COLLECTOR_NAME, from_position=cursor.position)
    try:
        client = SecClient.from_settings(www_url=www_url)
    except Misconfigured as exc:
        collector_run_finish(run=run, status=RunStatus.FAILED, error=str(exc))
        return CollectorResult(collector=FEED_COLLECTOR_NAME, status=RunStatus.FAILED, error=str(exc), failure=exc)
    issuers = {issuer.cik: issuer for issuer in SecIssuer.objects.filter(is_active=True)}
    forms = frozenset(settings.SEC_FORMS)
    found: dict[int, list[Filing]] = {}
    pages = entries_seen = matched = 0
    newest = cursor.position
    ended = f"max pages ({pages_limit})"
    try:
        start = 0
        while pages < pages_limit:
            entries = client.latest_filings(start=start)
            if entries is None:
                if pages == 0:
                    raise SecUnavailable("the latest-filings feed answered 503 on its first page")
                ended = "past the end (503)"
                break
            pages += 1
            entries_seen += len(entries)
            for entry in entries:
                newest = max(newest, int(entry.updated.timestamp()))
                if entry.cik in issuers and entry.form in forms:
                    matched += 1
                    found.setdefault(entry.cik, []).append(_feed_filing(entry))
            if len(entries) < FEED_PAGE_SIZE:
                ended = "last page"
                break
            if min(int(entry.updated.timestamp()) for entry in entries) < cursor.position:
                ended = "reached the previous run's entries"
                break
            start += FEED_PAGE_SIZE
    except (SecUnavailable, SecError) as exc:
        client.close()
        error = f"{type(exc).__name__}: {exc}"
        collector_run_finish(run=run, status=RunStatus.FAILED, error=error)
        return CollectorResult(collector=FEED_COLLECTOR_NAME, status=RunStatus.FAILED, error=error, failure=exc,
                               items_seen=entries_seen)
    client.close()
    written = 0
    with transaction.atomic():
        for cik, filings in found.items():
            written += filings_store(issuer=issuers[cik], filings=filings, source=FilingSource.FEED, forms=forms)
        if newest != cursor.position and not cursor_advance(stream=FEED_STREAM, expected=cursor.position,
                                                            position=newest, position_hash=""):
            logger.info("sec.feed.cursor_moved_by_another_run", extra={"expected": cursor.position})
    extra = {"pages": pages, "entries": entries_seen, "ended": ended, "followed_issuer_entries": matched,
             "newest_entry_at": datetime.fromtimestamp(newest, tz=UTC).isoformat() if newest else None,
             "requests": client.requests_made}
    run.items_seen, run.items_written = entries_seen, written
    collector_run_finish(run=run, status=RunStatus.OK, to_position=newest, details=extra)
    return CollectorResult(collector=FEED_COLLECTOR_NAME, status=RunStatus.OK, items_seen=entries_seen,
                           items_written=written, extra=extra)
