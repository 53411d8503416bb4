"""The exchange ledger's data-quality probe and check (``ledgers.quality``): prices exist, and each price sits
within bounds of its neighbours."""

from django.db import connection

from ledgers.exchange.market.models import PriceHistory
from ledgers.models import QualitySeverity
from ledgers.quality import (
    EXAMPLES,
    CheckOutcome,
    DataProbe,
    QualityCheck,
    quality_check_register,
    quality_probe_register,
)
from ledgers.registry import Ledger

NEIGHBOUR_FACTOR = 2  # a price more than 2x, or under half, of both its neighbours is a spike


def check_price_neighbours() -> CheckOutcome:
    """Prices (PriceHistory rows) that are not positive, or spike against both neighbours of the same asset in
    time: above NEIGHBOUR_FACTOR x both, or below both / NEIGHBOUR_FACTOR. The first and last price of an
    asset have one neighbour and are checked for sign only. One scan with LAG/LEAD windows."""
    table = PriceHistory._meta.db_table
    factor = NEIGHBOUR_FACTOR
    flagged = f"""
        SELECT id, price_usd <= 0 OR (prev > 0 AND next > 0 AND (
            (price_usd > {factor} * prev AND price_usd > {factor} * next)
            OR (price_usd * {factor} < prev AND price_usd * {factor} < next))) AS bad
        FROM (SELECT id, price_usd, LAG(price_usd) OVER w AS prev, LEAD(price_usd) OVER w AS next
              FROM "{table}" WINDOW w AS (PARTITION BY asset_id ORDER BY timestamp, id)) AS neighbours"""  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*), count(*) FILTER (WHERE bad) FROM ({flagged}) AS f")  # noqa: S608
        checked, failed = cursor.fetchone()
        examples: list[str] = []
        if failed:
            cursor.execute(f"SELECT id FROM ({flagged}) AS f WHERE bad ORDER BY id LIMIT {EXAMPLES}")  # noqa: S608
            examples = [str(row[0]) for row in cursor.fetchall()]
    return CheckOutcome(int(checked), int(failed or 0), examples)


def register() -> None:
    """Register the probe (prices stored) and the check (``check_price_neighbours``)."""
    quality_probe_register(DataProbe("exchange.prices", Ledger.EXCHANGE, "prices", PriceHistory.objects.exists))
    quality_check_register(QualityCheck(
        "price_neighbours", Ledger.EXCHANGE, QualitySeverity.MEDIUM,
        "prices not positive, or over 2x / under half of both neighbours",
        "Compare those prices (examples: price ids) with the source and delete the bad rows in the admin.",
        check_price_neighbours))
