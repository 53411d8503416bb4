"""Balance and token-metadata reads on a real node (anvil with the Uniswap V2 builds): every expected value
is read back from the node through web3.py's own contract calls, at the same block."""

import pytest
from web3 import Web3

from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.types import BalanceQuery
from tests.chain.anvil import Anvil

MKR_STYLE_SYMBOL = b"MKR".ljust(32, b"\0")




@pytest.fixture(scope="module")
def bytes32_token(chain) -> str:
    """A contract whose every call returns the bytes32 "MKR" (as old tokens answer symbol()): runtime code
    PUSH32 <word> PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN, placed with anvil_setCode."""
    address = "0x" + "ab" * 20
    code = "0x7f" + MKR_STYLE_SYMBOL.hex() + "600052" + "60206000f3"
    chain.rpc("anvil_setCode", [address, code])
    return address


def client(chain: Anvil) -> EthereumRpcClient:
    return EthereumRpcClient(chain.url, timeout_s=10, retries=0)


def test_eth_and_token_balances_are_read_at_the_stated_block(chain, uniswap):
    whale, other = chain.accounts[4], chain.accounts[5]
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(whale), 7 * 10**18),
                   sender=chain.accounts[0])
    before = chain.head()
    chain.send_eth(sender=whale, to=other, value_wei=3 * 10**18)
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(other), 2 * 10**18), sender=whale)
    token_a, token_b = uniswap.token_a.address.lower(), uniswap.token_b.address.lower()
    queries = [BalanceQuery(whale), BalanceQuery(whale, token_a), BalanceQuery(other, token_a),
               BalanceQuery(whale, token_b)]
    for block in (before, chain.head()):
        reads = client(chain).balances_at(queries, block_number=block)
        assert [r.block_number for r in reads] == [block] * 4
        assert [r.error for r in reads] == [""] * 4
        assert [int(r.value_raw) for r in reads] == [
            chain.eth_balance_wei(whale, block),
            uniswap.balance_of(uniswap.token_a, whale, block),
            uniswap.balance_of(uniswap.token_a, other, block),
            uniswap.balance_of(uniswap.token_b, whale, block),
        ]
    # The reads differ across the two blocks: the stated block is what was read, not "latest".
    first, last = (client(chain).balances_at(queries[:2], block_number=b) for b in (before, chain.head()))
    assert first[1].value_raw - last[1].value_raw == 2 * 10**18


def test_reads_are_batched_across_round_trips(chain, uniswap):
    queries = [BalanceQuery(account, uniswap.token_b.address.lower()) for account in chain.accounts] * 3
    block = chain.head()
    reads = client(chain).balances_at(queries, block_number=block, batch_size=7)
    assert [int(r.value_raw) for r in reads] == [uniswap.balance_of(uniswap.token_b, q.address, block)
                                                 for q in queries]


def test_a_token_without_code_or_balanceof_is_recorded_not_raised(chain, uniswap):
    whale = chain.accounts[4]
    no_code = chain.accounts[9]  # an account: no contract code
    reverts = uniswap.factory.address.lower()  # the factory has no balanceOf and no fallback: it reverts
    reads = client(chain).balances_at([BalanceQuery(whale, no_code), BalanceQuery(whale, reverts),
                                       BalanceQuery(whale)], block_number=chain.head())
    assert (reads[0].value_raw, reads[0].error) == (None, "no contract code (empty return)")
    assert reads[1].value_raw is None and reads[1].error.startswith("reverted")
    assert int(reads[2].value_raw) == chain.eth_balance_wei(whale, chain.head())


def test_token_metadata_as_the_contracts_answer_it(chain, uniswap, bytes32_token):
    weth = uniswap.weth
    tokens = [uniswap.weth.address.lower(), uniswap.token_a.address.lower(), bytes32_token, chain.accounts[9]]
    block = chain.head()
    weth_meta, token_meta, old_style, nothing = client(chain).token_metadata(tokens, block_number=block)
    assert (weth_meta.symbol, weth_meta.name, weth_meta.decimals, weth_meta.problems) == (
        weth.functions.symbol().call(), weth.functions.name().call(), weth.functions.decimals().call(), ())
    assert (token_meta.symbol, token_meta.name, token_meta.decimals) == (
        uniswap.token_a.functions.symbol().call(), uniswap.token_a.functions.name().call(),
        uniswap.token_a.functions.decimals().call())
    # bytes32 symbol and name; its "decimals" (the same word) is no uint8, so it is unknown, and said so.
    assert (old_style.symbol, old_style.name, old_style.decimals) == (
        MKR_STYLE_SYMBOL.rstrip(b"\0").decode(), MKR_STYLE_SYMBOL.rstrip(b"\0").decode(), None)
    assert old_style.problems == ("decimals: not a uint8",)
    assert (nothing.has_code, nothing.symbol, nothing.decimals, nothing.problems) == (
        False, "", None, ("no contract code",))
