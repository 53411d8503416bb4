"""The Bitcoin address collector: each tracked whale address's new transactions -> Trades, Holdings.

Per address (cursor ``bitcoin.address:<address>``: position = block number of the newest confirmed
transaction stored, position_hash = its tx_hash):

1. ``GET /address/:addr/txs`` (unconfirmed first, then the newest confirmed), then
   ``/txs/chain/:last_seen_txid`` pages until a page reaches the cursor's block (transactions in
   the cursor's own block are read again: several can share a block, and storing is idempotent).
   The first sync of an address (no cursor yet) reads at most BITCOIN_MAX_PAGES_PER_ADDRESS pages:
   older history is not backfilled.
2. Every transaction becomes activities (``ledgers.glass.bitcoin.activity``); unconfirmed ones are stored
   without a block and filled in when they confirm; a stored unconfirmed transaction the source no
   longer knows (replaced or dropped) is withdrawn with its events.
3. The Holding (BTC balance incl. unconfirmed, from ``GET /address/:addr``) valued at the latest
   BTC price.

All writes of one address happen in ONE transaction together with the cursor's compare-and-set, so
a run killed at any point leaves whole addresses only, and a run racing another stores each
address once (the loser's compare-and-set fails and it skips the address). Network I/O happens
before the transaction.
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from alerts.services import events_publish
from ledgers.exchange.market.selectors import PriceBook, asset_map, latest_price
from ledgers.glass.bitcoin.activity import AddressContext, sat_to_btc, tx_activities
from ledgers.glass.bitcoin.client import AddressNotFound, EsploraClient, EsploraError, EsploraUnavailable
from ledgers.glass.bitcoin.types import BitcoinTx
from ledgers.models import SyncCursor
from ledgers.refs import WhaleRef, counterparty_refs, whale_refs_least_recently_synced
from ledgers.registry import CollectorResult, WalletProgress
from ledgers.runlog import collector_run_finish, collector_run_start, cursor_advance, cursor_get_or_create
from whales.chains import Chain
from whales.errors import InvalidParameter
from whales.models import RunStatus, Trade, Whale
from whales.money import q_usd
from whales.services import holdings_set, trades_confirm, trades_ingest, trades_withdraw_unconfirmed
from whales.types import HoldingValue

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "bitcoin"


def address_stream(address: str) -> str:
    """The SyncCursor stream name of a Bitcoin address."""
    return f"bitcoin.address:{address}"


@dataclass(frozen=True)
class AddressResult:
    """What one address's sync did."""

    txs_seen: int
    trades_written: int
    events_written: int
    confirmed: int
    withdrawn: int
    balance_sat: int
    stored: bool  # False when another run moved the cursor first


def _history_fetch(client: EsploraClient, address: str, since_block_number: int,
                   first_sync: bool) -> list[BitcoinTx]:
    """The address's unconfirmed txs and its confirmed ones at or above block ``since_block_number``."""
    page = client.address_txs(address)
    txs = list(page)
    pages = 1
    while True:
        confirmed = [tx for tx in page if tx.status.confirmed]
        if not confirmed or confirmed[-1].status.confirmed_block_number < since_block_number:
            break
        if first_sync and pages >= settings.BITCOIN_MAX_PAGES_PER_ADDRESS:
            break
        page = client.address_txs_chain(address, confirmed[-1].tx_hash)
        pages += 1
        txs.extend(page)
    seen: set[str] = set()
    unique = []
    for tx in txs:
        in_range = not tx.status.confirmed or tx.status.confirmed_block_number >= since_block_number
        if tx.tx_hash not in seen and in_range:
            seen.add(tx.tx_hash)
            unique.append(tx)
    return unique


def address_collect(*, client: EsploraClient, whale: WhaleRef) -> AddressResult:
    """Sync one tracked address (module docstring). Raises: EsploraUnavailable, EsploraError
    (AddressNotFound included); nothing is written for the address then."""
    stream = address_stream(whale.address)
    # The cursor is created with the address's first stored sync (its updated_at = last sync time).
    cursor = SyncCursor.objects.filter(stream=stream).first()
    expected = cursor.position if cursor else 0
    cursor_hash = cursor.position_hash if cursor else ""
    first_sync = not cursor_hash
    stats = client.address_stats(whale.address)
    txs = _history_fetch(client, whale.address, expected, first_sync)
    now = timezone.now()
    pending_ids = {tx.tx_hash for tx in txs if not tx.status.confirmed}
    confirmed_txs = [tx for tx in txs if tx.status.confirmed]

    # Unconfirmed trades stored earlier and not pending any more: confirmed since, or gone.
    stale = set(Trade.objects.filter(chain=Chain.BITCOIN, whale_id=whale.id, block_number__isnull=True)
                .exclude(tx_hash__in=pending_ids).values_list("tx_hash", flat=True))
    listed = {tx.tx_hash: tx for tx in confirmed_txs}
    resolved = {tx_hash: (listed[tx_hash].status if tx_hash in listed else client.tx_status(tx_hash))
                for tx_hash in sorted(stale)}

    btc = asset_map(chain=Chain.BITCOIN).get("")
    times = [tx.status.block_time for tx in confirmed_txs if tx.status.block_time] + [now]
    prices = PriceBook.load(assets=[btc], start=min(times), end=max(times)) if btc else None
    addresses = {i.address for tx in txs for i in tx.inputs if i.address}
    addresses |= {o.address for tx in txs for o in tx.outputs if o.address}
    known = counterparty_refs(chain=Chain.BITCOIN, addresses=addresses, with_whale_entities=True)
    ctx = AddressContext(whale=whale, known=known, btc=btc, prices=prices)
    activities = [a for tx in reversed(txs) for a in tx_activities(tx, ctx, seen_at=now)]

    newest = max(confirmed_txs, key=lambda tx: tx.status.confirmed_block_number, default=None)
    position = max(expected, newest.status.confirmed_block_number) if newest else expected
    position_hash = newest.tx_hash if newest and newest.status.confirmed_block_number >= expected else cursor_hash
    balance_sat = stats.balance_sat
    holding_value = None
    if btc is not None and (latest := latest_price(asset=btc)) is not None:
        holding_value = q_usd(sat_to_btc(balance_sat) * latest[0])

    confirmed = withdrawn = 0
    with transaction.atomic():
        cursor_get_or_create(stream=stream, start=0)
        if not cursor_advance(stream=stream, expected=expected, position=position, position_hash=position_hash or ""):
            return AddressResult(len(txs), 0, 0, 0, 0, balance_sat, stored=False)
        stored = trades_ingest(activities=activities)
        events_publish(event_ids=stored.event_ids)  # sent once this address's transaction commits
        for tx_hash, status in resolved.items():
            if status is not None and status.confirmed:
                confirmed += trades_confirm(chain=Chain.BITCOIN, tx_hash=tx_hash,
                                            block_number=status.confirmed_block_number,
                                            block_hash=status.block_hash, block_time=status.block_time or now)
            elif status is None:
                withdrawn += trades_withdraw_unconfirmed(chain=Chain.BITCOIN, tx_hash=tx_hash, whale_id=whale.id)
        for tx in confirmed_txs:  # stored unconfirmed by an earlier run, listed confirmed now
            confirmed += trades_confirm(chain=Chain.BITCOIN, tx_hash=tx.tx_hash,
                                        block_number=tx.status.confirmed_block_number,
                                        block_hash=tx.status.block_hash, block_time=tx.status.block_time or now)
        holdings_set(whale_id=whale.id, holdings=[HoldingValue("BTC", sat_to_btc(balance_sat), holding_value,
                                                                decimals=8)])
    return AddressResult(len(txs), len(stored.trades), len(stored.event_ids), confirmed, withdrawn, balance_sat,
                         stored=True)


def addresses_collect(
    *,
    client: EsploraClient,
    addresses: Iterable[str] | None = None,
    progress: Callable[[WalletProgress], None] | None = None,
) -> CollectorResult:
    """Sync every tracked Bitcoin whale (or those at ``addresses``); return what the run did.

    Source: ``client`` (Esplora REST). A failing address (unknown to the source, malformed answer)
    is logged and skipped; the run is then ``partial``. When the source becomes unavailable (or the
    request budget is spent) the run stops there: addresses already synced stay stored and the next
    run carries on. Raises: nothing; failures are in the result and the run log.
    """
    run = collector_run_start(collector=COLLECTOR_NAME)
    whales = whale_refs_least_recently_synced(chain=Chain.BITCOIN, addresses=addresses, stream_of=address_stream)
    seen = written = events = done = failed = not_found = 0
    errors: list[str] = []
    status = RunStatus.OK
    stopped_by: EsploraUnavailable | None = None
    for whale in whales:
        try:
            result = address_collect(client=client, whale=whale)
        except AddressNotFound:
            not_found += 1
            line = "not found"
        except EsploraUnavailable as exc:
            errors.append(f"{whale.address}: {exc}")
            status = RunStatus.FAILED if done == 0 else RunStatus.PARTIAL
            stopped_by = exc
            break
        except EsploraError as exc:
            failed += 1
            errors.append(f"{whale.address}: {exc}")
            logger.warning("bitcoin.address.failed", extra={"address": whale.address, "error": str(exc)})
            line = f"error: {exc}"
        else:
            seen += result.txs_seen
            written += result.trades_written
            events += result.events_written
            line = "ok" if result.stored else "skipped (another run stored it first)"
        done += 1
        if progress is not None:
            progress(WalletProgress(whale.address, done, len(whales), seen, written, events, line))
    if status == RunStatus.OK and (failed or not_found):
        status = RunStatus.PARTIAL if done > failed + not_found else RunStatus.FAILED
    error = "; ".join(errors)[:1000]
    if not_found:
        error = (f"{not_found} address(es) unknown to the source; " + error).strip("; ")
    run.blocks = 0
    run.items_seen = seen
    run.items_written = written
    run.events_written = events
    collector_run_finish(run=run, status=status, error=error)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=seen, items_written=written,
                           events_written=events, error=error, failure=stopped_by if done == 0 else None,
                           extra={"addresses": len(whales), "addresses_done": done, "not_found": not_found,
                                  "failed": failed, "requests": client.requests_made})


def collect_once(
    *,
    api_url: str | None = None,
    address: str | None = None,
    budget_rate: str | None = None,
    progress: Callable[[WalletProgress], None] | None = None,
) -> CollectorResult:
    """Registry entry point: one ``addresses_collect`` run on ``api_url`` (default BITCOIN_API_URL), with the
    request budget ``budget_rate`` (default BITCOIN_API_BUDGET); ``address`` restricts it to one tracked
    address. Raises: InvalidParameter when that address is not a tracked whale (nothing ran)."""
    if address is not None and not Whale.objects.filter(chain=Chain.BITCOIN, address=address,
                                                        is_tracked=True).exists():
        raise InvalidParameter(f"{address} is not a tracked Bitcoin whale (add it in the admin or import_whales)")
    client = EsploraClient.from_settings(api_url, budget_rate=budget_rate)
    try:
        return addresses_collect(client=client, addresses=[address] if address else None, progress=progress)
    finally:
        client.close()
