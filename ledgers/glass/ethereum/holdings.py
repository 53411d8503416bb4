"""Ethereum holdings: each tracked whale's ETH and ERC-20 balances, read from the node at one block, in
human units and USD.

- **Which tokens.** ETH; every ERC-20 the whale has traded (its stored trades' token contracts); and
  every curated asset on Ethereum (Asset rows with a contract and no ``metadata_source``).
- **At which block.** The confirmed head (head - ETH_CONFIRMATIONS) unless one is given. Every read of a
  refresh is at that one block (``EthereumRpcClient.balances_at``), and each holding records it.
- **Metadata.** A token without an Asset row gets one from its own contract (``symbol``, ``name``,
  ``decimals`` by ``eth_call`` at the block; ``metadata_source`` "eth_call@<block>"). A token that does
  not answer ``decimals`` usably is not held: its amount cannot be put in human units. The run names it.
- **Valuation.** Only through the token's own Asset row (its price history or price reference), never
  by its symbol. A contract calling itself by a curated asset's symbol (a "USDC" that is not the
  canonical USDC) is unverified and valued at nothing, as Whale Alert's verified-token list does. A
  token without any price is held unpriced (``value_usd`` None).
- **When.** Every tracked whale on the beat row (every 15 min, ``ethereum.refresh_holdings``). And the
  whales touched by each collected batch: when the block collector stores a batch with trades of some
  whales, it marks them pending (``holdings_mark_pending``, a HoldingsSync row per whale, in the batch's
  transaction) and, once the batch commits, queues ``ethereum.refresh_pending_holdings``
  ETH_HOLDINGS_DEBOUNCE_S later, at most once per window (coalesced through the cache): that one run
  reads every whale pending by then, at the node's confirmed head (never below the newest marked block).
- **Read path.** Multicall3 ``aggregate3`` where the node has its code at the canonical address, else
  batched JSON-RPC (``EthereumRpcClient.balances_at``); the run log's details name the path used.
- **Never backwards.** A whale's holdings read at block n are not overwritten by a refresh at an older
  block (HoldingsSync.block_number, checked and written under a row lock with the holdings), so a slow
  full refresh finishing after a per-batch one leaves the newer read in place.
- **Failures.** A balance the node cannot give for one token (no code, a revert, a malformed return)
  skips that holding and is counted; a node that cannot answer at all fails the run (RpcUnavailable is
  retried by the task). The replay node serves no state (the recordings hold no balances): the run
  says so and fails. That answer is remembered for the node's URL (in the cache, for
  ETH_HOLDINGS_NO_STATE_TTL_S; cleared by any refresh that succeeds there): meanwhile the collector marks
  nothing and queues no per-batch refresh for it, so it does not log a failed run per batch; the beat
  row's full refresh still asks the node each time.
"""

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from redis.exceptions import RedisError

from ledgers.errors import SourceError
from ledgers.exchange.market.models import Asset
from ledgers.exchange.market.selectors import latest_price
from ledgers.glass.ethereum.client import EthereumRpcClient, NoAccountState
from ledgers.glass.ethereum.models import HoldingsSync
from ledgers.glass.ethereum.types import BalanceQuery, BalanceRead, TokenMetadata
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.chains import Chain
from whales.jobs import task_enqueue_on_commit
from whales.models import RunStatus, Trade, Whale
from whales.money import from_base_units, q_usd
from whales.services import holdings_set_many, trades_apply_token_metadata
from whales.types import HoldingValue

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "ethereum_holdings"
NATIVE_SYMBOL = "ETH"
NATIVE_DECIMALS = 18
METADATA_BATCH = 100  # tokens per metadata batch (4 calls each)
WRITE_BATCH = 500  # whales whose holdings are written per transaction
PENDING_TASK = "ethereum.refresh_pending_holdings"  # permanent name (tasks.py), queued by holdings_mark_pending
PENDING_LIMIT = 20_000  # whales one pending refresh takes at most (the oldest marks first)
NO_STATE_KEY = "ethereum.holdings.no_state:{url_hash}"


@dataclass(frozen=True)
class HoldingsRefresh:
    """What one refresh did: the block read at, whales refreshed, holdings stored, balance reads that
    failed (per token), tokens whose metadata was read from their contracts, and the tokens not held for
    want of usable decimals (contract addresses)."""

    block_number: int
    whales: int
    holdings: int
    reads_failed: int
    tokens_discovered: int
    tokens_without_decimals: tuple[str, ...]
    whales_read_newer: int = 0  # whales left alone: their holdings were read at a newer block already


def traded_tokens(whale_ids: Sequence[int]) -> dict[int, set[str]]:
    """{whale id: the ERC-20 contracts of its stored Ethereum trades (base and quote side)}."""
    tokens: dict[int, set[str]] = {whale_id: set() for whale_id in whale_ids}
    rows = (Trade.objects.filter(chain=Chain.ETHEREUM, whale_id__in=whale_ids)
            .values_list("whale_id", "base_token_address", "quote_token_address").distinct())
    for whale_id, base, quote in rows:
        tokens[whale_id].update(address for address in (base, quote) if address)
    return tokens


def _metadata_store(client: EthereumRpcClient, tokens: Sequence[str], block: int) -> tuple[int, list[str]]:
    """Asset rows for ``tokens`` from their contracts; (how many were stored, tokens without decimals)."""
    stored, without = 0, []
    for start in range(0, len(tokens), METADATA_BATCH):
        found: list[TokenMetadata] = client.token_metadata(tokens[start:start + METADATA_BATCH], block_number=block)
        for meta in found:
            if meta.decimals is None:
                without.append(meta.token_address)
                logger.info("ethereum.holdings.no_decimals",
                            extra={"token": meta.token_address, "problems": list(meta.problems)})
                continue
            asset, created = Asset.objects.get_or_create(
                chain=Chain.ETHEREUM, contract_address=meta.token_address,
                defaults={"symbol": (meta.symbol or "?")[:30], "name": meta.name[:100], "decimals": meta.decimals,
                          "metadata_source": f"eth_call@{block}"})
            stored += created
            # Trades stored before the decimals were known get their amounts in human units now.
            trades_apply_token_metadata(chain=Chain.ETHEREUM, token_address=asset.contract_address,
                                        symbol=holding_label(asset), decimals=asset.decimals)
    return stored, without


def holding_label(asset: Asset) -> str:
    """How a token is named in holdings and trades: a curated asset by its symbol, a token known only from its
    own contract by its symbol and the start of its address (a symbol proves nothing)."""
    return asset.symbol if not asset.metadata_source else f"{asset.symbol} ({asset.contract_address[:10]})"


def holding_value(read: BalanceRead, asset: Asset, curated_symbols: dict[str, str], block: int,
                  price: tuple[Decimal, datetime] | None) -> HoldingValue:
    """The holding of one token balance at ``block``: amount in human units (the asset's decimals), USD value
    at ``price`` (a (USD price, its time) pair; None: unpriced) unless the token is unverified (a contract
    using a curated asset's symbol: valued at nothing)."""
    amount = from_base_units(read.value_raw, asset.decimals) if read.value_raw is not None else Decimal(0)
    canonical = curated_symbols.get(asset.symbol.upper())
    verified = not asset.metadata_source or canonical is None or canonical == asset.contract_address
    value = q_usd(amount * price[0]) if verified and price is not None else None
    label = holding_label(asset)
    return HoldingValue(label, amount, value, token_address=asset.contract_address, decimals=asset.decimals,
                        block_number=block, is_verified=verified)


def holdings_refresh(*, client: EthereumRpcClient, whale_ids: Sequence[int] | None = None,
                     block_number: int | None = None) -> HoldingsRefresh:
    """Read and store the holdings of the tracked Ethereum whales (``whale_ids``: only those) at
    ``block_number`` (default: the confirmed head). Module docstring: which tokens, valuation, failures.

    Shape: each whale's spot holdings are replaced by what it holds now (zero balances are not held);
    ``portfolio_percent`` follows (``whales.services.holdings_set_many``), WRITE_BATCH whales per
    transaction. A whale whose holdings were read at a newer block is left alone (``whales_read_newer``);
    a whale's pending mark (``holdings_mark_pending``) is cleared once its holdings stand at or after the
    marked block. Idempotent at a given block.
    Raises: NoAccountState (a node without state: the replay node), RpcUnavailable (retryable) or RpcError
    (terminal) when the node cannot answer; no holding is written then (every balance is read before any
    write).
    """
    block = block_number if block_number is not None else max(client.block_number() - settings.ETH_CONFIRMATIONS, 0)
    whales = Whale.objects.filter(chain=Chain.ETHEREUM, is_tracked=True)
    if whale_ids is not None:
        whales = whales.filter(id__in=list(whale_ids))
    targets = list(whales.order_by("id").values_list("id", "address"))
    curated = {a.contract_address: a for a in Asset.objects.filter(chain=Chain.ETHEREUM, metadata_source="")}
    curated_symbols = {a.symbol.upper(): address for address, a in curated.items() if address}
    traded = traded_tokens([whale_id for whale_id, _ in targets])
    wanted = {whale_id: sorted(traded[whale_id] | {address for address in curated if address})
              for whale_id, _ in targets}
    all_tokens = sorted({token for tokens in wanted.values() for token in tokens})
    known = set(Asset.objects.filter(chain=Chain.ETHEREUM, contract_address__in=all_tokens)
                .values_list("contract_address", flat=True))
    discovered, without = _metadata_store(client, [t for t in all_tokens if t not in known], block)
    assets = {a.contract_address: a for a in Asset.objects.filter(chain=Chain.ETHEREUM)}
    # Every read of every whale first, in batches across whales (nothing is written if the node fails),
    # then one latest price per asset.
    queries = [query for whale_id, address in targets for query in (
        BalanceQuery(address), *(BalanceQuery(address, t) for t in wanted[whale_id] if t in assets))]
    reads: dict[str, list[BalanceRead]] = {}
    for read in client.balances_at(queries, block_number=block):
        reads.setdefault(read.address, []).append(read)
    held_assets = {r.token_address for rs in reads.values() for r in rs if r.value_raw}
    prices = {address: latest_price(asset=assets[address]) for address in held_assets if address in assets}
    failed = 0
    holdings: dict[int, list[HoldingValue]] = {}
    for whale_id, address in targets:
        rows = holdings[whale_id] = []
        eth, *tokens = reads[address]
        if eth.value_raw:
            amount = from_base_units(eth.value_raw, NATIVE_DECIMALS)
            price = prices.get("")
            rows.append(HoldingValue(NATIVE_SYMBOL, amount, q_usd(amount * price[0]) if price else None,
                                     decimals=NATIVE_DECIMALS, block_number=block))
        for read in tokens:
            if read.error:
                failed += 1
                logger.info("ethereum.holdings.read_failed",
                            extra={"whale": address, "token": read.token_address, "error": read.error})
            elif read.value_raw:
                rows.append(holding_value(read, assets[read.token_address], curated_symbols, block,
                                     prices.get(read.token_address)))
    held, newer = _holdings_store(holdings, block)
    return HoldingsRefresh(block_number=block, whales=len(targets) - newer, holdings=held, reads_failed=failed,
                           tokens_discovered=discovered, tokens_without_decimals=tuple(without),
                           whales_read_newer=newer)


def _holdings_store(holdings: dict[int, list[HoldingValue]], block: int) -> tuple[int, int]:
    """Store each whale's holdings read at ``block`` unless a newer read is stored; (holdings stored, whales
    left alone). Each WRITE_BATCH of whales: lock their HoldingsSync rows (in whale order, as
    ``holdings_mark_pending`` does), compare, write the holdings and the rows, in one transaction."""
    ids = sorted(holdings)
    HoldingsSync.objects.bulk_create([HoldingsSync(whale_id=whale_id) for whale_id in ids], batch_size=1000,
                                     ignore_conflicts=True)
    held = newer = 0
    now = timezone.now()
    for start in range(0, len(ids), WRITE_BATCH):
        chunk = ids[start:start + WRITE_BATCH]
        with transaction.atomic():
            read_at = dict(HoldingsSync.objects.select_for_update().filter(whale_id__in=chunk).order_by("whale_id")
                           .values_list("whale_id", "block_number"))
            fresh = {whale_id: holdings[whale_id] for whale_id in chunk if (read_at.get(whale_id) or 0) <= block}
            holdings_set_many(holdings=fresh, replace=True)
            HoldingsSync.objects.filter(whale_id__in=list(fresh)).update(block_number=block, read_at=now)
            HoldingsSync.objects.filter(whale_id__in=chunk, pending_block_number__lte=F("block_number")).update(
                pending_block_number=None, pending_since=None)
        held += sum(len(rows) for rows in fresh.values())
        newer += len(chunk) - len(fresh)
    if newer:
        logger.info("ethereum.holdings.newer_read_kept", extra={"block": block, "whales": newer})
    return held, newer


# --- per-batch refresh and the node's capability ------------------------------------------------------


def _no_state_key(rpc_url: str) -> str:
    # Hashed: a node URL may carry an API key; the cache key should not.
    return NO_STATE_KEY.format(url_hash=hashlib.sha256(rpc_url.encode()).hexdigest()[:24])


def node_no_state_reason(*, rpc_url: str) -> str | None:
    """Why the node at ``rpc_url`` recently answered that it serves no account state (its own answer, kept in
    the cache for ETH_HOLDINGS_NO_STATE_TTL_S), or None when it has not, or when the cache cannot be read
    (Redis down: the answer is only a saving, so the collector marks its whales as usual instead of failing
    the batch it is storing; logged)."""
    try:
        reason = cache.get(_no_state_key(rpc_url))
    except (RedisError, OSError) as exc:
        logger.warning("ethereum.holdings.no_state_unknown", extra={"error": f"{type(exc).__name__}: {exc}"[:200]})
        return None
    return reason if isinstance(reason, str) else None


def holdings_mark_pending(*, whale_ids: Iterable[int], block_number: int, rpc_url: str) -> int:
    """Mark ``whale_ids`` for a holdings refresh because the block collector stored their trades of blocks up
    to ``block_number``, read from the node at ``rpc_url``; return how many were marked.

    Shape: HoldingsSync rows upserted in the current transaction (``pending_block_number`` = the newest
    such block, ``pending_since`` kept from the first mark), locked in whale order. Once the transaction
    commits, ``ethereum.refresh_pending_holdings`` is queued to run ETH_HOLDINGS_DEBOUNCE_S later, at most
    once per that window (coalesced through the cache), for that node (``rpc_url`` in the task's keywords
    only when it is not ETH_RPC_URL). Nothing at all (0) for an empty set, or while the node is known to
    serve no account state (``node_no_state_reason``): the beat row's full refresh asks it again.
    """
    ids = sorted({int(whale_id) for whale_id in whale_ids})
    if not ids or node_no_state_reason(rpc_url=rpc_url) is not None:
        return 0
    with transaction.atomic():
        HoldingsSync.objects.bulk_create([HoldingsSync(whale_id=whale_id) for whale_id in ids], batch_size=1000,
                                         ignore_conflicts=True)
        locked = list(HoldingsSync.objects.select_for_update().filter(whale_id__in=ids).order_by("whale_id")
                      .values_list("whale_id", flat=True))
        HoldingsSync.objects.filter(whale_id__in=locked).update(
            pending_block_number=Greatest(Coalesce(F("pending_block_number"), Value(block_number)),
                                          Value(block_number)),
            pending_since=Coalesce(F("pending_since"), Value(timezone.now())))
    debounce_s = settings.ETH_HOLDINGS_DEBOUNCE_S
    kwargs = {} if rpc_url == settings.ETH_RPC_URL else {"rpc_url": rpc_url}
    task_enqueue_on_commit(PENDING_TASK, kwargs=kwargs, countdown_s=debounce_s, coalesce_s=max(debounce_s, 1))
    return len(locked)


def holdings_reads_orphaned(*, ancestor_block_number: int) -> int:
    """After a reorg to ``ancestor_block_number``: holdings read at a later block were read on the orphaned
    branch, so they no longer stand in the way of a refresh at a lower block (their block is forgotten; the
    holdings stay until that refresh). Runs in the caller's transaction; returns how many whales."""
    return HoldingsSync.objects.filter(block_number__gt=ancestor_block_number).update(block_number=None)


def _pending_marks() -> list[tuple[int, int]]:
    """(whale_id, pending_block_number) of the oldest PENDING_LIMIT marks of tracked whales; marks of whales no
    longer tracked are dropped (no refresh would ever clear them)."""
    HoldingsSync.objects.filter(pending_since__isnull=False, whale__is_tracked=False).update(
        pending_block_number=None, pending_since=None)
    return [(whale_id, block or 0) for whale_id, block in HoldingsSync.objects.filter(pending_since__isnull=False)
            .order_by("pending_since", "whale_id").values_list("whale_id", "pending_block_number")[:PENDING_LIMIT]]


def holdings_collect(*, rpc_url: str | None = None, whale_ids: Sequence[int] | None = None,
                     pending: bool = False) -> CollectorResult:
    """Registry entry point: one ``holdings_refresh`` on ``rpc_url`` (default ETH_RPC_URL), in the run log,
    of every tracked whale, of ``whale_ids``, or with ``pending`` of the whales marked by the block
    collector (``holdings_mark_pending``).

    ``pending``: nothing runs (no run-log row) when no whale is pending, or while the node is known to
    serve no state; otherwise the read is at the confirmed head, or at the newest marked block when that is
    later (a collector following with fewer confirmations), never past the node's head.
    The run's details name the read path (``read_path``: multicall3_aggregate3 / json_rpc_batch, and
    ``reads_by_path``) and the scope (all / listed / pending). A node that cannot serve state (the replay
    node: the recordings hold no balances) ends the run "failed" with that reason, and is remembered as
    such (module docstring); RpcUnavailable is returned as the failure (the task retries it).
    Then the opening positions that are due (``opening.openings_read``, counted in the details' ``openings``;
    on a node without state they record that reason per whale, for the ROI)."""
    from ledgers.glass.ethereum.opening import openings_read  # it builds on this module

    client = EthereumRpcClient.from_settings(rpc_url)
    scope = "pending" if pending else "all" if whale_ids is None else "listed"
    block_number: int | None = None
    if pending:
        reason = node_no_state_reason(rpc_url=client.url)
        marks = [] if reason else _pending_marks()
        if not marks:
            return CollectorResult(collector=COLLECTOR_NAME, status=RunStatus.OK,
                                   extra={"scope": scope, "skipped": reason or "no whale pending"})
        whale_ids = [whale_id for whale_id, _ in marks]
    run = collector_run_start(collector=COLLECTOR_NAME)
    try:
        if pending:
            head = client.block_number()
            newest_mark = max(block for _, block in marks)
            block_number = min(head, max(head - settings.ETH_CONFIRMATIONS, newest_mark, 0))
        refresh = holdings_refresh(client=client, whale_ids=whale_ids, block_number=block_number)
    except SourceError as exc:
        reason = str(exc)
        details = _details(client, scope)
        if isinstance(exc, NoAccountState):
            reason = f"the node serves no account state (the recordings hold no balances): {reason}"
            cache.set(_no_state_key(client.url), reason, timeout=settings.ETH_HOLDINGS_NO_STATE_TTL_S)
            # The openings then record why each whale's ROI is unavailable (the same answer, per whale).
            details["openings"] = asdict(openings_read(client=client, whale_ids=whale_ids))
        collector_run_finish(run=run, status=RunStatus.FAILED, error=reason, details=details)
        return CollectorResult(collector=COLLECTOR_NAME, status=RunStatus.FAILED, error=reason, failure=exc,
                               extra=details)
    cache.delete(_no_state_key(client.url))
    openings = openings_read(client=client, whale_ids=whale_ids)
    status = RunStatus.PARTIAL if refresh.reads_failed or refresh.tokens_without_decimals else RunStatus.OK
    error = "; ".join(filter(None, [
        f"{refresh.reads_failed} balance reads failed" if refresh.reads_failed else "",
        f"no usable decimals: {', '.join(refresh.tokens_without_decimals[:10])}" if refresh.tokens_without_decimals
        else "",
    ]))
    details = {**_details(client, scope), "whales_read_newer": refresh.whales_read_newer}
    run.items_seen = refresh.whales
    run.items_written = refresh.holdings
    details["openings"] = asdict(openings)
    collector_run_finish(run=run, status=status, error=error, to_position=refresh.block_number, details=details)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=refresh.whales,
                           items_written=refresh.holdings, error=error,
                           extra={"block_number": refresh.block_number, "tokens_discovered": refresh.tokens_discovered,
                                  "reads_failed": refresh.reads_failed, **details})


def _details(client: EthereumRpcClient, scope: str) -> dict[str, Any]:
    return {"scope": scope, "read_path": client.read_path, "reads_by_path": dict(client.reads_by_path)}
