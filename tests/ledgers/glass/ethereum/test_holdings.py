"""Ethereum holdings on a real node (anvil with the Uniswap V2 builds): amounts, blocks and token metadata are
checked against what the node itself answers; prices come from the recorded CoinGecko CSV."""

from datetime import UTC, datetime
from decimal import Context, Decimal

import pytest
from web3 import Web3

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.holdings import holdings_collect, holdings_refresh
from ledgers.glass.ethereum.services import blocks_collect
from ledgers.models import CollectorRun
from tests.chain.anvil import DEADLINE
from tests.ledgers.glass.ethereum.recorded import eth_price_on
from whales.chains import Chain
from whales.models import Holding, RunStatus, Trade, Whale
from whales.money import q_usd

pytestmark = pytest.mark.django_db
PRICE_DAY = "2024-03-14"  # the recorded blocks' day: a real ETH close


@pytest.fixture
def wallet(chain, uniswap):
    """A whale that received token A (curated, priced) and bought token B (unknown to us, and calling itself
    by token A's symbol: both are the v2-core test ERC20), collected from the chain; ETH priced."""
    whale = chain.accounts[3]
    eth = Asset.objects.get(chain=Chain.ETHEREUM, contract_address="")  # seeded by the market migrations
    PriceHistory.objects.filter(asset=eth).delete()
    PriceHistory.objects.create(asset=eth, timestamp=datetime(2024, 3, 14, tzinfo=UTC),
                                price_usd=eth_price_on(PRICE_DAY))
    token_a = uniswap.token_a.address.lower()
    curated = Asset.objects.create(symbol=uniswap.token_a.functions.symbol().call(), name="Curated test token",
                                   chain=Chain.ETHEREUM, contract_address=token_a, decimals=18, is_stablecoin=True)
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="holdings whale")
    start = chain.head() + 1
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(whale), 1234 * 10**16),
                   sender=chain.accounts[0])
    chain.transact(uniswap.router.functions.swapExactETHForTokens(
        0, [uniswap.weth.address, uniswap.token_b.address], Web3.to_checksum_address(whale), DEADLINE),
        sender=whale, value_wei=2 * 10**18)
    result = blocks_collect(client=EthereumRpcClient(chain.url, retries=0), from_block=start, confirmations=0)
    assert result.status == RunStatus.OK, result.error
    return whale, eth, curated


def test_holdings_are_the_node_balances_at_the_block_valued_through_their_own_contract(chain, uniswap, wallet):
    whale, _, curated = wallet
    block = chain.head()
    refresh = holdings_refresh(client=EthereumRpcClient(chain.url, retries=0), block_number=block)
    # The seeded mainnet assets have no contract on this chain: each of their reads fails, and is counted.
    seeded = Asset.objects.filter(chain=Chain.ETHEREUM, metadata_source="").exclude(contract_address="")
    no_code = [a for a in seeded if not chain.w3.eth.get_code(Web3.to_checksum_address(a.contract_address), block)]
    assert (refresh.block_number, refresh.whales, refresh.reads_failed) == (block, 1, len(no_code))
    held = {h.token_address: h for h in Holding.objects.filter(whale__address=whale)}
    assert set(held) == {"", curated.contract_address, uniswap.token_b.address.lower()}
    assert {h.block_number for h in held.values()} == {block}

    eth_amount = Decimal(chain.eth_balance_wei(whale, block)).scaleb(-18)
    assert (held[""].asset, held[""].amount, held[""].decimals) == ("ETH", eth_amount, 18)
    assert held[""].value_usd == q_usd(eth_amount * eth_price_on(PRICE_DAY))

    a_amount = Decimal(uniswap.balance_of(uniswap.token_a, whale, block)).scaleb(-18)
    a = held[curated.contract_address]
    assert (a.amount, a.value_usd) == (a_amount, q_usd(a_amount))  # a stablecoin: 1 USD
    assert held[curated.contract_address].is_verified

    # Token B was unknown: its metadata is read from its own contract and stored with its source. It calls
    # itself by the curated token's symbol, so it is unverified and valued at nothing.
    token_b = uniswap.token_b.address.lower()
    decimals = uniswap.token_b.functions.decimals().call()
    asset = Asset.objects.get(chain=Chain.ETHEREUM, contract_address=token_b)
    assert (asset.symbol, asset.decimals, asset.metadata_source) == (
        uniswap.token_b.functions.symbol().call(), decimals, f"eth_call@{block}")
    b = held[token_b]
    assert b.amount == Decimal(uniswap.balance_of(uniswap.token_b, whale, block)).scaleb(-decimals)
    assert (b.is_verified, b.value_usd, b.portfolio_percent) == (False, None, None)
    # Portfolio shares: only where every value is known (B is unvalued), so none here.
    assert held[""].portfolio_percent is None


def test_a_refresh_at_a_stated_block_reads_that_block_and_replaces_what_was_held(chain, uniswap, wallet):
    whale, _, curated = wallet
    client = EthereumRpcClient(chain.url, retries=0)
    block = chain.head()
    holdings_refresh(client=client, block_number=block)
    first = {h.token_address: h.amount for h in Holding.objects.filter(whale__address=whale)}
    # The whale sends all its token A away; a refresh at the old block changes nothing, one at the new
    # head drops token A from its holdings.
    balance = uniswap.balance_of(uniswap.token_a, whale)
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(chain.accounts[0]), balance),
                   sender=whale)
    holdings_refresh(client=client, block_number=block)
    assert {h.token_address: h.amount for h in Holding.objects.filter(whale__address=whale)} == first
    holdings_refresh(client=client, block_number=chain.head())
    after = {h.token_address: h.amount for h in Holding.objects.filter(whale__address=whale)}
    assert curated.contract_address not in after
    assert after[""] == Decimal(chain.eth_balance_wei(whale, chain.head())).scaleb(-18)


def test_the_api_shows_each_holding_with_its_contract_decimals_and_block(chain, uniswap, wallet, api_client):
    whale, _, curated = wallet
    block = chain.head()
    holdings_refresh(client=EthereumRpcClient(chain.url, retries=0), block_number=block)
    body = api_client.get(f"/api/v1/wallets/ethereum/{whale}").json()
    by_contract = {h["token_address"]: h for h in body["holdings"]}
    item = by_contract[curated.contract_address]
    assert (item["decimals"], item["block_number"], item["is_verified"]) == (18, block, True)
    assert Decimal(item["amount"]) == Decimal(uniswap.balance_of(uniswap.token_a, whale, block)).scaleb(-18)
    assert by_contract[""]["asset"] == "ETH"


def test_the_recordings_hold_no_balances_and_the_run_says_so(replay, settings):
    Whale.objects.create(chain=Chain.ETHEREUM, address="0x" + "1" * 40, name="offline whale")
    settings.ETH_CONFIRMATIONS = 0
    result = holdings_collect(rpc_url=replay.eth_url)
    assert result.status == RunStatus.FAILED
    assert "the recordings hold no balances" in result.error
    run = CollectorRun.objects.get(collector="ethereum_holdings")
    assert (run.status, run.error) == (RunStatus.FAILED, result.error)
    assert not Holding.objects.exists()


def test_trades_stored_before_a_tokens_metadata_get_its_amounts_once_it_is_read(chain, uniswap, wallet):
    whale, _, _ = wallet
    token_b = uniswap.token_b.address.lower()
    bought = Trade.objects.get(whale__address=whale, base_token_address=token_b)
    assert (bought.amount_base, bought.base_asset) == (None, token_b)  # unknown when it was collected
    value_before = bought.value_usd
    block = chain.head()
    holdings_refresh(client=EthereumRpcClient(chain.url, retries=0), block_number=block)
    bought.refresh_from_db()
    # The node's own answer: the swap's Transfer of token B to the whale, in its decimals.
    receipt = chain.w3.eth.get_transaction_receipt(bought.tx_hash)
    [transfer] = [event for event in uniswap.token_b.events.Transfer().process_receipt(receipt)
                  if event["address"].lower() == token_b and event["args"]["to"].lower() == whale]
    decimals = uniswap.token_b.functions.decimals().call()
    assert bought.amount_raw == transfer["args"]["value"]
    assert bought.amount_base == Decimal(transfer["args"]["value"]).scaleb(-decimals, context=Context(prec=80))
    assert bought.base_asset == f"{uniswap.token_b.functions.symbol().call()} ({token_b[:10]})"
    assert bought.value_usd == value_before  # values stay as collected: only the amount is put in units
