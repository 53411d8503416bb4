"""The SEC data-quality check (``ledgers.quality``): every stored filing is a catalyst of its issuer's coins."""

from django.db.models import CharField, Count, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat

from ledgers.catalyst.sec.models import SecFiling
from ledgers.catalyst.sec.services import CATALYST_SOURCE
from ledgers.models import QualitySeverity
from ledgers.quality import EXAMPLES, CheckOutcome, QualityCheck, quality_check_register
from ledgers.registry import Ledger
from whales.models import CatalystEvent


def check_filing_catalyst() -> CheckOutcome:
    """Stored filings with no catalyst (source "sec", source_ref "CIK:ACCESSION"): a filing the wallet pages
    and the catalyst API would never show. One scan of the filings, an index probe each."""
    ref = Concat(Cast("issuer__cik", CharField()), Value(":"), "accession_number", output_field=CharField())
    filings = SecFiling.objects.annotate(ref=ref, has_catalyst=Exists(CatalystEvent.objects.filter(
        source=CATALYST_SOURCE, source_ref=OuterRef("ref"))))
    missing = Q(has_catalyst=False)
    counts = filings.aggregate(checked=Count("id"), failed=Count("id", filter=missing))
    examples = ([str(r) for r in filings.filter(missing).order_by("id").values_list("accession_number", flat=True)
                 [:EXAMPLES]] if counts["failed"] else [])
    return CheckOutcome(counts["checked"], counts["failed"], examples)


def register() -> None:
    """Register ``check_filing_catalyst``."""
    quality_check_register(QualityCheck(
        "sec_filing_catalyst", Ledger.CATALYST, QualitySeverity.MEDIUM,
        "SEC filings stored without their catalyst",
        "Run manage.py collect sec again (it writes the missing catalysts); the examples are accession numbers.",
        check_filing_catalyst))
