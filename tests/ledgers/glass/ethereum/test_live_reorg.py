"""Reorgs on a real node: anvil_reorg replaces the newest blocks (depth 1, 2 and 5), with and without
replacement transactions, under a collector that follows the chain. What survives is read from the node
itself (its blocks after the reorg); the collector's trades must match them exactly."""

import pytest
from web3 import Web3

from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.models import BlockRecord
from ledgers.glass.ethereum.services import blocks_collect
from whales.chains import Chain
from whales.models import EventType, RunStatus, Trade, Whale, WhaleEvent

pytestmark = pytest.mark.django_db


def collect(chain, **kwargs):
    result = blocks_collect(client=EthereumRpcClient(chain.url, timeout_s=10, retries=0), confirmations=0, **kwargs)
    assert result.status == RunStatus.OK, result.error
    return result


def node_whale_txs(chain, whale: str, first: int, last: int) -> dict[int, set[str]]:
    """{block: hashes of the node's transactions from or to ``whale``} over [first, last], canonical now."""
    found: dict[int, set[str]] = {}
    for number in range(first, last + 1):
        block = chain.w3.eth.get_block(number, full_transactions=True)
        hashes = {tx["hash"].to_0x_hex() for tx in block["transactions"]
                  if whale in (tx["from"].lower(), (tx["to"] or "").lower())}
        if hashes:
            found[number] = hashes
    return found


def stored_whale_txs(whale: str) -> dict[int, set[str]]:
    found: dict[int, set[str]] = {}
    for number, tx_hash in Trade.objects.filter(whale__address=whale).values_list("block_number", "tx_hash"):
        found.setdefault(number, set()).add(tx_hash)
    return found


@pytest.mark.parametrize("depth", [1, 2, 5])
@pytest.mark.parametrize("replace", [False, True], ids=["empty", "replaced"])
def test_a_reorg_retracts_the_orphaned_trades_and_ingests_the_new_branch(chain, depth, replace):
    whale, friend = chain.accounts[6], chain.accounts[7]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="reorg whale")
    start = chain.head() + 1
    for n in range(depth + 2):  # one whale transfer per block, the newest ``depth`` of them to be orphaned
        chain.send_eth(sender=whale, to=friend, value_wei=10**17 * (n + 1))
    head = chain.head()
    collect(chain, from_block=start)
    before = stored_whale_txs(whale)
    assert before == node_whale_txs(chain, whale, start, head)
    orphaned_hashes = {b.block_hash for b in BlockRecord.objects.filter(block_number__gt=head - depth)}

    replacements = []
    if replace:  # the new branch carries other whale transfers, in its first and last blocks
        replacements = [[{"from": Web3.to_checksum_address(whale), "to": Web3.to_checksum_address(friend),
                          "value": hex(7 * 10**16 + offset)}, offset] for offset in sorted({0, depth - 1})]
    chain.rpc("anvil_reorg", [depth, replacements])
    chain.mine(1)  # the follower sees the new head, whose ancestry no longer matches what it stored
    collect(chain)

    after = stored_whale_txs(whale)
    assert after == node_whale_txs(chain, whale, start, chain.head())
    assert after != before
    # One retraction event per orphaned block, listing the trades it withdrew (the whale's, one per block).
    retracted = {e.details["orphaned_block_hash"]: e.details["trades"]
                 for e in WhaleEvent.objects.filter(type=EventType.REORG_RETRACTION)}
    assert set(retracted) == orphaned_hashes
    withdrawn = {trade["tx_hash"] for trades in retracted.values() for trade in trades}
    assert withdrawn == {h for n, hashes in before.items() if n > head - depth for h in hashes}
    assert not Trade.objects.filter(block_hash__in=orphaned_hashes).exists()
    assert set(BlockRecord.objects.filter(block_number__gte=start).values_list("block_hash", flat=True)) == {
        chain.w3.eth.get_block(n)["hash"].to_0x_hex() for n in range(start, chain.head() + 1)}
