"""Registers the SEC EDGAR collectors (imported by SecConfig.ready)."""

from ledgers.catalyst.sec.services import COLLECTOR_NAME, FEED_COLLECTOR_NAME, feed_collect, submissions_collect
from ledgers.registry import Collector, CollectorOption, Ledger, collector_register, positive_int

collector_register(Collector(
    name=COLLECTOR_NAME,
    ledger=Ledger.CATALYST,
    run=submissions_collect,
    task="sec.collect_submissions",
    description="SEC EDGAR submissions of the followed issuers (data.sec.gov) -> filings of the forms in SEC_FORMS",
    stale_after_s=2 * 86_400,
    reports_progress=True,
    options=(
        CollectorOption("--cik", "cik", positive_int, "only this followed issuer (EDGAR CIK)"),
        CollectorOption("--data-url", "data_url", str, "submissions host instead of SEC_DATA_URL"),
    ),
))
collector_register(Collector(
    name=FEED_COLLECTOR_NAME,
    ledger=Ledger.CATALYST,
    run=feed_collect,
    task="sec.collect_feed",
    description="SEC EDGAR latest-filings Atom feed -> new filings of the followed issuers between daily runs",
    stale_after_s=3600,
    options=(
        CollectorOption("--max-pages", "max_pages", positive_int, "pages of 100 entries at most (SEC_FEED_MAX_PAGES)"),
        CollectorOption("--www-url", "www_url", str, "feed host instead of SEC_WWW_URL"),
    ),
))
