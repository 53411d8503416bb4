"""The Hyperliquid collector: each tracked Hyperliquid whale's positions, fills and ledger updates.

Per whale (address = its Hyperliquid account, the same address as on Arbitrum/Ethereum):
1. ``clearinghouseState`` -> perp positions as Holdings (signed size, entry price, position value,
   unrealized P&L, return on equity, leverage, liquidation price and distance) + the account value.
2. ``userFillsByTime`` from the whale's time cursor (SyncCursor ``hyperliquid.fills:<address>``,
   position = time in ms of the newest fill stored) to now, paged by time (at most 2,000 fills per
   answer: the next page starts at the newest time seen; fills at that instant are read again and
   not stored twice; ``HyperliquidClient.user_fills_since``) -> Trades
   (``ledgers.glass.hyperliquid.activity``), ``perp_trade`` events above the threshold.
3. ``userNonFundingLedgerUpdates`` from its own cursor (``hyperliquid.ledger:<address>``) ->
   deposit / withdraw Trades.

When the positions cannot be read (an error answer) the fills and ledger are still stored, the
stored positions are left as they were, and the run is ``partial``.

Each whale is stored in ONE transaction with both cursors' compare-and-set, so a run killed at any
point leaves whole whales only and the next run continues; the Info API calls happen before it and
spend the weight budget (``HyperliquidClient``, which decodes every answer into ``types.py`` dataclasses).
A bad fill or update (a ``BadRecord`` the client set aside) is logged and skipped.
"""

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from alerts.services import events_publish
from ledgers.glass.hyperliquid.activity import fill_activities, ledger_activity, position_liquidation_distance_percent
from ledgers.glass.hyperliquid.client import HyperliquidClient, HyperliquidError, HyperliquidUnavailable
from ledgers.glass.hyperliquid.types import BadRecord, Position
from ledgers.models import SyncCursor
from ledgers.refs import WhaleRef, whale_refs_least_recently_synced
from ledgers.registry import CollectorResult, WalletProgress
from ledgers.runlog import collector_run_finish, collector_run_start, cursor_advance, cursor_get_or_create
from whales.chains import Chain
from whales.errors import InvalidParameter
from whales.models import RunStatus, Whale
from whales.services import PerpPosition, perp_positions_set, trades_ingest

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "hyperliquid"
MAX_FILL_PAGES = 10  # 20,000 fills per whale and run at most (the API keeps the newest 10,000 anyway)


def fills_stream(address: str) -> str:
    """The SyncCursor stream of an account's fills (position: the newest fill time seen, epoch ms)."""
    return f"hyperliquid.fills:{address}"


def ledger_stream(address: str) -> str:
    """The SyncCursor stream of an account's non-funding ledger updates (position: newest time, epoch ms)."""
    return f"hyperliquid.ledger:{address}"


@dataclass(frozen=True)
class WhaleSyncResult:
    """What one account's sync did: records seen (fills, ledger updates, open positions), bad records
    skipped, trades and events written, whether this run stored them (False: another run moved the
    cursors first), and why the positions could not be read ("" = read)."""

    fills: int
    ledger_updates: int
    positions: int
    skipped: int
    trades_written: int
    events_written: int
    stored: bool
    positions_error: str = ""  # why the positions could not be read ("" = read)


def _skipped(bad: Sequence[BadRecord], whale: WhaleRef, what: str) -> int:
    """Log the records the client could not decode; return how many."""
    for exc in bad:
        logger.warning("hyperliquid.record.skipped", extra={"what": what, "whale": whale.address, "error": str(exc)})
    return len(bad)


def whale_collect(*, client: HyperliquidClient, whale: WhaleRef, now_ms: int | None = None) -> WhaleSyncResult:
    """Sync one Hyperliquid whale (module docstring). Raises: HyperliquidUnavailable, HyperliquidError
    (fills or ledger unreadable); nothing is written for the whale then. A clearinghouseState that cannot be
    read (HyperliquidError, BadRecord) only leaves the positions as they were (``positions_error``)."""
    now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
    fills_cursor = SyncCursor.objects.filter(stream=fills_stream(whale.address)).first()
    ledger_cursor = SyncCursor.objects.filter(stream=ledger_stream(whale.address)).first()
    fills_since = fills_cursor.position if fills_cursor else 0
    ledger_since = ledger_cursor.position if ledger_cursor else 0

    try:
        state = client.clearinghouse_state(whale.address)
    except (HyperliquidError, BadRecord) as exc:  # fills and ledger are still worth storing
        logger.warning("hyperliquid.positions.unavailable", extra={"whale": whale.address, "error": str(exc)})
        positions: tuple[Position, ...] = ()
        account_value, positions_error = None, str(exc)
    else:
        positions, account_value, positions_error = state.positions, state.account_value_usd, ""
    fills = client.user_fills_since(whale.address, fills_since, now_ms, max_pages=MAX_FILL_PAGES)
    updates = client.user_non_funding_ledger_updates(whale.address, ledger_since, now_ms)

    fill_acts = [activity for fill in fills.items for activity in fill_activities(fill, whale)]
    ledger_acts = [activity for update in updates.items
                   if (activity := ledger_activity(update, whale)) is not None]
    skipped = _skipped(fills.bad, whale, "fill") + _skipped(updates.bad, whale, "ledger update")
    newest_fill = fills_since if fills.newest_time_ms is None else fills.newest_time_ms
    newest_update = ledger_since if updates.newest_time_ms is None else updates.newest_time_ms
    with transaction.atomic():
        cursor_get_or_create(stream=fills_stream(whale.address), start=0)
        cursor_get_or_create(stream=ledger_stream(whale.address), start=0)
        if not (cursor_advance(stream=fills_stream(whale.address), expected=fills_since,
                               position=max(newest_fill, fills_since), position_hash="")
                and cursor_advance(stream=ledger_stream(whale.address), expected=ledger_since,
                                   position=max(newest_update, ledger_since), position_hash="")):
            transaction.set_rollback(True)
            return WhaleSyncResult(fills.count, updates.count, len(positions), 0, 0, 0, stored=False)
        stored = trades_ingest(activities=fill_acts + ledger_acts)
        events_publish(event_ids=stored.event_ids)  # sent once this whale's transaction commits
        if account_value is not None:
            _positions_store(whale, positions, account_value)
    return WhaleSyncResult(fills.count, updates.count, len(positions), skipped,
                           len(stored.trades), len(stored.event_ids), stored=True, positions_error=positions_error)


def _positions_store(whale: WhaleRef, positions: Sequence[Position], account_value: Decimal) -> None:
    perp_positions_set(whale_id=whale.id, account_value_usd=account_value, positions=[
            PerpPosition(asset=p.symbol, size=p.size, position_value_usd=p.position_value_usd,
                         entry_price_usd=p.entry_price_usd, unrealized_pnl_usd=p.unrealized_pnl_usd,
                         return_on_equity=p.return_on_equity, leverage_type=p.leverage_type, leverage=p.leverage,
                         liquidation_price_usd=p.liquidation_price_usd,
                         liquidation_distance_percent=position_liquidation_distance_percent(p),
                         margin_used_usd=p.margin_used_usd)
            for p in positions])


def whales_collect(
    *,
    client: HyperliquidClient,
    addresses: Iterable[str] | None = None,
    now_ms: int | None = None,
    progress: Callable[[WalletProgress], None] | None = None,
) -> CollectorResult:
    """Sync every tracked Hyperliquid whale (or those at ``addresses``); return what the run did.

    A whale whose data is unusable is logged and skipped (run ``partial``); when the API becomes
    unavailable or the weight budget is spent the run stops there (whales already synced stay
    stored; least recently synced go first next time). Raises: nothing.
    """
    run = collector_run_start(collector=COLLECTOR_NAME)
    whales = whale_refs_least_recently_synced(
        chain=Chain.HYPERLIQUID, addresses=None if addresses is None else [a.lower() for a in addresses],
        stream_of=fills_stream)
    seen = written = events = done = failed = partial = 0
    errors: list[str] = []
    status = RunStatus.OK
    stopped_by: HyperliquidUnavailable | None = None
    for whale in whales:
        try:
            result = whale_collect(client=client, whale=whale, now_ms=now_ms)
        except HyperliquidUnavailable as exc:
            errors.append(f"{whale.address}: {exc}")
            status = RunStatus.FAILED if done == 0 else RunStatus.PARTIAL
            stopped_by = exc
            break
        except (HyperliquidError, BadRecord) as exc:
            failed += 1
            errors.append(f"{whale.address}: {exc}")
            logger.warning("hyperliquid.whale.failed", extra={"address": whale.address, "error": str(exc)})
            line = f"error: {exc}"
        else:
            seen += result.fills + result.ledger_updates
            written += result.trades_written
            events += result.events_written
            line = (f"ok: {result.positions} positions, {result.fills} fills, {result.ledger_updates} ledger updates"
                    + (f", {result.skipped} bad records skipped" if result.skipped else ""))
            if result.positions_error:
                partial += 1
                errors.append(f"{whale.address}: positions unavailable: {result.positions_error}")
                line = f"{line}; positions unavailable ({result.positions_error[:80]})"
        done += 1
        if progress is not None:
            progress(WalletProgress(whale.address, done, len(whales), seen, written, events, line))
    if status == RunStatus.OK and (failed or partial):
        status = RunStatus.PARTIAL if done > failed else RunStatus.FAILED
    error = "; ".join(errors)[:1000]
    run.items_seen = seen
    run.items_written = written
    run.events_written = events
    collector_run_finish(run=run, status=status, error=error)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=seen, items_written=written,
                           events_written=events, error=error, failure=stopped_by if done == 0 else None,
                           extra={"whales": len(whales), "whales_done": done, "failed": failed,
                                  "positions_unavailable": partial,
                                  "weight_spent": client.weight_spent, "requests": client.requests_made})


def collect_once(
    *,
    api_url: str | None = None,
    address: str | None = None,
    budget_rate: str | None = None,
    now_ms: int | None = None,
    progress: Callable[[WalletProgress], None] | None = None,
) -> CollectorResult:
    """Registry entry point: one ``whales_collect`` run on ``api_url`` (default HYPERLIQUID_API_URL), with
    the weight budget ``budget_rate`` (default HYPERLIQUID_WEIGHT_BUDGET); ``address`` restricts it to one
    tracked whale. Raises: InvalidParameter when that address is not a tracked Hyperliquid whale (nothing ran)."""
    if address is not None and not Whale.objects.filter(chain=Chain.HYPERLIQUID, address=address.lower(),
                                                        is_tracked=True).exists():
        raise InvalidParameter(f"{address} is not a tracked Hyperliquid whale (add it in the admin or import_whales)")
    client = HyperliquidClient.from_settings(api_url, budget_rate=budget_rate)
    try:
        return whales_collect(client=client, addresses=[address] if address else None, progress=progress,
                              now_ms=now_ms)
    finally:
        client.close()
