"""Ethereum opening positions: what each tracked whale held when tracking it started, read from the node at
that block and valued at that block's prices, for the ROI (``whales.analytics.metrics``, "ROI").

- **Which block.** The block before the whale's first stored trade (its balances then are the position the
  trades start from); for a whale without trades yet, the last block the collector has covered
  (``ethereum.blocks`` cursor - 1). No opening before the collector has started.
- **Which balances.** ETH, every ERC-20 the whale has traded and every curated Ethereum asset, as for the
  holdings (``holdings`` module), each read at that one block (``EthereumRpcClient.balances_at``). A token
  without an Asset row (no known decimals) is left out; the holdings refresh, which runs first in the same
  task, reads the metadata of every traded token.
- **Valuation.** Each balance at its own asset's price at the block's time (``price_at``: within
  PRICE_MAX_AGE_HOURS). An asset with no price at all, or an unverified token (a contract using a curated
  asset's symbol), is valued at nothing, as in the portfolio. An asset that has prices, but none near that
  block, leaves the opening ``unpriced``: the ROI is unavailable and says so.
- **A node without that state** (not an archive node, past its pruning window; the replay node, which
  serves no state at all) leaves the opening ``unavailable`` with the node's answer as the reason. Unusable
  openings are tried again once a day (prices may be imported, the node may change); an opening is read again
  at once when a trade at or before its block is stored later (a re-walk).
- Idempotent: the same block gives the same balances; an opening is upserted per whale.
"""

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Min, OuterRef, Q, Subquery
from django.utils import timezone

from ledgers.errors import SourceUnavailable
from ledgers.evm import RpcError
from ledgers.exchange.market.models import Asset
from ledgers.exchange.market.selectors import latest_price, price_at
from ledgers.glass.ethereum.client import EthereumRpcClient, NoAccountState
from ledgers.glass.ethereum.holdings import NATIVE_DECIMALS, NATIVE_SYMBOL, holding_value, traded_tokens
from ledgers.glass.ethereum.types import BalanceQuery
from ledgers.models import SyncCursor
from whales.analytics.metrics import metrics_mark_pending
from whales.chains import Chain
from whales.models import OpeningStatus, Trade, WalletOpening, Whale
from whales.money import from_base_units, q_usd

logger = logging.getLogger(__name__)

BLOCKS_STREAM = "ethereum.blocks"  # the block collector's cursor (services.STREAM)
RETRY_AFTER = timedelta(days=1)
OPENING_FIELDS = ["block_number", "block_time", "status", "value_usd", "balances", "reason", "read_at"]


@dataclass(frozen=True)
class OpeningsRead:
    """What one ``openings_read`` did: openings stored by status, and the blocks read at."""

    ok: int
    unpriced: int
    unavailable: int
    blocks: int


def _targets(whale_ids: Sequence[int] | None) -> dict[int, int]:
    """{whale id: opening block} of the tracked Ethereum whales whose opening is due (module docstring)."""
    first_trade = (Trade.objects.filter(whale_id=OuterRef("pk"), chain=Chain.ETHEREUM, block_number__isnull=False)
                   .order_by().values("whale_id").annotate(first=Min("block_number")).values("first"))
    whales = Whale.objects.filter(chain=Chain.ETHEREUM, is_tracked=True)
    if whale_ids is not None:
        whales = whales.filter(id__in=whale_ids)
    cutoff = timezone.now() - RETRY_AFTER
    whales = whales.annotate(first_block=Subquery(first_trade)).filter(
        Q(opening__isnull=True)
        | Q(first_block__lte=Subquery(WalletOpening.objects.filter(whale_id=OuterRef("pk")).values("block_number")))
        | (~Q(opening__status=OpeningStatus.OK) & Q(opening__read_at__lt=cutoff)))
    covered = SyncCursor.objects.filter(stream=BLOCKS_STREAM).values_list("position", flat=True).first()
    targets = {}
    for whale_id, first_block in whales.order_by("id").values_list("id", "first_block"):
        if first_block is not None:
            targets[whale_id] = first_block - 1
        elif covered is not None and covered > 0:
            targets[whale_id] = covered - 1
    return targets


def _unavailable_reason(exc: RpcError, block: int) -> str:
    text = str(exc)
    if isinstance(exc, NoAccountState):
        return f"the node serves no account state (the recordings hold no balances): {text}"[:500]
    return f"the node keeps no state at block {block} (an archive node would): {text}"[:500]


def openings_read(*, client: EthereumRpcClient, whale_ids: Sequence[int] | None = None) -> OpeningsRead:
    """Read, value and store the opening position of the tracked Ethereum whales that need one (``whale_ids``:
    only those). Module docstring: which block, balances, valuation, failures.

    Shape: one batched balance read and one header per distinct opening block; that block's ``WalletOpening``
    rows upserted in one statement, and its whales' metrics marked for a recompute, in one transaction.
    Raises: RpcUnavailable when the node cannot answer now (nothing of that block's whales is written; the
    task retries). A JSON-RPC error on a state read is an ``unavailable`` opening, not an exception.
    """
    targets = _targets(whale_ids)
    if not targets:
        return OpeningsRead(0, 0, 0, 0)
    addresses = dict(Whale.objects.filter(id__in=list(targets)).values_list("id", "address"))
    curated = {a.contract_address: a for a in Asset.objects.filter(chain=Chain.ETHEREUM, metadata_source="")}
    curated_symbols = {a.symbol.upper(): address for address, a in curated.items() if address}
    assets = {a.contract_address: a for a in Asset.objects.filter(chain=Chain.ETHEREUM)}
    traded = traded_tokens(list(targets))
    by_block: dict[int, list[int]] = defaultdict(list)
    for whale_id, block in targets.items():
        by_block[block].append(whale_id)
    counts = {status: 0 for status in OpeningStatus.values}
    for block, block_whales in sorted(by_block.items()):
        openings = _read_block(client, block, block_whales, addresses, traded, assets, curated, curated_symbols)
        for opening in openings:
            opening.read_at = timezone.now()
            counts[opening.status] += 1
        with transaction.atomic():
            WalletOpening.objects.bulk_create(openings, batch_size=1000, update_conflicts=True, unique_fields=["whale"],
                                              update_fields=OPENING_FIELDS)
            metrics_mark_pending(whale_ids=block_whales)
    return OpeningsRead(ok=counts[OpeningStatus.OK], unpriced=counts[OpeningStatus.UNPRICED],
                        unavailable=counts[OpeningStatus.UNAVAILABLE], blocks=len(by_block))


def _read_block(client: EthereumRpcClient, block: int, whale_ids: list[int], addresses: dict[int, str],
                traded: dict[int, set[str]], assets: dict[str, Asset], curated: dict[str, Asset],
                curated_symbols: dict[str, str]) -> list[WalletOpening]:
    """The openings of ``whale_ids`` at ``block`` (unsaved)."""
    try:
        wanted = {whale_id: sorted((traded[whale_id] | {a for a in curated if a}) & set(assets))
                  for whale_id in whale_ids}
        queries = [q for whale_id in whale_ids for q in (
            BalanceQuery(addresses[whale_id]), *(BalanceQuery(addresses[whale_id], t) for t in wanted[whale_id]))]
        reads = client.balances_at(queries, block_number=block)
        header = client.get_header(block)
        if header is None:
            raise RpcError(f"the node does not have block {block}")
    except SourceUnavailable:
        raise
    except RpcError as exc:
        reason = _unavailable_reason(exc, block)
        logger.info("ethereum.opening.unavailable", extra={"block": block, "whales": len(whale_ids), "error": str(exc)})
        return [WalletOpening(whale_id=whale_id, block_number=block, status=OpeningStatus.UNAVAILABLE, reason=reason)
                for whale_id in whale_ids]
    by_address: dict[str, list] = defaultdict(list)
    for read in reads:
        by_address[read.address].append(read)
    openings = []
    for whale_id in whale_ids:
        balances: dict[str, dict] = {}
        total, missing = Decimal(0), []
        for read in by_address[addresses[whale_id]]:
            asset = assets[read.token_address]
            if read.error:
                # No code at that block (the token came later: nothing was held) or a revert: counted as
                # nothing held, and recorded.
                balances[f"{asset.symbol} ({read.token_address[:10]})"] = {
                    "token_address": read.token_address, "error": read.error[:200]}
                continue
            if not read.value_raw:
                continue
            price = price_at(asset=asset, when=header.block_time)
            if read.token_address == "":
                amount = from_base_units(read.value_raw, NATIVE_DECIMALS)
                label, verified = NATIVE_SYMBOL, True
            else:
                held = holding_value(read, asset, curated_symbols, block, None)
                amount, label, verified = held.amount, held.asset, held.is_verified
            value = q_usd(amount * price) if price is not None and verified else None
            if value is not None:
                total += value
            elif verified and latest_price(asset=asset) is not None:
                missing.append(label)  # priced elsewhere, not near this block: the opening is unpriced
            balances[label] = {"token_address": read.token_address, "amount": f"{amount.normalize():f}",
                               "price_usd": None if value is None else f"{price:f}",
                               "value_usd": None if value is None else f"{value:f}"}
        status, reason = OpeningStatus.OK, ""
        if missing:
            status = OpeningStatus.UNPRICED
            reason = (f"no price within PRICE_MAX_AGE_HOURS of block {block} ({header.block_time:%Y-%m-%d %H:%M} "
                      f"UTC) for {', '.join(sorted(missing)[:10])}")[:500]
        openings.append(WalletOpening(whale_id=whale_id, block_number=block, block_time=header.block_time,
                                      status=status, value_usd=q_usd(total) if status == OpeningStatus.OK else None,
                                      balances=balances, reason=reason))
    return openings
