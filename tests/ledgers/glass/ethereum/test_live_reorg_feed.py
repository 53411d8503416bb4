"""The live feed across reorgs on a real node: WebSocket clients of a real daphne process (``/ws/events/``,
the Redis channel layer of REDIS_URL shared with this process), while the collector follows anvil with
confirmations and ``anvil_reorg`` replaces the newest 1, 2 or 5 blocks, with and without replacement
transactions.

The contract every feed client gets, checked frame by frame (expected values read from the node's blocks
before and after the reorg, never from our parser):

1. Each whale event of a block the collector stored is sent once: one ``event`` frame per event id.
2. An event that was sent and whose block is then orphaned is withdrawn: the client receives ONE
   ``reorg_retraction`` frame per orphaned block the collector had stored, naming that block's hash and
   the trades it withdrew (``details.trades[].tx_hash``; every event of a named tx_hash is withdrawn), and
   it arrives before any event of the new branch.
3. A trade of an orphaned block the collector had not stored yet (still within its confirmations) was
   never sent and is never retracted: no frame at all names it.
4. Each trade of the new branch is sent once, after the retractions. A transaction of an orphaned block
   that the new branch includes again (same tx_hash, another block) is a new event (new id): the client
   sees event, retraction, event; folding the frames in order leaves it once.
5. So folding each client's frames in order (an event adds its tx, a retraction removes the txs it names)
   ends with exactly the whale transactions of the node's canonical chain, each received exactly once
   since its last retraction, with the ids of the stored events. Every client receives the same frames.
6. A block orphaned a second time (the chain came back to it, then left it again) is retracted again, with
   a new retraction id (a consumer sends an id at most once per connection).

Every whale transfer here is worth more than the large-transfer threshold, so each whale trade is one
event; the ETH price is a recorded daily close (CoinGecko CSV, ../shared/data) placed at the simulated
chain's time, since anvil's blocks carry today's timestamps.
"""

import math
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from itertools import pairwise

import pytest
from django.db import connection
from web3 import Web3

from alerts.tokens import api_token_create
from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.ethereum.client import EthereumRpcClient
from ledgers.glass.ethereum.services import blocks_collect
from tests.chain.anvil import Anvil
from tests.ledgers.glass.ethereum.recorded import eth_price_on
from tests.processes import FeedClient, daphne_server
from tests.requirements import require
from whales.chains import Chain
from whales.models import EventThreshold, EventType, RunStatus, Whale, WhaleEvent

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PRICE_DAY = "2024-03-14"  # a real recorded ETH close, put at the simulated chain's time
LARGE_TRANSFER_MIN_USD = Decimal(100_000)  # the event threshold, set by the test
SETTLE_S = 0.5  # after the last expected frame: time for a stray (duplicate) frame to show up
WAIT_S = 20.0


@pytest.fixture(scope="module")
def feed_url(django_db_setup, django_db_blocker, tmp_path_factory):
    """``ws://`` URL of ``/ws/events/`` on one real daphne process for the module, on the pytest database
    and the Redis channel layer of REDIS_URL (token-authenticated clients, capacity set deliberately)."""
    redis_url = os.environ.get("REDIS_URL")
    with django_db_blocker.unblock():
        vendor = connection.vendor
    require(bool(redis_url) and vendor == "postgresql",
            "needs REDIS_URL and a PostgreSQL DATABASE_URL (daphne and the collector share both)")
    env = {"REDIS_URL": os.environ["REDIS_URL"], "CHANNEL_LAYER_CAPACITY": "1000", "ALERTS_PUBLIC_FEED": "false"}
    with daphne_server(tmp_path_factory.mktemp("feed") / "daphne.log", env) as url:
        yield f"{url}/ws/events/"


@dataclass
class FeedScene:
    """One tracked whale on the node (its counterparties untracked), ETH priced at the chain's time, every
    transfer of ``large_wei`` or more an event, and three feed clients of one token: header, query string,
    and a whale filter on the whale (a retraction must pass it too)."""

    chain: Anvil
    whale: str
    friend: str
    stranger: str
    large_wei: int
    clients: dict[str, FeedClient]

    def wait_all(self, done: Callable[[list[dict]], bool], what: str) -> None:
        """Wait until ``done(frames)`` holds for every client, then SETTLE_S more (for stray frames).
        Raises AssertionError after WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        for name, client in self.clients.items():
            while not done(list(client.frames)):
                assert time.monotonic() < deadline, f"{name}: {what} not received in {WAIT_S} s: {client.frames}"
                time.sleep(0.02)
        time.sleep(SETTLE_S)

    def wait_for_event(self, tx_hash: str) -> None:
        self.wait_all(lambda frames: any(e["tx_hash"] == tx_hash for e in events_of(frames)), f"event {tx_hash}")


@pytest.fixture
def scene(chain, feed_url, django_user_model):
    whale, friend, stranger = chain.accounts[1], chain.accounts[2], chain.accounts[3]
    tracked = Whale.objects.create(chain=Chain.ETHEREUM, address=whale, name="feed whale")
    EventThreshold.objects.update_or_create(event_type=EventType.LARGE_TRANSFER,
                                            defaults={"min_value_usd": LARGE_TRANSFER_MIN_USD})
    price_usd = eth_price_on(PRICE_DAY)
    chain_time = datetime.fromtimestamp(chain.w3.eth.get_block("latest")["timestamp"], tz=UTC)
    PriceHistory.objects.create(asset=Asset.objects.get(chain=Chain.ETHEREUM, contract_address=""),
                                timestamp=chain_time, price_usd=price_usd)
    large_wei = (math.ceil(LARGE_TRANSFER_MIN_USD / price_usd) + 1) * 10**18
    feed_user = django_user_model.objects.create_user(username="feed", password="pw-feed-1")
    key = api_token_create(user_id=feed_user.pk, name="test")[1]
    clients: dict[str, FeedClient] = {}
    try:
        clients["header token"] = FeedClient(feed_url, {"Authorization": f"Token {key}"})
        clients["query token"] = FeedClient(f"{feed_url}?token={key}")
        clients["whale filter"] = FeedClient(feed_url, {"Authorization": f"Token {key}"})
        filtered = clients["whale filter"]
        filtered.send_json({"action": "filter", "whales": [tracked.id]})
        deadline = time.monotonic() + WAIT_S
        while not filtered.frames:
            assert time.monotonic() < deadline, "no answer to the filter"
            time.sleep(0.02)
        assert filtered.frames.pop(0) == {"type": "filter", "filter": {
            "chains": None, "event_types": None, "min_value_usd": None, "whales": [tracked.id], "watchlist": None}}
        yield FeedScene(chain, whale, friend, stranger, large_wei, clients)
    finally:
        for client in clients.values():
            client.close()


def collect(chain: Anvil, *, confirmations: int, from_block: int | None = None) -> None:
    result = blocks_collect(client=EthereumRpcClient(chain.url, timeout_s=10, retries=0),
                            from_block=from_block, confirmations=confirmations)
    assert result.status == RunStatus.OK, result.error


def node_blocks(chain: Anvil, whale: str, first: int, last: int) -> dict[int, tuple[str, list[str]]]:
    """{block: (its hash, hashes of its transactions from or to ``whale``)} over [first, last], as the node
    has them now."""
    found = {}
    for number in range(first, last + 1):
        block = chain.w3.eth.get_block(number, full_transactions=True)
        found[number] = (block["hash"].to_0x_hex(), [
            tx["hash"].to_0x_hex() for tx in block["transactions"]
            if whale in (tx["from"].lower(), (tx["to"] or "").lower())])
    return found


def tx_request(chain: Anvil, *, sender: str, to: str, value_wei: int, copy_of: str | None = None) -> dict:
    """An ``anvil_reorg`` replacement transaction; ``copy_of``: the node's transaction of that hash again,
    field for field (same nonce and fees, so the same signed transaction and tx_hash)."""
    request = {"from": Web3.to_checksum_address(sender), "to": Web3.to_checksum_address(to), "value": hex(value_wei)}
    if copy_of is not None:
        tx = chain.w3.eth.get_transaction(copy_of)
        request = {"from": tx["from"], "to": tx["to"], "value": hex(tx["value"]), "nonce": hex(tx["nonce"]),
                   "gas": hex(tx["gas"]), "maxFeePerGas": hex(tx["maxFeePerGas"]),
                   "maxPriorityFeePerGas": hex(tx["maxPriorityFeePerGas"])}
    return request


def events_of(frames: list[dict]) -> list[dict]:
    return [f["event"] for f in frames if f["type"] == "event"]


def fold(name: str, frames: list[dict]) -> dict[str, int]:
    """Apply ``frames`` in order as a client would: an event makes its tx live, a retraction withdraws the
    txs it names. Asserts that every frame is an event frame, every event id arrives once, an event never
    arrives for a tx already live, and a retraction names only live txs (every whale trade here is an
    event). Returns {tx_hash: event id} of what is live at the end."""
    assert {f["type"] for f in frames} <= {"event"}, name
    ids = [e["id"] for e in events_of(frames)]
    assert len(ids) == len(set(ids)), (name, ids)
    live: dict[str, int] = {}
    for event in events_of(frames):
        if event["type"] == EventType.REORG_RETRACTION:
            for trade in event["details"]["trades"]:
                assert live.pop(trade["tx_hash"], None) is not None, (name, "retracted but not live", trade)
        else:
            assert event["tx_hash"] not in live, (name, "sent twice while live", event)
            live[event["tx_hash"]] = event["id"]
    return live


def retractions_of(frames: list[dict]) -> Counter:
    """Counter of (orphaned block hash, block number, sorted tx hashes it names) over the retraction frames."""
    found: Counter = Counter()
    for e in events_of(frames):
        if e["type"] == EventType.REORG_RETRACTION:
            assert e["details"]["orphaned_block_hash"] == e["tx_hash"] and e["whale"] is None, e
            found[(e["tx_hash"], e["block_number"], tuple(sorted(t["tx_hash"] for t in e["details"]["trades"])))] += 1
    return found


def stored_event_ids() -> set[int]:
    return set(WhaleEvent.objects.exclude(type=EventType.REORG_RETRACTION).values_list("id", flat=True))


@pytest.mark.parametrize("confirmations", [0, 1], ids=["conf0", "conf1"])
@pytest.mark.parametrize("depth", [1, 2, 5])
@pytest.mark.parametrize("replace", [False, True], ids=["empty", "replaced"])
def test_each_feed_client_sees_each_surviving_event_once_and_a_retraction_for_each_sent_orphan(
        chain, scene, depth, replace, confirmations):
    whale, friend = scene.whale, scene.friend
    # Before: one whale transfer per block; the newest ``depth`` blocks will be orphaned.
    start = chain.head() + 1
    for n in range(depth + 2):
        chain.send_eth(sender=whale, to=friend, value_wei=scene.large_wei + n * 10**17)
    head = chain.head()
    before = node_blocks(chain, whale, start, head)
    collect(chain, from_block=start, confirmations=confirmations)
    collected = range(start, head - confirmations + 1)
    sent_first = Counter((tx, n) for n in collected for tx in before[n][1])
    scene.wait_for_event(before[collected[-1]][1][0])
    first_frames = {name: list(client.frames) for name, client in scene.clients.items()}

    # The reorg. Replacements: a new transfer to the whale in the new branch's first block, and the
    # whale's first orphaned transaction included again, unchanged, in its last block.
    replacements = []
    if replace:
        orphan_tx = before[head - depth + 1][1][0]
        replacements = [
            [tx_request(chain, sender=scene.stranger, to=whale, value_wei=scene.large_wei), 0],
            [tx_request(chain, sender=whale, to=friend, value_wei=0, copy_of=orphan_tx), depth - 1]]
    chain.rpc("anvil_reorg", [depth, replacements])
    collect(chain, confirmations=confirmations)  # a poll before the next block: the head is unchanged
    # The chain moves on: a last whale transfer (its event is the last frame), then the confirmations.
    last = chain.send_eth(sender=whale, to=friend, value_wei=scene.large_wei)
    if confirmations:
        chain.mine(confirmations)
    collect(chain, confirmations=confirmations)
    assert last["blockNumber"] == head + 1
    scene.wait_for_event(last["transactionHash"].to_0x_hex())
    after = node_blocks(chain, whale, start, head + 1)

    orphaned = [n for n in before if before[n][0] != after[n][0]]
    assert orphaned == list(range(head - depth + 1, head + 1))  # anvil replaced exactly ``depth`` blocks
    if replace:  # the copy is the same transaction, now in the new branch's last block
        assert orphan_tx in after[head][1]
    # Retracted: the orphaned blocks the collector had stored, each naming the whale's transactions in it.
    expected_retractions = Counter((before[n][0], n, tuple(sorted(before[n][1]))) for n in orphaned if n in collected)
    # Sent after the reorg: the whale's transactions of the new blocks and of the blocks not collected before.
    expected_second = Counter((tx, n) for n in after if n in orphaned or n not in collected for tx in after[n][1])
    canonical = {tx for n in after for tx in after[n][1]}
    assert len(stored_event_ids()) == len(canonical)

    sequences = []
    for name, client in scene.clients.items():
        frames = client.frames
        first, second = frames[:len(first_frames[name])], frames[len(first_frames[name]):]
        assert first == first_frames[name], name  # nothing arrived late from before the reorg
        assert Counter((e["tx_hash"], e["block_number"]) for e in events_of(first)) == sent_first, name
        assert {(e["whale"]["address"], e["type"]) for e in events_of(first)} == {(whale, EventType.LARGE_TRANSFER)}

        assert retractions_of(second) == expected_retractions, name  # one per orphaned stored block
        new_events = [e for e in events_of(second) if e["type"] != EventType.REORG_RETRACTION]
        retracting = [e["type"] == EventType.REORG_RETRACTION for e in events_of(second)]
        assert retracting == sorted(retracting, reverse=True), name  # every retraction before the new events
        assert Counter((e["tx_hash"], e["block_number"]) for e in new_events) == expected_second, name
        assert {(e["whale"]["address"], e["type"]) for e in new_events} == {(whale, EventType.LARGE_TRANSFER)}, name

        live = fold(name, frames)
        assert set(live) == canonical, name
        assert set(live.values()) == stored_event_ids(), name
        sequences.append([e["id"] for e in events_of(frames)])
    assert all(ids == sequences[0] for ids in sequences)  # every client got the same frames, in one order


def test_a_block_orphaned_again_after_it_came_back_is_retracted_again(chain, scene):
    """Fork A, then B, then A again (the same block hash: a node, or two nodes behind one RPC endpoint,
    flipping between two forks), then C. ``anvil_reorg`` cannot bring a block back (it mines new blocks with
    another base fee), so the forks are built with evm_snapshot / evm_revert, and block A is mined again
    from its own raw transaction, timestamp and base fee: the node gives it the same hash."""
    whale, friend = scene.whale, scene.friend
    start = chain.head() + 1
    chain.send_eth(sender=whale, to=friend, value_wei=scene.large_wei)  # ``start``: canonical throughout
    fork_point = chain.rpc("evm_snapshot")
    sent = chain.send_eth(sender=whale, to=friend, value_wei=scene.large_wei + 10**17)
    a = chain.rpc("eth_getBlockByNumber", [hex(sent["blockNumber"]), False])
    raw_tx = chain.rpc("eth_getRawTransactionByHash", [sent["transactionHash"].to_0x_hex()])
    views = [node_blocks(chain, whale, start, chain.head())]
    collect(chain, from_block=start, confirmations=0)
    scene.wait_for_event(sent["transactionHash"].to_0x_hex())

    def fork(mine_a: bool, blocks_after: int) -> None:
        """Back to the fork point: block A again (``mine_a``) or another whale transfer, then empty blocks;
        collect, and wait for the event of the branch's whale transfer."""
        nonlocal fork_point
        assert chain.rpc("evm_revert", [fork_point]) is True
        fork_point = chain.rpc("evm_snapshot")
        if mine_a:
            chain.rpc("evm_setNextBlockTimestamp", [a["timestamp"]])
            chain.rpc("anvil_setNextBlockBaseFeePerGas", [a["baseFeePerGas"]])
            tx_hash = chain.rpc("eth_sendRawTransaction", [raw_tx])
        else:
            tx_hash = chain.send_eth(sender=scene.stranger, to=whale, value_wei=scene.large_wei + len(views) * 10**17)[
                "transactionHash"].to_0x_hex()
        chain.mine(blocks_after)
        views.append(node_blocks(chain, whale, start, chain.head()))
        collect(chain, confirmations=0)
        scene.wait_for_event(tx_hash)

    fork(mine_a=False, blocks_after=1)  # B: A orphaned
    fork(mine_a=True, blocks_after=2)   # A again, longer: B orphaned
    assert views[2][start + 1] == views[0][start + 1]  # the same block A, hash and transactions
    fork(mine_a=False, blocks_after=3)  # C: A orphaned a second time

    # Expected from the node's views: each block a fork replaced (every stored block here was collected).
    expected_retractions: Counter = Counter()
    for old, new in pairwise(views):
        expected_retractions.update((old[n][0], n, tuple(sorted(old[n][1]))) for n in old
                                    if n not in new or new[n][0] != old[n][0])
    assert expected_retractions[(views[0][start + 1][0], start + 1, (sent["transactionHash"].to_0x_hex(),))] == 2
    canonical = {tx for n in views[-1] for tx in views[-1][n][1]}
    sequences = []
    for name, client in scene.clients.items():
        assert retractions_of(client.frames) == expected_retractions, name
        live = fold(name, client.frames)
        assert set(live) == canonical, name
        assert set(live.values()) == stored_event_ids(), name
        sequences.append([e["id"] for e in events_of(client.frames)])
    assert all(ids == sequences[0] for ids in sequences)
