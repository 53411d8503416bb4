"""The Ethereum whale collector: walk blocks from the cursor, store whale trades and events.

Idempotency: each fetched batch of consecutive blocks is stored in ONE transaction together with
the cursor's compare-and-set (position n -> last + 1) and the BlockRecords, so a run killed at any
point leaves whole batches only and the next run continues from the first missing block; two runs
racing on a batch store it once (the loser's compare-and-set fails and it stops). Trades and events
are keyed by their natural keys, so re-walking stored blocks (``--from-block``) changes nothing.

Reorgs (DESIGN.md section 10): before storing a batch starting at block n the collector checks
n.parent_hash against the stored hash of n - 1 (and that the batch itself is one chain). On a
mismatch it walks back through the stored BlockRecords, asking the node for the canonical hash at
each height, to the newest common ancestor; then, in one transaction, it deletes the orphaned
blocks' trades and events, records one ``reorg_retraction`` event per orphaned block, drops their
BlockRecords and moves the cursor back to ancestor + 1, and carries on from there (re-ingesting
the new canonical blocks).
"""

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from alerts.services import events_publish
from ledgers.evm import RpcError, RpcUnavailable
from ledgers.exchange.market.selectors import PriceBook, asset_map
from ledgers.glass.ethereum.activity import ParseContext, block_activities, counterparties_of
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.holdings import holdings_mark_pending, holdings_reads_orphaned
from ledgers.glass.ethereum.models import BlockRecord
from ledgers.glass.ethereum.types import RawBlock
from ledgers.models import CollectorRun
from ledgers.refs import WhaleRef, counterparty_refs, whale_refs
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start, cursor_advance, cursor_get_or_create
from whales.chains import Chain
from whales.models import RunStatus
from whales.services import reorg_retraction_record, trades_ingest, trades_retract

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "ethereum"
STREAM = "ethereum.blocks"
FETCH_BATCH = 10  # blocks per JSON-RPC batch round trip and per database transaction


class ReorgTooDeep(RpcError):
    """No common ancestor within the stored block hashes (ETH_REORG_DEPTH): needs an operator."""


@dataclass
class Progress:
    """Progress of a run, passed to the ``progress`` callback after each block."""

    block_number: int
    to_block: int
    blocks_done: int
    trades_written: int
    events_written: int

    def __str__(self) -> str:
        return (f"block {self.block_number} (to {self.to_block}): {self.blocks_done} blocks, "
                f"{self.trades_written} trades, {self.events_written} events")


def parse_context(blocks: list[RawBlock], whales: dict[str, WhaleRef]) -> ParseContext:
    """Lookups for a batch of blocks: the whales, the counterparties' labels, assets and prices."""
    assets = asset_map(chain=Chain.ETHEREUM)
    prices = PriceBook.load(assets=assets.values(), start=min(b.block_time for b in blocks),
                            end=max(b.block_time for b in blocks))
    known = counterparty_refs(chain=Chain.ETHEREUM, addresses=counterparties_of(blocks, set(whales)))
    return ParseContext(whales=whales, known=known, assets=assets, prices=prices)


def _start_position(head: int, confirmations: int | None) -> int:
    if settings.ETH_START_BLOCK is not None:
        return settings.ETH_START_BLOCK
    return max(head - (settings.ETH_CONFIRMATIONS if confirmations is None else confirmations), 0)


def _handle_reorg(client: EthereumRpcClient, block: RawBlock, cursor_position: int) -> int:
    """Roll back to the common ancestor of the stored chain and the node's; return the new position."""
    stored = list(BlockRecord.objects.filter(block_number__lt=block.number).order_by("-block_number")
                  [: settings.ETH_REORG_DEPTH])
    ancestor = None
    orphaned: list[BlockRecord] = []
    for record in stored:
        header = client.get_header(record.block_number)
        if header is not None and header.block_hash == record.block_hash:
            ancestor = record
            break
        orphaned.append(record)
    if ancestor is None:
        raise ReorgTooDeep(
            f"reorg at block {block.number}: no common ancestor in the last {len(stored)} stored blocks")
    new_position = ancestor.block_number + 1
    with transaction.atomic():
        if not cursor_advance(stream=STREAM, expected=cursor_position, position=new_position,
                              position_hash=ancestor.block_hash):
            return -1
        retracted: set[int] = set()
        for record in orphaned:
            deleted = trades_retract(chain=Chain.ETHEREUM, block_hashes=[record.block_hash])
            retraction = reorg_retraction_record(chain=Chain.ETHEREUM, block_number=record.block_number,
                                                 block_hash=record.block_hash, block_time=record.block_time,
                                                 deleted=deleted)
            events_publish(event_ids=[retraction.id])
            retracted.update(row["whale_id"] for row in deleted)
        BlockRecord.objects.filter(block_number__gt=ancestor.block_number).delete()
        # Their balances went back with the orphaned blocks: read again (the new branch marks its own whales).
        holdings_reads_orphaned(ancestor_block_number=ancestor.block_number)
        holdings_mark_pending(whale_ids=retracted, block_number=ancestor.block_number, rpc_url=client.url)
    logger.warning("ethereum.reorg", extra={"at": block.number, "ancestor": ancestor.block_number,
                                            "orphaned": [r.block_number for r in orphaned]})
    return new_position


def _store_blocks(blocks: list[RawBlock], ctx: ParseContext, expected: int, rpc_url: str) -> tuple[int, int] | None:
    """Store consecutive ``blocks`` in ONE transaction with the cursor's compare-and-set.

    Returns (new trades, new events), or None when another run moved the cursor first (nothing
    is written then). A batch is all or nothing, so a crash leaves whole batches only. The whales whose
    new trades it stored are marked for a holdings refresh from the node at ``rpc_url``, queued once the
    batch commits (``holdings.holdings_mark_pending``: coalesced, and skipped for a node without state).
    """
    activities = [activity for block in blocks for activity in block_activities(block, ctx)]
    last = blocks[-1]
    with transaction.atomic():
        if not cursor_advance(stream=STREAM, expected=expected, position=last.number + 1,
                              position_hash=last.block_hash):
            return None
        BlockRecord.objects.bulk_create(
            [BlockRecord(block_number=b.number, block_hash=b.block_hash, parent_hash=b.parent_hash,
                         block_time=b.block_time, transactions=len(b.transactions)) for b in blocks],
            update_conflicts=True, unique_fields=["block_number"],
            update_fields=["block_hash", "parent_hash", "block_time", "transactions"],
        )
        BlockRecord.objects.filter(block_number__lt=last.number - settings.ETH_REORG_DEPTH).delete()
        stored = trades_ingest(activities=activities)
        events_publish(event_ids=stored.event_ids)  # sent once the batch commits
        holdings_mark_pending(whale_ids={trade.whale_id for trade in stored.trades}, block_number=last.number,
                              rpc_url=rpc_url)
    return len(stored.trades), len(stored.event_ids)


def _linked_prefix(blocks: list[RawBlock]) -> list[RawBlock]:
    """The leading blocks that form one chain (the node may have reorged between two fetches)."""
    prefix = blocks[:1]
    for block in blocks[1:]:
        if block.parent_hash != prefix[-1].block_hash:
            break
        prefix.append(block)
    return prefix


class _Prefetch:
    """The next batch of blocks fetched on one background thread while the current batch is stored, so the
    node's latency overlaps the database's. At most one fetch is in flight, and the client is used by one
    thread at a time: ``take`` and ``drop`` wait for the fetch. The thread touches only the node (``get_blocks``
    does no database work). A fetch that fails raises in ``take`` as a direct fetch would; a dropped one's
    failure is ignored (its blocks were not wanted)."""

    def __init__(self, client: EthereumRpcClient) -> None:
        self._client = client
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ethereum-prefetch")
        self._pending: tuple[list[int], Future[list[RawBlock]]] | None = None

    def start(self, numbers: list[int]) -> None:
        """Start fetching ``numbers`` (after dropping any other fetch)."""
        self.drop()
        self._pending = (numbers, self._pool.submit(self._client.get_blocks, numbers))

    def take(self, numbers: list[int]) -> list[RawBlock]:
        """Blocks ``numbers``: the prefetched answer when it is for exactly these, else fetched now."""
        pending, self._pending = self._pending, None
        if pending is not None:
            wanted, future = pending
            if wanted == numbers:
                return future.result()
            wait([future])
        return self._client.get_blocks(numbers)

    def drop(self) -> None:
        """Forget the fetch in flight, once it has ended (its answer or error is discarded)."""
        if self._pending is not None:
            wait([self._pending[1]])
            self._pending = None

    def close(self) -> None:
        self.drop()
        self._pool.shutdown(wait=True)


def blocks_collect(
    *,
    client: EthereumRpcClient,
    from_block: int | None = None,
    to_block: int | None = None,
    max_blocks: int | None = None,
    confirmations: int | None = None,
    batch_blocks: int = FETCH_BATCH,
    progress: Callable[[Progress], None] | None = None,
) -> CollectorResult:
    """Collect whale activity from the next blocks; return what the run did (also in the run log).

    Source: ``client`` (eth_blockNumber, eth_getBlockByNumber + eth_getBlockReceipts, batched).
    Shape: blocks [cursor, min(head - confirmations, to_block, cursor + max_blocks - 1)]
        (``confirmations`` defaults to ETH_CONFIRMATIONS; recordings are final, so replay uses 0);
        ``from_block`` moves the cursor there first (an explicit re-walk; stored rows are kept and
        not duplicated). ``max_blocks`` defaults to ETH_MAX_BLOCKS_PER_RUN when neither bound is given.
        Blocks are fetched and stored ``batch_blocks`` at a time, each batch in one transaction; the next
        batch is fetched while one is stored (``_Prefetch``).
    Units: trade amounts in token units, values in USD at block time (module ``activity``).
    Raises: nothing; failures are returned (status "failed", error text) and logged in
        CollectorRun. Blocks stored before a failure stay stored, and the cursor stands after them.
    """
    run = collector_run_start(collector=COLLECTOR_NAME, from_position=from_block)
    prefetch = _Prefetch(client)
    blocks_done = trades_written = events_written = items_seen = 0
    position = None
    try:
        head = client.block_number()
        cursor = cursor_get_or_create(stream=STREAM, start=from_block if from_block is not None
                                      else _start_position(head, confirmations))
        # ``expected`` is the cursor's value in the database: every compare-and-set starts from it.
        # An explicit re-walk (from_block) moves the cursor only with the first block it stores.
        expected = cursor.position
        position = from_block if from_block is not None else cursor.position
        run.from_position = position
        end = head - (settings.ETH_CONFIRMATIONS if confirmations is None else confirmations)
        if to_block is not None:
            end = min(end, to_block)
        if max_blocks is None and to_block is None:
            max_blocks = settings.ETH_MAX_BLOCKS_PER_RUN
        if max_blocks is not None:
            end = min(end, position + max_blocks - 1)
        whales = {ref.address: ref for ref in whale_refs(chain=Chain.ETHEREUM)}
        while position <= end:
            numbers = list(range(position, min(position + batch_blocks, end + 1)))
            blocks = prefetch.take(numbers)  # network I/O stays outside the transactions
            parent = BlockRecord.objects.filter(block_number=blocks[0].number - 1).values_list(
                "block_hash", flat=True).first()
            if parent is not None and parent != blocks[0].parent_hash:
                prefetch.drop()
                new_position = _handle_reorg(client, blocks[0], expected)
                if new_position < 0:
                    return _finish(run, RunStatus.OK, position, blocks_done, items_seen, trades_written,
                                   events_written, "cursor moved by another run", client=client)
                position = expected = new_position
                continue
            blocks = _linked_prefix(blocks)  # a reorg inside the batch is caught on the next round
            following = blocks[-1].number + 1
            if following <= end:
                prefetch.start(list(range(following, min(following + batch_blocks, end + 1))))
            stored = _store_blocks(blocks, parse_context(blocks, whales), expected, client.url)
            if stored is None:  # another run stored these blocks first: it owns the stream now
                return _finish(run, RunStatus.OK, position, blocks_done, items_seen, trades_written,
                               events_written, "cursor moved by another run", client=client)
            position = expected = blocks[-1].number + 1
            blocks_done += len(blocks)
            items_seen += sum(len(b.transactions) for b in blocks)
            trades_written += stored[0]
            events_written += stored[1]
            if progress is not None:
                progress(Progress(blocks[-1].number, end, blocks_done, trades_written, events_written))
        return _finish(run, RunStatus.OK, position, blocks_done, items_seen, trades_written, events_written,
                       client=client)
    except (RpcUnavailable, RpcError) as exc:
        return _finish(run, RunStatus.FAILED, position, blocks_done, items_seen, trades_written, events_written,
                       f"{type(exc).__name__}: {exc}", failure=exc, client=client)
    finally:
        prefetch.close()


def _finish(run: CollectorRun, status: str, position: int | None, blocks: int, seen: int, written: int,
            events: int, error: str = "", failure: BaseException | None = None, *,
            client: EthereumRpcClient | None = None) -> CollectorResult:
    error = error[:1000]
    run.blocks = blocks
    run.items_seen = seen
    run.items_written = written
    run.events_written = events
    # Which way a router's internal ETH payout was found (activity module docstring, rule 2).
    internal_eth = None if client is None else ("call_traces" if client.traces else "weth_unwrap_heuristic")
    details = {"internal_eth": internal_eth} if internal_eth and blocks else {}
    collector_run_finish(run=run, status=status, error=error, to_position=position, details=details)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, blocks=blocks, items_seen=seen,
                           items_written=written, events_written=events, error=error, failure=failure,
                           extra={"next_block": position, **details})


def collect_once(
    *,
    rpc_url: str | None = None,
    from_block: int | None = None,
    to_block: int | None = None,
    max_blocks: int | None = None,
    confirmations: int | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> CollectorResult:
    """Registry entry point: one ``blocks_collect`` run on ``rpc_url`` (default ``ETH_RPC_URL``)."""
    client = EthereumRpcClient.from_settings(rpc_url)
    return blocks_collect(client=client, from_block=from_block, to_block=to_block, max_blocks=max_blocks,
                          confirmations=confirmations, progress=progress)
