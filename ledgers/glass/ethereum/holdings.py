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
- **Failures.** A balance the node cannot give for one token (no code, a revert, a malformed return)
  skips that holding and is counted; a node that cannot answer at all fails the run (RpcUnavailable is
  retried by the task). The replay node serves no state (the recordings hold no balances): the run
  says so and fails.
"""

import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings

from ledgers.errors import SourceError
from ledgers.evm import METHOD_NOT_FOUND, RpcError
from ledgers.exchange.market.models import Asset
from ledgers.exchange.market.selectors import latest_price
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.types import BalanceQuery, BalanceRead, TokenMetadata
from ledgers.registry import CollectorResult
from ledgers.runlog import collector_run_finish, collector_run_start
from whales.chains import Chain
from whales.models import RunStatus, Trade, Whale
from whales.money import from_base_units, q_usd
from whales.services import holdings_set, trades_apply_token_metadata
from whales.types import HoldingValue

logger = logging.getLogger(__name__)

COLLECTOR_NAME = "ethereum_holdings"
NATIVE_SYMBOL = "ETH"
NATIVE_DECIMALS = 18
METADATA_BATCH = 100  # tokens per metadata batch (4 calls each)


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
    ``portfolio_percent`` follows (``whales.services.holdings_set``). Idempotent at a given block.
    Raises: RpcUnavailable (retryable) or RpcError (terminal) when the node cannot answer, e.g. a node
    without state at that block; no holding is written then (every balance is read before any write).
    """
    block = block_number if block_number is not None else max(client.block_number() - settings.ETH_CONFIRMATIONS, 0)
    whales = Whale.objects.filter(chain=Chain.ETHEREUM, is_tracked=True)
    if whale_ids is not None:
        whales = whales.filter(id__in=whale_ids)
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
    held = failed = 0
    for whale_id, address in targets:
        rows = []
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
        holdings_set(whale_id=whale_id, holdings=rows, replace=True)
        held += len(rows)
    return HoldingsRefresh(block_number=block, whales=len(targets), holdings=held, reads_failed=failed,
                           tokens_discovered=discovered, tokens_without_decimals=tuple(without))


def holdings_collect(*, rpc_url: str | None = None, whale_ids: Sequence[int] | None = None) -> CollectorResult:
    """Registry entry point: one ``holdings_refresh`` on ``rpc_url`` (default ETH_RPC_URL), then the opening
    positions that are due (``opening.openings_read``, counted in the run's details), in the run log.

    A node that cannot serve state (the replay node: the recordings hold no balances) ends the run
    "failed" with that reason; RpcUnavailable is returned as the failure (the task retries it)."""
    from ledgers.glass.ethereum.opening import openings_read  # it builds on this module

    run = collector_run_start(collector=COLLECTOR_NAME)
    client = EthereumRpcClient.from_settings(rpc_url)
    try:
        refresh = holdings_refresh(client=client, whale_ids=whale_ids)
    except SourceError as exc:
        reason = str(exc)
        details = {}
        if isinstance(exc, RpcError) and f"JSON-RPC error {METHOD_NOT_FOUND}" in reason:
            reason = f"the node serves no account state (the recordings hold no balances): {reason}"
            # The openings then record why each whale's ROI is unavailable (the same answer, per whale).
            details = {"openings": asdict(openings_read(client=client, whale_ids=whale_ids))}
        collector_run_finish(run=run, status=RunStatus.FAILED, error=reason, details=details)
        return CollectorResult(collector=COLLECTOR_NAME, status=RunStatus.FAILED, error=reason, failure=exc,
                               extra=details)
    openings = openings_read(client=client, whale_ids=whale_ids)
    status = RunStatus.PARTIAL if refresh.reads_failed or refresh.tokens_without_decimals else RunStatus.OK
    error = "; ".join(filter(None, [
        f"{refresh.reads_failed} balance reads failed" if refresh.reads_failed else "",
        f"no usable decimals: {', '.join(refresh.tokens_without_decimals[:10])}" if refresh.tokens_without_decimals
        else "",
    ]))
    run.items_seen = refresh.whales
    run.items_written = refresh.holdings
    details = {"openings": asdict(openings)}
    collector_run_finish(run=run, status=status, error=error, to_position=refresh.block_number, details=details)
    return CollectorResult(collector=COLLECTOR_NAME, status=status, items_seen=refresh.whales,
                           items_written=refresh.holdings, error=error,
                           extra={"block_number": refresh.block_number, "tokens_discovered": refresh.tokens_discovered,
                                  "reads_failed": refresh.reads_failed, **details})
