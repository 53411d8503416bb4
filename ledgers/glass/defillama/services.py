"""Writes of the ``defillama`` collector: today's stablecoin supply and protocol TVL snapshots, and a catalyst of
the coin when a stablecoin's supply moved by STABLECOIN_SUPPLY_CHANGE_PERCENT or more in a week.

Idempotent: a snapshot is unique per (symbol or protocol, UTC day) and a second run that day updates it; the
catalyst is unique per (symbol, day) (``whales.context``).
"""

import logging
from datetime import UTC, datetime, time

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledgers.glass.defillama.activity import supply_change_percent
from ledgers.glass.defillama.client import DefiLlamaClient, DefiLlamaError, DefiLlamaUnavailable
from ledgers.glass.defillama.models import ProtocolSnapshot, StablecoinSnapshot
from ledgers.glass.defillama.types import ProtocolTvl, StablecoinSupply
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.context import CatalystItem, catalysts_upsert
from whales.models import CatalystType, RunStatus
from whales.money import q_usd

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "defillama"
SUPPLY_CHANGE_IMPACT = 50


def stablecoins_store(*, supplies: list[StablecoinSupply], day: datetime) -> tuple[int, int]:
    """Upsert the day's snapshots; a catalyst for each week-over-week change of at least
    STABLECOIN_SUPPLY_CHANGE_PERCENT (either way). Returns (snapshots, catalysts new). One transaction."""
    threshold = settings.STABLECOIN_SUPPLY_CHANGE_PERCENT
    items = []
    with transaction.atomic():
        for supply in supplies:
            StablecoinSnapshot.objects.update_or_create(symbol=supply.symbol, day=day.date(), defaults={
                "circulating_usd": q_usd(supply.circulating_usd),
                "prev_week_usd": q_usd(supply.prev_week_usd) if supply.prev_week_usd is not None else None,
                "prev_month_usd": q_usd(supply.prev_month_usd) if supply.prev_month_usd is not None else None})
            change = supply_change_percent(supply.circulating_usd, supply.prev_week_usd)
            if change is not None and abs(change) >= threshold:
                items.append(CatalystItem(
                    source_ref=f"{supply.symbol}:{day.date().isoformat()}", type=CatalystType.STABLECOIN_SUPPLY,
                    title=(f"{supply.symbol} supply {change:+.2f}% in a week, "
                           f"to {q_usd(supply.circulating_usd):,.0f} USD"),
                    url="https://defillama.com/stablecoins", occurred_at=day, impact_score=SUPPLY_CHANGE_IMPACT,
                    coins=[supply.symbol], details={"change_week_percent": str(change),
                                                     "circulating_usd": str(q_usd(supply.circulating_usd))}))
        new = catalysts_upsert(source=COLLECTOR_NAME, items=items)
    return len(supplies), new


def protocols_store(*, protocols: list[ProtocolTvl], day: datetime) -> int:
    """Upsert the day's TVL of the DEFILLAMA_TOP_PROTOCOLS largest protocols; return how many. One transaction."""
    top = sorted(protocols, key=lambda p: p.tvl_usd, reverse=True)[: settings.DEFILLAMA_TOP_PROTOCOLS]
    with transaction.atomic():
        for protocol in top:
            ProtocolSnapshot.objects.update_or_create(slug=protocol.slug, day=day.date(), defaults={
                "name": protocol.name, "category": protocol.category, "chains": ",".join(protocol.chains)[:500],
                "tvl_usd": q_usd(protocol.tvl_usd)})
    return len(top)


def defillama_collect(*, api_url: str | None = None, stablecoins_url: str | None = None) -> CollectorResult:
    """Registry entry point: stablecoins, then protocols, logged in the run log. Status ok when both were read,
    partial when one failed (DefiLlamaError or DefiLlamaUnavailable: its error kept), failed when both failed
    (``failure`` the last DefiLlamaUnavailable, if any: the task retries). ``extra``: stablecoins, protocols,
    supply_catalysts."""
    run = collector_run_start(collector=COLLECTOR_NAME)
    client = DefiLlamaClient.from_settings(api_url, stablecoins_url)
    day = datetime.combine(timezone.now().astimezone(UTC).date(), time.min, tzinfo=UTC)
    errors: list[str] = []
    failure: BaseException | None = None
    extra = {"stablecoins": 0, "protocols": 0, "supply_catalysts": 0}
    try:
        for part in ("stablecoins", "protocols"):
            try:
                if part == "stablecoins":
                    extra["stablecoins"], extra["supply_catalysts"] = stablecoins_store(
                        supplies=client.stablecoins(), day=day)
                else:
                    extra["protocols"] = protocols_store(protocols=client.protocols(), day=day)
            except (DefiLlamaError, DefiLlamaUnavailable) as exc:
                errors.append(f"{part}: {type(exc).__name__}: {exc}")
                if isinstance(exc, DefiLlamaUnavailable):
                    failure = exc
    finally:
        client.close()
    status = RunStatus.FAILED if len(errors) == 2 else RunStatus.PARTIAL if errors else RunStatus.OK
    if status != RunStatus.FAILED:
        failure = None
    error = "; ".join(errors)
    written = extra["stablecoins"] + extra["protocols"]
    run.items_seen = run.items_written = written
    collector_run_finish(run=run, status=status, error=error, details=extra)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=written, items_written=written,
                           events_written=extra["supply_catalysts"], error=error, extra=extra, failure=failure)
