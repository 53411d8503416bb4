"""Daily history on a real node (anvil, its clock moved a day at a time): the backfilled portfolio value and ROI
of each past day equal the node's balances at that day's last block, valued at that day's price; fees are the
node's receipts. Its own module: it moves the node's clock."""

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from web3 import Web3

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.holdings import holdings_collect
from ledgers.glass.ethereum.services import blocks_collect
from ledgers.history import metrics_backfill
from tests.chain.anvil import DEADLINE
from tests.ledgers.glass.ethereum import recorded
from whales.chains import Chain
from whales.models import Trade, WalletMetricsDaily, WalletOpening, Whale
from whales.money import q_usd

# Real recorded ETH closes, one per simulated day (the node's days are today and the three after it).
CLOSES = ("2024-03-11", "2024-03-12", "2024-03-13", "2024-03-14", "2024-03-15")
Q4, Q8 = Decimal("0.0001"), Decimal("0.00000001")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_past_day_is_the_node_balance_at_its_last_block_at_that_days_price(chain, uniswap):
    whale, other = chain.accounts[4], chain.accounts[5]
    me = Web3.to_checksum_address(whale)
    today = timezone.now().astimezone(UTC).date()
    midnight = [datetime.combine(today + timedelta(days=n), time(), tzinfo=UTC) for n in range(1, 5)]
    prices = [recorded.eth_price_on(day) for day in CLOSES]
    eth = Asset.objects.get(chain=Chain.ETHEREUM, contract_address="")
    PriceHistory.objects.filter(asset=eth).delete()
    PriceHistory.objects.create(asset=eth, timestamp=timezone.now() - timedelta(hours=1), price_usd=prices[0])
    for at, price in zip(midnight, prices[1:], strict=True):
        PriceHistory.objects.create(asset=eth, timestamp=at, price_usd=price)
    Asset.objects.create(symbol="TKA", name="Curated test token", chain=Chain.ETHEREUM,
                         contract_address=uniswap.token_a.address.lower(), decimals=18, is_stablecoin=True)
    chain.transact(uniswap.token_a.functions.transfer(me, 50 * 10**18), sender=chain.accounts[0])
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="history whale")
    start = chain.head() + 1

    def at_noon(day: int) -> None:  # the next block is mined at noon of the node's day ``day`` (1-3)
        chain.rpc("evm_setNextBlockTimestamp", [int((midnight[day - 1] + timedelta(hours=12)).timestamp())])

    last_block = {0: start - 1}
    at_noon(1)
    chain.send_eth(sender=whale, to=other, value_wei=2 * 10**18)  # day 1: money out
    last_block[1] = chain.head()
    at_noon(2)
    chain.transact(uniswap.token_a.functions.transfer(me, 300 * 10**18), sender=chain.accounts[0])  # day 2: in
    last_block[2] = chain.head()
    at_noon(3)
    chain.transact(uniswap.router.functions.swapExactETHForTokens(  # day 3: a swap, neither
        0, [uniswap.weth.address, uniswap.token_a.address], me, DEADLINE), sender=whale, value_wei=10**18)
    last_block[3] = chain.head()

    client = EthereumRpcClient(chain.url, retries=0)
    assert blocks_collect(client=client, from_block=start, confirmations=0).status == "ok"
    assert holdings_collect(rpc_url=chain.url).extra["openings"]["ok"] == 1
    # Every fee is the node's own: gas used x effective gas price of the whale's transactions.
    for trade in Trade.objects.filter(whale__address=whale, fee_amount__isnull=False):
        receipt = chain.w3.eth.get_transaction_receipt(trade.tx_hash)
        assert trade.fee_amount == Decimal(receipt["gasUsed"] * receipt["effectiveGasPrice"]).scaleb(-18)
    assert Trade.objects.filter(whale__address=whale, fee_amount__isnull=False).count() == 2  # the two it sent

    result = metrics_backfill(today=today + timedelta(days=4))
    assert (result.whales_written, result.days_written) == (1, 4)
    opening = WalletOpening.objects.get(whale__address=whale)
    assert opening.block_number == start - 1
    rows = {row.date: row for row in WalletMetricsDaily.objects.filter(whale__address=whale)}
    assert sorted(rows) == [today + timedelta(days=n) for n in range(4)]
    outflow = q_usd(Decimal(2) * prices[1])  # the day-1 send, at the day's price
    for day in range(4):
        block = last_block[day]
        eth_amount = Decimal(chain.eth_balance_wei(whale, block)).scaleb(-18)
        a_amount = Decimal(uniswap.balance_of(uniswap.token_a, whale, block)).scaleb(-18)
        price = prices[day + 1]  # the close stamped at the end of the day
        portfolio = eth_amount * price + a_amount
        deposits = opening.value_usd + (Decimal(300) if day >= 2 else 0)
        withdrawals = outflow if day >= 1 else Decimal(0)
        row = rows[today + timedelta(days=day)]
        assert row.portfolio_value_usd == portfolio.quantize(Q8), day
        assert row.roi_percent == ((portfolio + withdrawals - deposits) / deposits * 100).quantize(Q4), day
    assert rows[today + timedelta(days=1)].volume_30d_usd == 0  # a send is not trading volume
    assert rows[today + timedelta(days=3)].trades_1d == 1  # the swap

    # Idempotent: a second run writes the same rows.
    before = list(WalletMetricsDaily.objects.order_by("date").values_list("date", "roi_percent", "portfolio_value_usd"))
    metrics_backfill(today=today + timedelta(days=4))
    assert list(WalletMetricsDaily.objects.order_by("date").values_list(
        "date", "roi_percent", "portfolio_value_usd")) == before
