"""Ethereum holdings on a real node (anvil with the Uniswap V2 builds): amounts, blocks and token metadata are
checked against what the node itself answers; prices come from the recorded CoinGecko CSV. The per-batch refresh
runs the task the collector queued, as a worker would; the node without state is the replay node."""

from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal

import pytest
from celery import current_app
from django.core.cache import cache
from web3 import Web3

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.holdings import (
    PENDING_TASK,
    _no_state_key,
    holdings_collect,
    holdings_mark_pending,
    holdings_refresh,
    node_no_state_reason,
)
from ledgers.glass.ethereum.models import HoldingsSync
from ledgers.glass.ethereum.services import blocks_collect
from ledgers.models import CollectorRun
from tests.chain.anvil import DEADLINE
from tests.ledgers.glass.ethereum.recorded import RECORDED_BLOCKS, eth_price_on
from whales.chains import Chain
from whales.jobs import COALESCE_KEY
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
    # Portfolio shares of the priced total (what the portfolio value counts): B, unvalued, has none and
    # takes nothing from the others.
    priced = held[""].value_usd + a.value_usd
    assert held[""].portfolio_percent == (held[""].value_usd / priced * 100).quantize(Decimal("0.0001"))
    assert a.portfolio_percent == (a.value_usd / priced * 100).quantize(Decimal("0.0001"))


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


def test_a_refresh_at_an_older_block_leaves_a_newer_read_in_place(chain, uniswap, wallet):
    whale, _, curated = wallet
    client = EthereumRpcClient(chain.url, retries=0)
    older = chain.head()
    balance = uniswap.balance_of(uniswap.token_a, whale)
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(chain.accounts[0]), balance),
                   sender=whale)
    newer = chain.head()
    holdings_refresh(client=client, block_number=newer)
    stored = set(Holding.objects.filter(whale__address=whale).values_list("token_address", "amount", "block_number"))
    assert curated.contract_address not in {token for token, _, _ in stored}
    # A slow refresh at the older block (the whale still held token A then) finishes afterwards: nothing changes.
    late = holdings_refresh(client=client, block_number=older)
    assert (late.whales, late.whales_read_newer, late.holdings) == (0, 1, 0)
    assert set(Holding.objects.filter(whale__address=whale).values_list("token_address", "amount",
                                                                       "block_number")) == stored
    assert HoldingsSync.objects.get(whale__address=whale).block_number == newer


def test_a_pending_mark_stays_until_a_read_covers_its_block(chain, uniswap, wallet):
    whale, _, _ = wallet
    whale_id = Whale.objects.get(address=whale).id
    head = chain.head()
    holdings_mark_pending(whale_ids=[whale_id], block_number=head - 1, rpc_url=chain.url)
    holdings_mark_pending(whale_ids=[whale_id], block_number=head, rpc_url=chain.url)
    holdings_mark_pending(whale_ids=[whale_id], block_number=head - 2, rpc_url=chain.url)  # never moves back
    mark = HoldingsSync.objects.get(whale_id=whale_id)
    assert mark.pending_block_number == head
    client = EthereumRpcClient(chain.url, retries=0)
    holdings_refresh(client=client, block_number=head - 1)
    assert HoldingsSync.objects.get(whale_id=whale_id).pending_block_number == head
    holdings_refresh(client=client, block_number=head)
    assert HoldingsSync.objects.values_list("pending_block_number", "pending_since", "block_number").get(
        whale_id=whale_id) == (None, None, head)


def pending_refreshes(queued: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """The holdings refreshes among the queued tasks (the collector also queues metrics recomputes)."""
    return [task for task in queued if task[0] == PENDING_TASK]


def run_queued(name: str, kwargs: dict) -> None:
    """Run a queued message's task here, by its name, as a worker would (its autodiscovered task modules)."""
    current_app.loader.import_default_modules()
    current_app.tasks[name].apply(kwargs=kwargs, throw=True)


def test_after_the_collector_follows_blocks_its_whales_hold_what_the_node_says(
        chain, uniswap, settings, broker_tasks, django_capture_on_commit_callbacks):
    """No full refresh: the collector's batches queue one refresh of the whales they stored trades of, and that
    task alone makes their holdings equal the node's balances at the head."""
    settings.ETH_CONFIRMATIONS = 2  # the collector below follows with none: the refresh reads where it stopped
    cache.delete(COALESCE_KEY.format(name=PENDING_TASK))
    trader, idle = chain.accounts[7], chain.accounts[8]
    trader_id = Whale.objects.create(chain=Chain.ETHEREUM, address=trader, name="trader").id
    idle_id = Whale.objects.create(chain=Chain.ETHEREUM, address=idle, name="idle").id
    start = chain.head() + 1
    chain.transact(uniswap.token_a.functions.transfer(Web3.to_checksum_address(trader), 3 * 10**18),
                   sender=chain.accounts[0])
    chain.transact(uniswap.router.functions.swapExactETHForTokens(
        0, [uniswap.weth.address, uniswap.token_b.address], Web3.to_checksum_address(trader), DEADLINE),
        sender=trader, value_wei=10**18)
    chain.send_eth(sender=trader, to=chain.accounts[0], value_wei=2 * 10**18)
    client = EthereumRpcClient(chain.url, retries=0)
    with django_capture_on_commit_callbacks(execute=True):
        result = blocks_collect(client=client, from_block=start, confirmations=0, batch_blocks=1)
    head = chain.head()
    assert (result.status, result.blocks) == (RunStatus.OK, head - start + 1)
    # Three batches stored trades of the trader: one refresh queued (coalesced), for this node.
    queued = pending_refreshes(broker_tasks())
    assert queued == [(PENDING_TASK, {"rpc_url": chain.url})]
    assert list(HoldingsSync.objects.values_list("whale_id", "pending_block_number")) == [(trader_id, head)]
    assert not Holding.objects.exists()

    [(name, kwargs)] = queued
    run_queued(name, kwargs)  # what a worker does with the message

    token_a, token_b = uniswap.token_a.address.lower(), uniswap.token_b.address.lower()
    held = dict(Holding.objects.filter(whale_id=trader_id).values_list("token_address", "amount"))
    assert held == {
        "": Decimal(chain.eth_balance_wei(trader, head)).scaleb(-18),
        token_a: Decimal(uniswap.balance_of(uniswap.token_a, trader, head)).scaleb(
            uniswap.token_a.functions.decimals().call() * -1),
        token_b: Decimal(uniswap.balance_of(uniswap.token_b, trader, head)).scaleb(
            uniswap.token_b.functions.decimals().call() * -1),
    }
    assert set(Holding.objects.filter(whale_id=trader_id).values_list("block_number", flat=True)) == {head}
    assert not Holding.objects.filter(whale_id=idle_id).exists()  # not touched, not read
    assert list(HoldingsSync.objects.values_list("whale_id", "block_number", "pending_block_number")) == [
        (trader_id, head, None)]
    run = CollectorRun.objects.get(collector="ethereum_holdings")
    assert (run.items_seen, run.to_position, run.details["scope"]) == (1, head, "pending")
    # Nothing pending any more: the next message (or a duplicate) runs nothing and logs no run.
    run_queued(name, kwargs)
    assert CollectorRun.objects.filter(collector="ethereum_holdings").count() == 1


def test_a_node_without_state_gets_no_refresh_per_batch_once_it_has_said_so(
        replay, recorded_world, eth_client, broker_tasks, django_capture_on_commit_callbacks):
    first, last = RECORDED_BLOCKS
    cache.delete(_no_state_key(replay.eth_url))
    cache.delete(COALESCE_KEY.format(name=PENDING_TASK))
    with django_capture_on_commit_callbacks(execute=True):
        blocks_collect(client=eth_client, from_block=first, to_block=first, confirmations=0)
    [(name, kwargs)] = pending_refreshes(broker_tasks())
    touched = set(Trade.objects.values_list("whale_id", flat=True))
    assert set(HoldingsSync.objects.filter(pending_block_number=first).values_list("whale_id", flat=True)) == touched
    run_queued(name, kwargs)
    run = CollectorRun.objects.get(collector="ethereum_holdings")
    assert run.status == RunStatus.FAILED and "the node serves no account state" in run.error
    assert node_no_state_reason(rpc_url=replay.eth_url) == run.error

    # The next batch, after the coalescing window: trades of tracked whales again, but no mark and no refresh.
    cache.delete(COALESCE_KEY.format(name=PENDING_TASK))
    with django_capture_on_commit_callbacks(execute=True):
        blocks_collect(client=eth_client, from_block=last, to_block=last, confirmations=0)
    assert Trade.objects.filter(block_number=last).exists()
    assert pending_refreshes(broker_tasks()) == []
    assert not HoldingsSync.objects.filter(pending_block_number=last).exists()
    # A refresh queued before the node said so, run now, does nothing either.
    run_queued(name, kwargs)
    assert CollectorRun.objects.filter(collector="ethereum_holdings").count() == 1
    # The beat row's full refresh still asks the node.
    assert holdings_collect(rpc_url=replay.eth_url).status == RunStatus.FAILED
    assert CollectorRun.objects.filter(collector="ethereum_holdings").count() == 2
    cache.delete(_no_state_key(replay.eth_url))


def test_an_event_stored_before_a_tokens_metadata_says_its_amount_once_it_is_read(chain, uniswap):
    """A priced swap into a token nobody knew yet raises an event naming "an unknown amount of <contract>";
    once the holdings refresh reads the token's metadata, the event gives the node's amount and the symbol."""
    from django.utils import timezone

    from whales.models import EventThreshold, EventType, WhaleEvent

    eth = Asset.objects.get(chain=Chain.ETHEREUM, contract_address="")
    # Stamped a minute back: block times are whole seconds, and a price must be at or before the block.
    PriceHistory.objects.create(asset=eth, timestamp=timezone.now() - timedelta(minutes=1),
                                price_usd=eth_price_on(PRICE_DAY))
    EventThreshold.objects.update_or_create(event_type=EventType.LARGE_SWAP, defaults={"min_value_usd": Decimal(1)})
    whale = chain.accounts[7]
    Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="event whale")
    start = chain.head() + 1
    receipt = chain.transact(uniswap.router.functions.swapExactETHForTokens(
        0, [uniswap.weth.address, uniswap.token_b.address], Web3.to_checksum_address(whale), DEADLINE),
        sender=whale, value_wei=10**18)
    blocks_collect(client=EthereumRpcClient(chain.url, retries=0), from_block=start, confirmations=0)
    token_b = uniswap.token_b.address.lower()
    event = WhaleEvent.objects.get(whale__address=whale, type=EventType.LARGE_SWAP)
    assert f"an unknown amount of {token_b}" in event.summary
    holdings_refresh(client=EthereumRpcClient(chain.url, retries=0), block_number=chain.head())
    event.refresh_from_db()
    [transfer] = [e for e in uniswap.token_b.events.Transfer().process_receipt(receipt)
                  if e["address"].lower() == token_b and e["args"]["to"].lower() == whale]
    amount = Decimal(transfer["args"]["value"]).scaleb(-uniswap.token_b.functions.decimals().call(),
                                                      context=Context(prec=80))
    label = f"{uniswap.token_b.functions.symbol().call()} ({token_b[:10]})"
    assert f"bought {amount.normalize():,f} {label} for 1 ETH" in event.summary
    assert "unknown amount" not in event.summary
