"""Hyperliquid whale discovery from bridge deposits, against the replay node's Arbitrum endpoint.

The two deposits are real (rotki's cassette, Arbitrum One, March 2025); their amounts are computed
here from the raw recorded receipt logs.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from django.conf import settings

from ledgers.evm import RpcError, RpcUnavailable
from ledgers.glass.hyperliquid.arbitrum_client import ArbitrumClient
from ledgers.glass.hyperliquid.bridge import COLLECTOR_NAME, STREAM, bridge_deposits_discover
from ledgers.models import CollectorRun, SyncCursor
from whales.models import Entity, EntityKind, KnownAddress, LabelConfidence, RunStatus, Whale, WhaleLabel

pytestmark = pytest.mark.django_db

CASSETTE = "rotki-test-caching-cassettes/hyperliquid/test_hyperliquid__arbitrum_one_accounts0-False.yaml"
FIRST_DEPOSITOR = "0x4e60c2e7181edfc5471c0cbc8d485706d1b35686"
SECOND_DEPOSITOR = "0x3ba6eb0e4327b96ade6d4f3b578724208a590cef"
FROM_BLOCK = 311_103_000
HEAD = 311_535_537  # the highest recorded Arbitrum block


def _recorded() -> tuple[dict[str, dict], dict[int, dict]]:
    """({tx hash: receipt}, {block number: block}) of the cassette, read here with yaml.safe_load."""
    cassette = yaml.safe_load((Path(settings.REPLAY_DATA_DIR) / CASSETTE).read_text())
    receipts, blocks = {}, {}
    for item in cassette["interactions"]:
        query = {k: v[0] for k, v in parse_qs(urlsplit(item["request"]["uri"]).query).items()}
        if query.get("module") != "proxy":
            continue
        result = json.loads(item["response"]["body"]["string"])["result"]
        if query["action"] == "eth_getTransactionReceipt":
            receipts[result["transactionHash"]] = result
        elif query["action"] == "eth_getBlockByNumber":
            blocks[int(result["number"], 16)] = result
    return receipts, blocks


RECEIPTS, BLOCKS = _recorded()


def _deposits() -> dict[str, tuple[str, Decimal, int]]:
    """{depositor: (tx hash, USDC amount, block)} from the raw receipt logs: USDC Transfer(from, to=bridge, value)."""
    found = {}
    for tx_hash, receipt in RECEIPTS.items():
        (log,) = receipt["logs"]
        assert log["address"] == settings.ARBITRUM_USDC_ADDRESS
        assert log["topics"][2][-40:] == settings.HYPERLIQUID_BRIDGE_ADDRESS[2:]
        found["0x" + log["topics"][1][-40:]] = (tx_hash, Decimal(int(log["data"], 16)) / 10**6,
                                                 int(log["blockNumber"], 16))
    return found


DEPOSITS = _deposits()


@pytest.fixture
def arbitrum(replay, settings):
    settings.ARBITRUM_LOGS_BLOCK_RANGE = 100_000
    return ArbitrumClient(replay.arbitrum_url, timeout_s=5, retries=3, backoff_s=0)


def _discover(client, **kwargs):
    kwargs.setdefault("from_block", FROM_BLOCK)
    kwargs.setdefault("to_block", HEAD)
    kwargs.setdefault("min_usd", Decimal("100"))
    return bridge_deposits_discover(client=client, **kwargs)


def test_recorded_deposits_are_the_two_known_ones():
    assert {d: amount for d, (_, amount, _) in DEPOSITS.items()} == {
        FIRST_DEPOSITOR: Decimal("500.59"), SECOND_DEPOSITOR: Decimal("303.14")}


def test_two_deposits_make_two_labelled_hyperliquid_whales(arbitrum):
    result = _discover(arbitrum)
    assert (result.status, result.error) == (RunStatus.OK, "")
    assert (result.deposits_seen, result.deposits_above_threshold) == (2, 2)
    assert (result.whales_created, result.whales_labelled) == (2, 2)
    assert result.blocks_scanned == HEAD - FROM_BLOCK + 1
    for depositor, (tx_hash, _, block) in DEPOSITS.items():
        whale = Whale.objects.get(chain="hyperliquid", address=depositor)
        assert whale.entity is None  # no wallet of this address has an entity
        assert whale.first_seen_at == datetime.fromtimestamp(int(BLOCKS[block]["timestamp"], 16), tz=UTC)
        (link,) = WhaleLabel.objects.filter(whale=whale).select_related("label")
        assert (link.label.slug, link.label.name, link.source) == ("hyperliquid", "Hyperliquid trader",
                                                                    "hyperliquid-bridge")
        assert link.evidence_url == f"https://arbiscan.io/tx/{tx_hash}"
        assert link.confidence == LabelConfidence.HIGH


def test_depositor_with_an_ethereum_whale_gets_its_entity(arbitrum):
    fund = Entity.objects.create(slug="some-fund", name="Some Fund", kind=EntityKind.FUND)
    Whale.objects.create(chain="ethereum", address=FIRST_DEPOSITOR, entity=fund)
    desk = Entity.objects.create(slug="some-desk", name="Some Desk", kind=EntityKind.MARKET_MAKER)
    KnownAddress.objects.create(chain="arbitrum", address=SECOND_DEPOSITOR, entity=desk, source="test")
    result = _discover(arbitrum)
    assert result.whales_linked == 2
    assert Whale.objects.get(chain="hyperliquid", address=FIRST_DEPOSITOR).entity == fund
    assert Whale.objects.get(chain="hyperliquid", address=SECOND_DEPOSITOR).entity == desk
    assert Entity.objects.count() == 2  # none invented


def test_running_again_adds_nothing(arbitrum):
    _discover(arbitrum)
    labels = list(WhaleLabel.objects.values_list("whale_id", "label_id", "source", "evidence_url"))
    again = _discover(arbitrum)
    assert again.status == RunStatus.OK
    assert (again.deposits_seen, again.whales_created, again.whales_labelled) == (2, 0, 0)
    assert Whale.objects.filter(chain="hyperliquid").count() == 2
    assert list(WhaleLabel.objects.values_list("whale_id", "label_id", "source", "evidence_url")) == labels


def test_min_usd_400_keeps_only_the_larger_deposit(arbitrum):
    result = _discover(arbitrum, min_usd=Decimal("400"))
    assert (result.deposits_seen, result.deposits_above_threshold, result.whales_created) == (2, 1, 1)
    assert list(Whale.objects.filter(chain="hyperliquid").values_list("address", flat=True)) == [FIRST_DEPOSITOR]


def test_default_threshold_comes_from_settings(arbitrum, settings):
    settings.HYPERLIQUID_BRIDGE_MIN_USD = Decimal("500.59")  # the first deposit exactly: >= counts
    result = bridge_deposits_discover(client=arbitrum, from_block=FROM_BLOCK, to_block=HEAD)
    assert (result.deposits_above_threshold, result.whales_created) == (1, 1)


def test_a_429_from_the_node_is_retried(replay, arbitrum):
    replay.faults.add("/arbitrum", status=429, times=2, method="eth_getLogs")
    result = _discover(arbitrum)
    assert result.status == RunStatus.OK
    assert result.whales_created == 2
    assert replay.faults.active() == []


def test_cursor_ends_after_to_block_in_block_ranges(arbitrum, settings):
    settings.ARBITRUM_LOGS_BLOCK_RANGE = 25
    seen = []
    to_block = FROM_BLOCK + 99
    result = _discover(arbitrum, to_block=to_block, progress=seen.append)
    assert [p.block_number for p in seen] == [FROM_BLOCK + 24, FROM_BLOCK + 49, FROM_BLOCK + 74, to_block]
    assert result.blocks_scanned == 100
    assert result.deposits_seen == 1  # block 311,103,061 is in range
    assert SyncCursor.objects.get(stream=STREAM).position == to_block + 1 == result.next_block
    run = CollectorRun.objects.get(collector=COLLECTOR_NAME)
    assert (run.status, run.from_position, run.to_position, run.blocks, run.items_seen, run.items_written) == (
        RunStatus.OK, FROM_BLOCK, to_block + 1, 100, 1, 1)


def test_the_next_run_continues_from_the_cursor_to_the_head(arbitrum):
    first = _discover(arbitrum, to_block=DEPOSITS[FIRST_DEPOSITOR][2])
    assert first.whales_created == 1
    second = bridge_deposits_discover(client=arbitrum, min_usd=Decimal("100"))
    assert second.blocks_scanned == HEAD - DEPOSITS[FIRST_DEPOSITOR][2]
    assert (second.deposits_seen, second.whales_created) == (1, 1)
    assert SyncCursor.objects.get(stream=STREAM).position == HEAD + 1
    nothing = bridge_deposits_discover(client=arbitrum, min_usd=Decimal("100"))
    assert (nothing.status, nothing.blocks_scanned) == (RunStatus.OK, 0)


def test_start_block_setting_is_used_without_a_cursor(arbitrum, settings):
    settings.HYPERLIQUID_BRIDGE_START_BLOCK = DEPOSITS[SECOND_DEPOSITOR][2]
    result = bridge_deposits_discover(client=arbitrum, min_usd=Decimal("100"))
    assert (result.blocks_scanned, result.whales_created) == (1, 1)
    assert Whale.objects.get(chain="hyperliquid").address == SECOND_DEPOSITOR


def test_without_start_setting_the_scan_starts_10000_blocks_before_the_head(arbitrum, settings):
    settings.HYPERLIQUID_BRIDGE_START_BLOCK = None
    result = bridge_deposits_discover(client=arbitrum, min_usd=Decimal("100"))
    assert (result.blocks_scanned, result.deposits_seen) == (10_001, 1)


def test_a_node_that_stays_down_fails_the_run_and_keeps_the_cursor(replay, settings):
    settings.ARBITRUM_LOGS_BLOCK_RANGE = 100_000
    client = ArbitrumClient(replay.arbitrum_url, timeout_s=5, retries=1, backoff_s=0)
    replay.faults.add("/arbitrum", status=503, method="eth_getLogs")
    result = _discover(client)
    assert result.status == RunStatus.FAILED
    assert result.error.startswith("RpcUnavailable")
    assert SyncCursor.objects.get(stream=STREAM).position == FROM_BLOCK
    assert CollectorRun.objects.get(collector=COLLECTOR_NAME).status == RunStatus.FAILED
    assert not Whale.objects.exists()


def test_client_reads_chain_head_transfers_and_block_times(arbitrum):
    assert arbitrum.chain_id() == 42161
    assert arbitrum.block_number() == HEAD
    tx_hash, _, block = DEPOSITS[SECOND_DEPOSITOR]
    log = RECEIPTS[tx_hash]["logs"][0]
    usdc, bridge = settings.ARBITRUM_USDC_ADDRESS.lower(), settings.HYPERLIQUID_BRIDGE_ADDRESS.lower()
    transfers = arbitrum.get_transfers(token_address=usdc, to_address=bridge, decimals=6, from_block=block,
                                       to_block=block)
    assert transfers.bad == ()
    (transfer,) = transfers.items
    assert (transfer.tx_hash, transfer.block_number, transfer.log_index) == (
        log["transactionHash"], int(log["blockNumber"], 16), int(log["logIndex"], 16))
    assert (transfer.token_address, transfer.from_address, transfer.to_address) == (
        log["address"], "0x" + log["topics"][1][-40:], "0x" + log["topics"][2][-40:])
    assert (transfer.value_raw, transfer.decimals) == (Decimal(int(log["data"], 16)), 6)
    assert transfer.amount == Decimal(int(log["data"], 16)) / 10**6 == Decimal("303.14")
    block_time = arbitrum.get_block_time(block)
    assert block_time == datetime.fromtimestamp(int(BLOCKS[block]["timestamp"], 16), tz=UTC)
    assert block_time.date().isoformat() == "2025-03-02"  # as PROVENANCE.md says


def test_client_errors_are_terminal_or_retryable(replay, arbitrum):
    with pytest.raises(RpcError, match="not available"):
        arbitrum.get_block_time(HEAD - 1)
    with pytest.raises(RpcError, match="-32000"):
        arbitrum.get_transfers(token_address=settings.ARBITRUM_USDC_ADDRESS.lower(),
                               to_address=settings.HYPERLIQUID_BRIDGE_ADDRESS.lower(), decimals=6, from_block=HEAD,
                               to_block=HEAD - 1)
    replay.faults.add("/arbitrum", status=500, times=10)
    with pytest.raises(RpcUnavailable):
        arbitrum.block_number()
    replay.faults.clear()
    with pytest.raises(RpcUnavailable):
        ArbitrumClient("http://127.0.0.1:9", timeout_s=1, retries=0).chain_id()


def test_from_settings_uses_the_arbitrum_url(replay, settings):
    settings.ARBITRUM_RPC_URL = replay.arbitrum_url
    assert ArbitrumClient.from_settings().chain_id() == 42161
    assert ArbitrumClient.from_settings(replay.arbitrum_url).url == replay.arbitrum_url


def test_a_run_whose_cursor_another_run_moved_stops_without_writing(arbitrum, settings):
    settings.ARBITRUM_LOGS_BLOCK_RANGE = 50

    def other_run_moves_the_cursor(progress):
        SyncCursor.objects.filter(stream=STREAM).update(position=HEAD + 1)

    result = _discover(arbitrum, to_block=FROM_BLOCK + 149, progress=other_run_moves_the_cursor)
    assert (result.status, result.error) == (RunStatus.OK, "cursor moved by another run")
    assert result.blocks_scanned == 50  # the first range only; the deposit at +61 is left to the other run
    assert not Whale.objects.exists()
    assert SyncCursor.objects.get(stream=STREAM).position == HEAD + 1
