"""Reorg handling on a real EVM chain (eth-tester / py-evm through web3.py, served over HTTP).

No recording shows a reorg, so the chain is built here: a whale's transfer is mined, collected,
then the chain is reverted to before it and a different block is mined at the same height.
"""

from decimal import Decimal

import pytest

from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.models import BlockRecord
from ledgers.glass.ethereum.services import blocks_collect
from tests.ledgers.glass.ethereum.evm_node import EvmNode
from whales.models import EventType, Trade, Whale, WhaleEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def evm():
    node = EvmNode()
    yield node
    node.stop()


def test_an_orphaned_whale_transfer_is_retracted_and_the_new_chain_ingested(evm, settings):
    settings.ETH_START_BLOCK = 1
    w3, tester = evm.w3, evm.tester
    whale_account, other, third = w3.eth.accounts[0], w3.eth.accounts[1], w3.eth.accounts[2]
    whale = Whale.objects.create(chain="ethereum", address=whale_account.lower(), name="test whale")
    w3.eth.send_transaction({"from": other, "to": third, "value": 10**17})  # block 1, not the whale's
    snapshot = tester.take_snapshot()
    tx_hash = w3.eth.send_transaction({"from": whale_account, "to": other, "value": 5 * 10**18})  # block 2
    orphan_number = w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]
    orphan_hash = "0x" + bytes(w3.eth.get_block(orphan_number)["hash"]).hex()
    client = EthereumRpcClient(evm.url, timeout_s=5, retries=1, backoff_s=0.01)

    first = blocks_collect(client=client, confirmations=0, to_block=orphan_number)

    assert (first.status, first.blocks) == ("ok", orphan_number), first.error
    trade = Trade.objects.get(whale=whale)
    assert (trade.direction, trade.amount_base, trade.block_hash) == ("send", Decimal(5), orphan_hash)

    tester.revert_to_snapshot(snapshot)  # the whale's block is orphaned...
    w3.eth.send_transaction({"from": third, "to": other, "value": 10**16})  # ...replaced at the same height
    tester.mine_blocks(1)
    new_hash = "0x" + bytes(w3.eth.get_block(orphan_number)["hash"]).hex()
    assert new_hash != orphan_hash

    second = blocks_collect(client=client, confirmations=0)

    assert second.status == "ok", second.error
    assert not Trade.objects.filter(whale=whale).exists()
    retraction = WhaleEvent.objects.get(type=EventType.REORG_RETRACTION)
    assert (retraction.tx_hash, retraction.block_number, retraction.whale) == (orphan_hash, orphan_number, None)
    assert [t["tx_hash"] for t in retraction.details["trades"]] == ["0x" + bytes(tx_hash).hex()]
    head = w3.eth.block_number
    stored = dict(BlockRecord.objects.values_list("block_number", "block_hash"))
    assert stored == {n: "0x" + bytes(w3.eth.get_block(n)["hash"]).hex() for n in range(1, head + 1)}

    third_run = blocks_collect(client=client, confirmations=0)  # nothing new: nothing changes
    assert (third_run.blocks, WhaleEvent.objects.count()) == (0, 1)
