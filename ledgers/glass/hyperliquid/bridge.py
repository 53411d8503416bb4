"""Hyperliquid whale discovery from deposits into the Hyperliquid bridge on Arbitrum One.

Detection rule (checked against the recorded deposits in
``../shared/data/rotki-test-caching-cassettes/hyperliquid/test_hyperliquid__arbitrum_one_accounts0-False.yaml``):
a deposit is a USDC ``Transfer(from, to, value)`` log emitted by the USDC contract
(``settings.ARBITRUM_USDC_ADDRESS``, 6 decimals) with ``to`` = the bridge
(``settings.HYPERLIQUID_BRIDGE_ADDRESS``, L2BEAT's "HyperliquidBridge"/Bridge2). The depositor is
``from`` and the amount is ``value / 10**6`` USDC, counted as USD 1:1. The bridge's ABI declares
``event Deposit(address indexed user, uint64 usd)``, but the recorded deposit receipts hold no such
log: each has exactly one log, the USDC Transfer (users deposit by transferring USDC to the bridge).
``Deposit`` belongs to ``batchedDepositWithPermit``, which moves the USDC into the bridge with a
Transfer as well, so the Transfer rule sees those deposits too, and never counts one twice.

Every deposit of at least ``min_usd`` makes its depositor a Whale on chain ``hyperliquid`` at the
same (lowercase) address -- Hyperliquid credits the deposit to the sending address -- labelled
``hyperliquid`` with the deposit's Arbiscan URL as evidence. See ``bridge_deposits_discover``. The logs are
decoded by the client (``arbitrum_client.transfer_decode``) into ``types.TokenTransfer``.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from ledgers.evm import RpcError, RpcUnavailable
from ledgers.glass.hyperliquid.arbitrum_client import ArbitrumClient
from ledgers.glass.hyperliquid.types import Records, TokenTransfer
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start, cursor_advance, cursor_get_or_create
from whales.chains import Chain, normalize_address, tx_url
from whales.importers import LabelEvidence, whale_upsert
from whales.models import KnownAddress, LabelConfidence, RunStatus, Whale

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "hyperliquid_bridge"
STREAM = "arbitrum.hyperliquid_bridge"
USDC_DECIMALS = 6
DEFAULT_LOOKBACK_BLOCKS = 10_000
LABEL_SLUG = "hyperliquid"
LABEL_NAME = "Hyperliquid trader"
LABEL_SOURCE = "hyperliquid-bridge"
# Where a depositor's entity is looked up, in this order (the first one with an entity wins).
ENTITY_CHAINS = (Chain.ARBITRUM, Chain.ETHEREUM)


@dataclass
class DiscoveryResult:
    """What one ``bridge_deposits_discover`` run did (also in its CollectorRun row).

    ``whales_labelled``: whales that got the ``hyperliquid`` label in this run (new ones included);
    ``whales_linked``: whales given the entity of the depositor's Arbitrum/Ethereum wallet;
    ``next_block``: the first block this run did not scan (the cursor, unless another run moved it;
    None when the run failed before reading the cursor).
    """

    blocks_scanned: int = 0
    deposits_seen: int = 0
    deposits_above_threshold: int = 0
    whales_created: int = 0
    whales_labelled: int = 0
    status: str = RunStatus.OK
    error: str = ""
    whales_linked: int = 0
    next_block: int | None = None
    failure: BaseException | None = None  # the source failure that ended the run early


@dataclass(frozen=True)
class DiscoveryProgress:
    """Progress of a run, passed to the ``progress`` callback after each block range."""

    block_number: int
    to_block: int
    blocks_scanned: int
    deposits_seen: int
    whales_created: int

    def __str__(self) -> str:
        return (f"block {self.block_number} (to {self.to_block}): {self.blocks_scanned} blocks, "
                f"{self.deposits_seen} deposits, {self.whales_created} new whales")


def _entity_id_of(address: str) -> int | None:
    """Entity of the same address on ENTITY_CHAINS: a Whale's first, then a KnownAddress's."""
    for model in (Whale, KnownAddress):
        rows = dict(model.objects.filter(chain__in=ENTITY_CHAINS, address=address, entity__isnull=False)
                    .values_list("chain", "entity_id"))
        for chain in ENTITY_CHAINS:
            if chain.value in rows:
                return rows[chain.value]
    return None


def _whale_from_deposit(deposit: TokenTransfer, block_time: datetime, result: DiscoveryResult) -> None:
    """Upsert the depositor's Hyperliquid whale with its label, entity and first-seen time (caller's transaction)."""
    evidence = LabelEvidence(slug=LABEL_SLUG, name=LABEL_NAME, source=LABEL_SOURCE,
                             evidence_url=tx_url(Chain.ARBITRUM, deposit.tx_hash), confidence=LabelConfidence.HIGH)
    whale, created, changed = whale_upsert(chain=Chain.HYPERLIQUID, address=deposit.from_address, labels=[evidence],
                                           label_source=LABEL_SOURCE)
    result.whales_created += created
    result.whales_labelled += created or changed
    if whale.entity_id is None:
        entity_id = _entity_id_of(whale.address)
        if entity_id is not None:
            result.whales_linked += Whale.objects.filter(pk=whale.pk, entity__isnull=True).update(entity_id=entity_id)
    Whale.objects.filter(Q(first_seen_at__isnull=True) | Q(first_seen_at__gt=block_time), pk=whale.pk).update(
        first_seen_at=block_time)


def bridge_deposits_discover(
    *,
    client: ArbitrumClient,
    from_block: int | None = None,
    to_block: int | None = None,
    min_usd: Decimal | None = None,
    progress: Callable[[DiscoveryProgress], None] | None = None,
) -> DiscoveryResult:
    """Scan the bridge's USDC deposits and make every depositor of at least ``min_usd`` a Hyperliquid whale.

    Source: ``client.get_transfers`` (eth_getLogs: USDC contract, topics [Transfer, any, bridge]) in ranges of
        ``settings.ARBITRUM_LOGS_BLOCK_RANGE`` blocks, and ``client.get_block_time`` for qualifying deposits.
    Shape: blocks [start, min(to_block, head)] (``to_block`` default: the head). ``start``: ``from_block``
        (an explicit re-walk; the cursor moves with its first range), else the cursor of stream
        ``arbitrum.hyperliquid_bridge``, created at ``settings.HYPERLIQUID_BRIDGE_START_BLOCK`` or, when
        that is None, head - 10,000. Each range is stored in ONE transaction with the cursor's
        compare-and-set (to the range's last block + 1), so a killed run leaves whole ranges and a range
        two runs race on is stored once (the loser stops).
        Per qualifying deposit (module docstring for the rule; ``min_usd`` default
        ``settings.HYPERLIQUID_BRIDGE_MIN_USD``): ``whale_upsert`` of (hyperliquid, depositor) with label
        ``hyperliquid`` ("Hyperliquid trader", source ``hyperliquid-bridge``, evidence
        ``https://arbiscan.io/tx/<hash>`` of the first such deposit seen, confidence high); a whale
        without an entity gets the entity of the same address as a Whale, else a KnownAddress, on
        arbitrum then ethereum (none is invented); ``first_seen_at`` moves back to the deposit's block
        time. Idempotent: re-scanning the same blocks creates and labels nothing.
    Units: ``min_usd`` in USD; USDC counts 1:1.
    Raises: nothing; failures are returned (status "failed", error text) and logged in a CollectorRun
        (collector ``hyperliquid_bridge``). Ranges stored before a failure stay stored, the cursor after them.
        A malformed log or address is logged and skipped.
    """
    threshold = Decimal(min_usd) if min_usd is not None else settings.HYPERLIQUID_BRIDGE_MIN_USD
    bridge = normalize_address(Chain.ARBITRUM, settings.HYPERLIQUID_BRIDGE_ADDRESS)
    usdc = normalize_address(Chain.ARBITRUM, settings.ARBITRUM_USDC_ADDRESS)
    chunk = max(1, settings.ARBITRUM_LOGS_BLOCK_RANGE)
    result = DiscoveryResult()
    run = collector_run_start(collector=COLLECTOR_NAME, from_position=from_block)
    position: int | None = None
    try:
        head = client.block_number()
        if from_block is not None:
            start = from_block
        elif settings.HYPERLIQUID_BRIDGE_START_BLOCK is not None:
            start = settings.HYPERLIQUID_BRIDGE_START_BLOCK
        else:
            start = max(0, head - DEFAULT_LOOKBACK_BLOCKS)
        cursor = cursor_get_or_create(stream=STREAM, start=start)
        expected = cursor.position  # the cursor's value in the database: every compare-and-set starts here
        position = from_block if from_block is not None else cursor.position
        run.from_position = position
        end = head if to_block is None else min(to_block, head)
        while position <= end:
            last = min(position + chunk - 1, end)
            deposits = _deposits(client.get_transfers(token_address=usdc, to_address=bridge, decimals=USDC_DECIMALS,
                                                      from_block=position, to_block=last))
            qualifying = [d for d in deposits if d.amount >= threshold]  # USDC counts as USD 1:1
            # Network I/O stays outside the transaction.
            times = {n: client.get_block_time(n) for n in sorted({d.block_number for d in qualifying})}
            counts = DiscoveryResult()
            with transaction.atomic():
                if not cursor_advance(stream=STREAM, expected=expected, position=last + 1, position_hash=""):
                    result.error = "cursor moved by another run"
                    break
                for deposit in qualifying:
                    try:
                        with transaction.atomic():
                            _whale_from_deposit(deposit, times[deposit.block_number], counts)
                    except ValueError as exc:
                        logger.warning("hyperliquid.bridge.bad_deposit",
                                       extra={"tx_hash": deposit.tx_hash, "error": str(exc)})
            result.blocks_scanned += last - position + 1
            position = expected = last + 1
            result.deposits_seen += len(deposits)
            result.deposits_above_threshold += len(qualifying)
            result.whales_created += counts.whales_created
            result.whales_labelled += counts.whales_labelled
            result.whales_linked += counts.whales_linked
            if progress is not None:
                progress(DiscoveryProgress(last, end, result.blocks_scanned, result.deposits_seen,
                                           result.whales_created))
    except (RpcUnavailable, RpcError) as exc:
        result.status, result.error, result.failure = RunStatus.FAILED, f"{type(exc).__name__}: {exc}", exc
    result.next_block = position
    result.error = result.error[:1000]
    run.blocks = result.blocks_scanned
    run.items_seen = result.deposits_seen
    run.items_written = result.whales_labelled
    collector_run_finish(run=run, status=result.status, error=result.error, to_position=position)
    return result


def _deposits(transfers: Records[TokenTransfer]) -> list[TokenTransfer]:
    """The bridge deposits among ``transfers`` in chain order; the logs the client could not decode are
    logged and skipped."""
    for bad in transfers.bad:
        logger.warning("hyperliquid.bridge.bad_log", extra={"log": str(bad.record)[:300], "error": str(bad)})
    return sorted(transfers.items, key=lambda d: (d.block_number, d.log_index))


def collect_once(
    *,
    rpc_url: str | None = None,
    from_block: int | None = None,
    to_block: int | None = None,
    min_usd: Decimal | None = None,
    progress: Callable[[DiscoveryProgress], None] | None = None,
) -> CollectorResult:
    """Registry entry point: one ``bridge_deposits_discover`` run on ``rpc_url`` (default ARBITRUM_RPC_URL)."""
    client = ArbitrumClient.from_settings(rpc_url)
    result = bridge_deposits_discover(client=client, from_block=from_block, to_block=to_block, min_usd=min_usd,
                                      progress=progress)
    return CollectorResult(collector=COLLECTOR_NAME, status=result.status, blocks=result.blocks_scanned,
                           items_seen=result.deposits_seen, items_written=result.whales_created, error=result.error,
                           failure=result.failure, extra={"deposits_above_threshold": result.deposits_above_threshold,
                                  "whales_labelled": result.whales_labelled, "whales_linked": result.whales_linked,
                                  "next_block": result.next_block})
