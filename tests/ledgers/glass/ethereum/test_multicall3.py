"""Balance reads through Multicall3 ``aggregate3`` on a real node: anvil with the Uniswap V2 builds and Multicall3
from the npm package viem (its creation bytecode, deployed, its runtime code placed at the canonical address with
anvil_setCode). Every expected value is the node's own answer to the single call, at the same block."""

from decimal import Decimal

import pytest
import requests
from web3 import Web3

from ledgers.exchange.market.models import Asset
from ledgers.glass.ethereum import client as client_module
from ledgers.glass.ethereum.client import MULTICALL3_ADDRESS, EthereumRpcClient
from ledgers.glass.ethereum.holdings import holdings_collect
from ledgers.glass.ethereum.types import BalanceQuery, BalanceRead
from ledgers.models import CollectorRun
from tests.chain.anvil import Anvil, multicall3_place
from whales.chains import Chain
from whales.models import Holding, RunStatus, Whale

BALANCE_OF = "0x70a08231"
LONG_RETURN_CODE = "0x60406000f3"  # PUSH1 64 PUSH1 0 RETURN: every call returns 64 zero bytes, not one uint256
GAS_BURNER_CODE = "0x5b600056"  # JUMPDEST PUSH1 0 JUMP: loops until its gas is gone


@pytest.fixture(scope="module")
def placed(chain, uniswap):
    """Odd tokens and Multicall3 on the module's chain: {"before": a block without Multicall3, "long": a contract
    whose balanceOf returns 64 bytes, "burner": one that burns all its gas}."""
    long_return, burner = "0x" + "cd" * 20, "0x" + "ce" * 20
    chain.rpc("anvil_setCode", [long_return, LONG_RETURN_CODE])
    chain.rpc("anvil_setCode", [burner, GAS_BURNER_CODE])
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(chain.accounts[6]), 5 * 10**18),
                   sender=chain.accounts[0])
    before = chain.head()
    multicall3_place(chain, deployer=chain.accounts[0])
    return {"before": before, "long": long_return, "burner": burner}


def node_read(chain: Anvil, query: BalanceQuery, block: int) -> tuple[int | None, str]:
    """The node's own answer to the single read: (balance, "") or (None, why), from one raw JSON-RPC call."""
    if not query.token_address:
        return chain.eth_balance_wei(query.address, block), ""
    data = BALANCE_OF + query.address.removeprefix("0x").rjust(64, "0")
    answer = requests.post(chain.url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": [
        {"to": query.token_address, "data": data}, hex(block)]}, timeout=30).json()
    if "error" in answer:
        return None, f"reverted: {answer['error']['message']}"
    returned = bytes.fromhex(answer["result"][2:])
    if not returned:
        return None, "no contract code (empty return)"
    if len(returned) != 32:
        return None, f"malformed return ({len(returned)} bytes, not one uint256)"
    return int.from_bytes(returned, "big"), ""


def queries(chain: Anvil, uniswap, placed) -> list[BalanceQuery]:
    tokens = [uniswap.token_a.address.lower(), uniswap.token_b.address.lower(), uniswap.weth.address.lower()]
    odd = [chain.accounts[9], uniswap.factory.address.lower(), placed["long"], placed["burner"]]
    return ([BalanceQuery(a) for a in chain.accounts]
            + [BalanceQuery(a, t) for a in chain.accounts for t in tokens]
            + [BalanceQuery(chain.accounts[6], t) for t in odd])


def test_multicall3_and_batched_json_rpc_read_what_the_node_answers(chain, uniswap, placed, monkeypatch):
    # Small chunks, so the reads span several aggregate3 calls and several JSON-RPC batches.
    monkeypatch.setattr(client_module, "MULTICALL_CHUNK", 7)
    monkeypatch.setattr(client_module, "MULTICALL_PER_BATCH", 2)
    wanted = queries(chain, uniswap, placed)
    block = chain.head()
    assert chain.rpc("eth_getCode", [MULTICALL3_ADDRESS, hex(block)]) not in ("0x", "")
    multicall = EthereumRpcClient(chain.url, retries=0)
    batched = EthereumRpcClient(chain.url, retries=0, multicall3=False)
    through_multicall = multicall.balances_at(wanted, block_number=block)
    through_batches = batched.balances_at(wanted, block_number=block, batch_size=9)

    expected = []
    for query in wanted:
        value, error = node_read(chain, query, block)
        expected.append(BalanceRead(query.address, query.token_address, block,
                                    None if value is None else Decimal(value), error))
    assert through_multicall == through_batches == expected
    # The odd tokens: no code, a revert (the factory has no balanceOf), 64 bytes, out of gas.
    errors = [read.error for read in expected[-4:]]
    assert errors[0] == "no contract code (empty return)"
    assert errors[1].startswith("reverted") and errors[3].startswith("reverted")
    assert errors[2] == "malformed return (64 bytes, not one uint256)"
    assert int(expected[len(chain.accounts)].value_raw) == uniswap.balance_of(uniswap.token_a, chain.accounts[0],
                                                                                 block)
    # Multicall3 read all but the two calls that failed inside the aggregate: each was asked again on its own,
    # so its error is the node's own answer.
    assert multicall.reads_by_path == {"multicall3_aggregate3": len(wanted) - 2, "json_rpc_batch": 2}
    assert multicall.read_path == "multicall3_aggregate3+json_rpc_batch"
    assert batched.reads_by_path == {"json_rpc_batch": len(wanted)}


def test_without_multicall3_code_at_the_read_block_the_reads_go_batched(chain, uniswap, placed):
    before = placed["before"]
    assert chain.rpc("eth_getCode", [MULTICALL3_ADDRESS, hex(before)]) == "0x"
    wanted = queries(chain, uniswap, placed)[:20]
    client = EthereumRpcClient(chain.url, retries=0)
    reads = client.balances_at(wanted, block_number=before)
    assert [(r.value_raw, r.error) for r in reads] == [
        (None if value is None else Decimal(value), error)
        for value, error in (node_read(chain, q, before) for q in wanted)]
    assert client.read_path == "json_rpc_batch"


def test_an_aggregate3_that_fails_as_a_whole_is_read_again_batched(chain, uniswap, placed):
    """The client found Multicall3 at the head; asked at a block before it existed, each aggregate3 call returns
    nothing (no code there), so every read of those chunks is made the batched way, with the same values."""
    client = EthereumRpcClient(chain.url, retries=0)
    wanted = queries(chain, uniswap, placed)[:20]
    client.balances_at(wanted[:1], block_number=chain.head())  # Multicall3 is there: the client uses it from now on
    before = placed["before"]
    reads = client.balances_at(wanted, block_number=before)
    assert [int(r.value_raw) for r in reads] == [node_read(chain, q, before)[0] for q in wanted]
    assert client.reads_by_path == {"multicall3_aggregate3": 1, "json_rpc_batch": len(wanted)}


@pytest.mark.django_db
@pytest.mark.parametrize(("multicall3", "path"), [(True, "multicall3_aggregate3"), (False, "json_rpc_batch")])
def test_the_holdings_run_says_which_read_path_it_used(chain, uniswap, placed, settings, multicall3, path):
    settings.ETH_CONFIRMATIONS = 0
    settings.ETH_MULTICALL3 = multicall3
    whale = chain.accounts[6]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="multicall whale")
    token_a = uniswap.token_a.address.lower()
    Asset.objects.create(symbol="TKA", name="Token A", chain=Chain.ETHEREUM, contract_address=token_a, decimals=18)
    result = holdings_collect(rpc_url=chain.url)
    block = chain.head()
    # The seeded mainnet assets have no code on this chain: their reads fail (no contract code) on either path.
    curated = Asset.objects.filter(chain=Chain.ETHEREUM, metadata_source="").exclude(contract_address="").count()
    assert (result.status, result.extra["block_number"]) == (RunStatus.PARTIAL, block)
    run = CollectorRun.objects.get(collector="ethereum_holdings")
    # No opening is due: the block collector has not started (no cursor), so tracking has not either.
    assert run.details == {"scope": "all", "read_path": path, "reads_by_path": {path: 1 + curated},
                           "whales_read_newer": 0, "openings": {"ok": 0, "unpriced": 0, "unavailable": 0, "blocks": 0}}
    held = dict(Holding.objects.filter(whale__address=whale).values_list("token_address", "amount"))
    assert held == {"": Decimal(chain.eth_balance_wei(whale, block)).scaleb(-18),
                    token_a: Decimal(uniswap.balance_of(uniswap.token_a, whale, block)).scaleb(-18)}
