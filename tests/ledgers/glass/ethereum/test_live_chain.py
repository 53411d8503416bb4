"""The Ethereum collector following a real node (anvil, from npm) live, with the real Uniswap V2 contracts:
whale activity is made on the chain, the collector polls it with confirmations as against mainnet, and
what it stores is checked against what the node itself says (balances at block n-1 and n, receipts)."""


from decimal import Decimal

import pytest
from web3 import Web3

from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.services import blocks_collect
from ledgers.models import CollectorRun
from tests.chain.anvil import DEADLINE, Anvil
from whales.chains import Chain
from whales.models import AddressCategory, Entity, EntityKind, KnownAddress, RunStatus, Trade, Whale

pytestmark = pytest.mark.django_db




def collect(chain: Anvil, *, from_block: int, confirmations: int):
    client = EthereumRpcClient(chain.url, timeout_s=10)
    return blocks_collect(client=client, from_block=from_block, confirmations=confirmations)


def native_delta_wei(address: str, block: int) -> int:
    """What the whale's stored native trades of ``block`` move, signed (in: +, out: -)."""
    total = 0
    for trade in Trade.objects.filter(whale__address=address, block_number=block, log_index=-1):
        total += int(trade.amount_raw) if trade.direction in ("receive", "withdraw", "buy") else -int(trade.amount_raw)
    return total


def test_the_collector_follows_the_node_and_stores_what_the_balances_say(chain, uniswap, settings):
    settings.ETH_CONFIRMATIONS = 2
    whale, friend, stranger = chain.accounts[1], chain.accounts[2], chain.accounts[3]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="anvil whale")
    start = chain.head() + 1
    sent = chain.send_eth(sender=whale, to=friend, value_wei=15 * 10**17)          # 1.5 ETH out
    received = chain.send_eth(sender=stranger, to=whale, value_wei=2 * 10**18)     # 2 ETH in
    token_in = chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(whale), 5 * 10**18),
                              sender=chain.accounts[0])
    swap = chain.transact(uniswap.router.functions.swapExactETHForTokens(
        0, [uniswap.weth.address, uniswap.token_b.address], Web3.to_checksum_address(whale), DEADLINE),
        sender=whale, value_wei=10**18)
    last = swap["blockNumber"]

    # Confirmations: the newest two blocks are not collected yet.
    result = collect(chain, from_block=start, confirmations=2)
    assert result.status == RunStatus.OK, result.error
    assert set(Trade.objects.values_list("block_number", flat=True)) <= set(range(start, last - 1))
    chain.mine(2)
    result = collect(chain, from_block=None, confirmations=2)
    assert result.status == RunStatus.OK, result.error

    for receipt in (sent, received):
        block = receipt["blockNumber"]
        fee_wei = receipt["gasUsed"] * receipt["effectiveGasPrice"] if receipt["from"].lower() == whale else 0
        node_delta = chain.eth_balance_wei(whale, block) - chain.eth_balance_wei(whale, block - 1)
        assert native_delta_wei(whale, block) - fee_wei == node_delta
    block = token_in["blockNumber"]
    [trade] = Trade.objects.filter(whale__address=whale, block_number=block)
    node_delta = (uniswap.balance_of(uniswap.token_a, whale, block)
                  - uniswap.balance_of(uniswap.token_a, whale, block - 1))
    assert (trade.direction, trade.base_token_address, int(trade.amount_raw)) == (
        "receive", uniswap.token_a.address.lower(), node_delta)

    # The swap ETH -> token B through the router: one buy, the tokens the whale's balance gained, paid
    # with the ETH it lost (fee apart); the ETH sent to the router is not a second trade.
    block = swap["blockNumber"]
    [trade] = Trade.objects.filter(whale__address=whale, block_number=block)
    token_delta = (uniswap.balance_of(uniswap.token_b, whale, block)
                   - uniswap.balance_of(uniswap.token_b, whale, block - 1))
    eth_delta = chain.eth_balance_wei(whale, block) - chain.eth_balance_wei(whale, block - 1)
    fee_wei = swap["gasUsed"] * swap["effectiveGasPrice"]
    assert (trade.direction, trade.base_token_address, int(trade.amount_raw)) == (
        "buy", uniswap.token_b.address.lower(), token_delta)
    assert trade.quote_token_address == ""  # ETH
    assert trade.amount_quote.scaleb(18) == -(eth_delta + fee_wei)


def test_a_router_s_internal_eth_payout_is_exact_from_call_traces(chain, uniswap):
    """token -> ETH through the router: the ETH reaches the whale by an inner call (WETH withdraw, then the
    router's payout), in no log. anvil gives call traces, so the sell's ETH is exactly what the node says
    the whale gained, fee apart; the run log says traces were used."""
    whale = chain.accounts[5]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="seller")
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(whale), 50 * 10**18),
                   sender=chain.accounts[0])
    chain.transact(uniswap.token_a.functions.approve(uniswap.router.address, 2**256 - 1), sender=whale)
    sell = chain.transact(uniswap.router.functions.swapExactTokensForETH(
        20 * 10**18, 0, [uniswap.token_a.address, uniswap.weth.address], Web3.to_checksum_address(whale), DEADLINE),
        sender=whale)
    block = sell["blockNumber"]
    result = collect(chain, from_block=block, confirmations=0)
    assert result.status == RunStatus.OK and result.extra["internal_eth"] == "call_traces"
    assert CollectorRun.objects.get(collector="ethereum").details == {"internal_eth": "call_traces"}

    [trade] = Trade.objects.filter(whale__address=whale, block_number=block)
    eth_delta = chain.eth_balance_wei(whale, block) - chain.eth_balance_wei(whale, block - 1)
    fee_wei = sell["gasUsed"] * sell["effectiveGasPrice"]
    token_delta = (uniswap.balance_of(uniswap.token_a, whale, block)
                   - uniswap.balance_of(uniswap.token_a, whale, block - 1))
    assert (trade.direction, trade.base_token_address, int(trade.amount_raw)) == (
        "sell", uniswap.token_a.address.lower(), -token_delta)
    assert (trade.quote_token_address, trade.amount_quote.scaleb(18)) == ("", eth_delta + fee_wei)


def test_an_exchange_deposit_and_an_internal_transfer_on_the_node(chain):
    """A whale sends ETH to a labelled exchange address (a deposit) and to another wallet of its own entity
    (internal: recorded, never an event); amounts are the node's transaction values."""
    fund = Entity.objects.create(slug="anvil-fund", name="Anvil fund", kind=EntityKind.FUND)
    exchange = Entity.objects.create(slug="anvil-exchange", name="Anvil exchange", kind=EntityKind.EXCHANGE)
    whale, twin, hot_wallet = chain.accounts[7], chain.accounts[8], chain.accounts[9]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="fund wallet 1", entity=fund)
    Whale.objects.create(chain=Chain.ETHEREUM, address=twin, name="fund wallet 2", entity=fund)
    KnownAddress.objects.create(chain=Chain.ETHEREUM, address=hot_wallet, name="Anvil exchange hot wallet",
                                category=AddressCategory.EXCHANGE, entity=exchange, source="test")
    deposit = chain.send_eth(sender=whale, to=hot_wallet, value_wei=3 * 10**18)
    internal = chain.send_eth(sender=whale, to=twin, value_wei=4 * 10**18)
    result = collect(chain, from_block=deposit["blockNumber"], confirmations=0)
    assert result.status == RunStatus.OK, result.error

    [flow] = Trade.objects.filter(tx_hash=deposit["transactionHash"].to_0x_hex())
    sent = chain.w3.eth.get_transaction(deposit["transactionHash"])["value"]
    assert (flow.whale.address, flow.direction, flow.source, flow.platform, int(flow.amount_raw)) == (
        whale, "deposit", "exchange_flow", "anvil-exchange", sent)
    moved = chain.w3.eth.get_transaction(internal["transactionHash"])["value"]
    legs = {(t.whale.address, t.direction, int(t.amount_raw), t.is_internal)
            for t in Trade.objects.filter(tx_hash=internal["transactionHash"].to_0x_hex())}
    assert legs == {(whale, "send", moved, True), (twin, "receive", moved, True)}


def test_a_33_digit_token_amount_is_stored_and_held_exactly(chain):
    """10^14 tokens of 18 decimals and change: more significant digits than Decimal's default context keeps.
    The trade's amount and the holding equal the node's raw balance / 10^18, to the last unit."""
    from ledgers.exchange.market.models import Asset
    from ledgers.glass.ethereum.holdings import holdings_refresh
    from tests.chain.anvil import CORE, artifact
    from whales.models import Holding

    supply = 123_456_789_012_345_678_901_234_567_890_123
    token = chain.deploy(artifact(CORE / "ERC20.json"), supply, sender=chain.accounts[0])
    Asset.objects.create(symbol="BIG", name="Many digits", chain=Chain.ETHEREUM,
                         contract_address=token.address.lower(), decimals=18)
    whale = chain.accounts[9]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="33 digits")
    start = chain.head() + 1
    chain.transact(token.functions.transfer(Web3.to_checksum_address(whale), supply), sender=chain.accounts[0])
    assert collect(chain, from_block=start, confirmations=0).status == RunStatus.OK
    balance = token.functions.balanceOf(Web3.to_checksum_address(whale)).call()
    assert balance == supply
    expected = Decimal(f"{balance // 10**18}.{balance % 10**18:018d}")  # from the integer, no Decimal context
    trade = Trade.objects.get(whale__address=whale, base_token_address=token.address.lower())
    assert (trade.amount_raw, trade.amount_base) == (Decimal(balance), expected)
    holdings_refresh(client=EthereumRpcClient(chain.url, retries=0), whale_ids=[trade.whale_id],
                     block_number=chain.head())
    assert Holding.objects.get(whale_id=trade.whale_id, token_address=token.address.lower()).amount == expected
