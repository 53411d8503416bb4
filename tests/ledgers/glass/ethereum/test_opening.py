"""Opening positions and ROI on a real node (anvil with the Uniswap V2 builds): the balances a whale held when
tracking started are read at that block and checked against the node's own answers; the ROI is worked out in
the test from the node's balances. Offline, the replay node serves no state: the ROI says so."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from web3 import Web3

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.holdings import holdings_collect
from ledgers.glass.ethereum.opening import openings_read
from ledgers.glass.ethereum.services import blocks_collect
from ledgers.models import CollectorRun
from tests.chain.anvil import DEADLINE
from tests.ledgers.glass.ethereum import recorded
from whales.analytics.metrics import metrics_recompute
from whales.chains import Chain
from whales.models import Direction, Holding, OpeningStatus, Trade, WalletMetrics, WalletOpening, Whale
from whales.money import q_usd

PRICE_DAY = "2024-03-14"  # a real recorded ETH close, used as the ETH price of this chain's blocks
Q4 = Decimal("0.0001")


@pytest.fixture
def priced(chain, uniswap, db):
    """ETH priced (a recorded close, stamped just before this chain's blocks) and token A curated as a 1 USD
    stablecoin; returns (ETH price, token A asset)."""
    price = recorded.eth_price_on(PRICE_DAY)
    eth = Asset.objects.get(chain=Chain.ETHEREUM, contract_address="")
    PriceHistory.objects.filter(asset=eth).delete()
    PriceHistory.objects.create(asset=eth, timestamp=timezone.now() - timedelta(hours=1), price_usd=price)
    token_a = Asset.objects.create(symbol="TKA", name="Curated test token", chain=Chain.ETHEREUM,
                                   contract_address=uniswap.token_a.address.lower(), decimals=18, is_stablecoin=True)
    return price, token_a


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_opening_is_the_node_balance_before_the_first_trade_and_the_roi_follows(chain, uniswap, priced):
    price, _ = priced
    whale, other = chain.accounts[6], chain.accounts[7]
    me = Web3.to_checksum_address(whale)
    # Before tracking: the whale holds anvil's ETH and 500 token A.
    chain.transact(uniswap.token_a.functions.transfer(me, 500 * 10**18), sender=chain.accounts[0])
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="opening whale")
    start = chain.head() + 1
    chain.send_eth(sender=whale, to=other, value_wei=3 * 10**18)  # money out
    chain.transact(uniswap.token_a.functions.transfer(me, 100 * 10**18), sender=chain.accounts[0])  # money in
    chain.transact(uniswap.router.functions.swapExactETHForTokens(  # a swap: neither
        0, [uniswap.weth.address, uniswap.token_a.address], me, DEADLINE), sender=whale, value_wei=2 * 10**18)
    client = EthereumRpcClient(chain.url, retries=0)
    assert blocks_collect(client=client, from_block=start, confirmations=0).status == "ok"
    first_block = Trade.objects.filter(whale__address=whale).order_by("block_number").first().block_number
    assert first_block == start

    result = holdings_collect(rpc_url=chain.url)
    assert result.extra["openings"]["ok"] == 1, result

    opening = WalletOpening.objects.get(whale__address=whale)
    block = first_block - 1
    eth_open = Decimal(chain.eth_balance_wei(whale, block)).scaleb(-18)
    a_open = Decimal(uniswap.balance_of(uniswap.token_a, whale, block)).scaleb(-18)
    assert a_open == 500
    node_time = chain.w3.eth.get_block(block)["timestamp"]
    assert (opening.block_number, opening.status, int(opening.block_time.timestamp())) == (
        block, OpeningStatus.OK, node_time)
    assert Decimal(opening.balances["ETH"]["amount"]) == eth_open
    assert Decimal(opening.balances["TKA"]["amount"]) == a_open
    opening_value = q_usd(eth_open * price) + q_usd(a_open)
    assert opening.value_usd == opening_value

    # ROI from the node: (holdings at the head + withdrawals - (opening + deposits)) / (opening + deposits).
    head = Holding.objects.filter(whale__address=whale, token_address="").get().block_number
    portfolio = (q_usd(Decimal(chain.eth_balance_wei(whale, head)).scaleb(-18) * price)
                 + q_usd(Decimal(uniswap.balance_of(uniswap.token_a, whale, head)).scaleb(-18)))
    withdrawals = q_usd(Decimal(3) * price)
    deposits = opening_value + Decimal(100)
    flows = dict(Trade.objects.filter(whale__address=whale, direction__in=[Direction.SEND, Direction.RECEIVE])
                 .values_list("direction", "value_usd"))
    assert flows == {Direction.SEND: withdrawals, Direction.RECEIVE: Decimal(100)}
    metrics_recompute(whale_ids=[Whale.objects.get(address=whale).pk])
    m = WalletMetrics.objects.get(whale__address=whale)
    assert m.portfolio_value_usd == portfolio
    assert m.roi_percent == ((portfolio + withdrawals - deposits) / deposits * 100).quantize(Q4)
    assert m.details["opening_block_number"] == block

    # Read again: nothing is due, nothing changes.
    assert openings_read(client=client).blocks == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_asset_priced_but_not_near_the_opening_block_leaves_the_opening_unpriced(chain, uniswap, priced):
    _, token_a = priced
    token_a.is_stablecoin = False
    token_a.save()
    PriceHistory.objects.create(asset=token_a, timestamp=timezone.now() - timedelta(days=30), price_usd=Decimal(2))
    whale = chain.accounts[8]
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(whale), 7 * 10**18),
                   sender=chain.accounts[0])
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="unpriced opening")
    start = chain.head() + 1
    chain.send_eth(sender=whale, to=chain.accounts[0], value_wei=10**18)
    client = EthereumRpcClient(chain.url, retries=0)
    blocks_collect(client=client, from_block=start, confirmations=0)
    assert openings_read(client=client).unpriced == 1
    opening = WalletOpening.objects.get(whale__address=whale)
    assert opening.status == OpeningStatus.UNPRICED and opening.value_usd is None
    assert opening.reason.startswith(f"no price within PRICE_MAX_AGE_HOURS of block {start - 1}")
    assert "TKA" in opening.reason and Decimal(opening.balances["TKA"]["amount"]) == 7
    metrics_recompute(whale_ids=[opening.whale_id])
    m = WalletMetrics.objects.get(whale_id=opening.whale_id)
    assert (m.roi_percent, m.details["roi_unavailable"]) == (None, opening.reason)


@pytest.mark.django_db
def test_offline_the_roi_says_the_recordings_hold_no_balances(replay, eth_client, recorded_world, settings):
    settings.ETH_CONFIRMATIONS = 0
    first, last = recorded.RECORDED_BLOCKS[0], recorded.RECORDED_BLOCKS[-1]
    blocks_collect(client=eth_client, from_block=first, to_block=last, confirmations=0)
    result = holdings_collect(rpc_url=replay.eth_url)
    assert result.status == "failed" and "the recordings hold no balances" in result.error
    traded = set(Trade.objects.filter(chain=Chain.ETHEREUM).values_list("whale_id", flat=True))
    openings = WalletOpening.objects.filter(whale_id__in=traded)
    assert openings.count() == len(traded) == result.extra["openings"]["unavailable"]
    assert {o.status for o in openings} == {OpeningStatus.UNAVAILABLE}
    assert CollectorRun.objects.get(collector="ethereum_holdings").details["openings"]["unavailable"] == len(traded)
    whale_id = sorted(traded)[0]
    metrics_recompute(whale_ids=[whale_id])
    m = WalletMetrics.objects.get(whale_id=whale_id)
    assert m.roi_percent is None
    assert m.details["roi_unavailable"].startswith("the node serves no account state (the recordings hold no balances)")


@pytest.mark.django_db
def test_offline_the_wallet_page_says_why_no_balance_and_names_the_tokens_without_metadata(
        replay, eth_client, recorded_world, settings, client):
    settings.ETH_CONFIRMATIONS = 0
    first, last = recorded.RECORDED_BLOCKS[0], recorded.RECORDED_BLOCKS[-1]
    blocks_collect(client=eth_client, from_block=first, to_block=last, confirmations=0)
    holdings_collect(rpc_url=replay.eth_url)
    known = set(Asset.objects.filter(chain=Chain.ETHEREUM).values_list("contract_address", flat=True))
    # From the raw blocks: each whale's ERC-20 movements in tokens no Asset row describes.
    unknown: dict[str, set[str]] = {}
    for number in recorded.RECORDED_BLOCKS:
        for m in recorded.raw_movements(number):
            for side in (m["from"], m["to"]):
                if side in recorded_world["whales"] and m["token"] and m["token"] not in known:
                    unknown.setdefault(side, set()).add(m["token"])
    address = max(sorted(unknown), key=lambda a: len(unknown[a]))  # the whale with the most such tokens
    page = client.get(f"/wallets/ethereum/{address}/").content.decode()
    assert "No balance is available: the node serves no account state (the recordings hold no balances)" in page
    stored = set(Trade.objects.filter(whale__address=address, amount_base__isnull=True)
                 .values_list("base_token_address", flat=True))
    assert stored and stored <= unknown[address]  # a swap's unknown quote side is not a base token
    assert 'id="tokens-without-metadata"' in page
    for token in stored:
        assert f'<span class="mono">{token}</span>' in page
    assert "which this node cannot answer (it serves no contract state)" in page
