"""The Esplora client against the replay node serving the recorded mempool.space answers."""

import time

import pytest
from django.test import override_settings

from ledgers.budget import BudgetExhausted, RequestBudget
from ledgers.glass.bitcoin.client import AddressNotFound, EsploraClient, EsploraError, EsploraUnavailable
from tests.ledgers.glass.bitcoin import recorded


def test_tx_decodes_the_recorded_transaction(esplora):
    raw = recorded.exposed("batch-withdrawal-143.json")
    tx = esplora.tx(raw["txid"])
    assert tx.tx_hash == raw["txid"] and tx.fee_sat == raw["fee"] and tx.weight_wu == raw["weight"]
    assert [(o.address, o.value_sat) for o in tx.outputs] == [(v.get("scriptpubkey_address", ""), v["value"])
                                                           for v in raw["vout"]]
    assert [(i.address, i.value_sat) for i in tx.inputs] == [
        (v["prevout"]["scriptpubkey_address"], v["prevout"]["value"]) for v in raw["vin"]]
    assert tx.vsize_vb == -(-raw["weight"] // 4) and tx.output_value_sat == sum(v["value"] for v in raw["vout"])
    assert (tx.status.confirmed, tx.status.block_number) == (True, raw["status"]["block_height"])


def test_unknown_tx_is_none_and_unknown_address_raises(esplora):
    assert esplora.tx("ab" * 32) is None and esplora.tx_status("ab" * 32) is None
    with pytest.raises(AddressNotFound):
        esplora.address_stats("1BoatSLRHtKNngkdXEeobR76b53LETtpyT")


def test_address_stats_and_pages_of_the_genesis_address(esplora):
    raw = recorded.exposed("satoshi-genesis-address.json")
    stats = esplora.address_stats(recorded.GENESIS_ADDRESS)
    assert stats.chain_funded_sat == raw["chain_stats"]["funded_txo_sum"]
    assert stats.balance_sat == (raw["chain_stats"]["funded_txo_sum"] - raw["chain_stats"]["spent_txo_sum"]
                             + raw["mempool_stats"]["funded_txo_sum"] - raw["mempool_stats"]["spent_txo_sum"])
    page = esplora.address_txs(recorded.GENESIS_ADDRESS)
    assert [t.tx_hash for t in page] == [t["txid"] for t in recorded.exposed("satoshi-genesis-txs.json")]
    assert esplora.address_txs_chain(recorded.GENESIS_ADDRESS, page[-1].tx_hash) == []  # the recording ends there
    assert esplora.tip_block_number() == 938743


def test_retries_429_and_5xx_then_succeeds(replay, esplora):
    replay.faults.add("/bitcoin/api/blocks/tip/height", status=429, times=1)
    replay.faults.add("/bitcoin/api/blocks/tip/height", status=503, times=1)
    assert esplora.tip_block_number() == 938743
    assert esplora.requests_made == 1  # urllib3 retried inside one call


def test_persistent_5xx_is_unavailable_and_4xx_or_malformed_is_an_error(replay, esplora):
    replay.faults.add("/bitcoin/api/tx/", status=500)
    with pytest.raises(EsploraUnavailable, match="HTTP 500"):
        esplora.tx("ab" * 32)
    replay.faults.clear()
    replay.faults.add("/bitcoin/api/address/", malformed=True, times=1)
    with pytest.raises(EsploraError, match="malformed JSON"):
        esplora.address_stats(recorded.GENESIS_ADDRESS)
    with pytest.raises(EsploraError, match="HTTP 400"):
        esplora.address_stats("not-an-address")


def test_timeout_is_unavailable(replay):
    replay.faults.add("/bitcoin/api/blocks/tip/height", delay_s=1.0)
    client = EsploraClient(replay.bitcoin_url, timeout_s=0.2, retries=0)
    started = time.monotonic()
    with pytest.raises(EsploraUnavailable):
        client.tip_block_number()
    assert time.monotonic() - started < 1.0


def test_budget_waits_for_room_then_gives_up(settings):
    slept: list[float] = []
    budget = RequestBudget("test-budget-wait", "3/second", max_wait_s=5, sleep=slept.append)
    budget.reset()
    for _ in range(3):
        budget.spend()
    assert budget.remaining() == 0 and slept == []
    impatient = RequestBudget("test-budget-wait", "3/second", max_wait_s=0.0)
    with pytest.raises(BudgetExhausted, match="3/second"):
        impatient.spend()
    with pytest.raises(ValueError):
        budget.spend(cost=4)
    patient = RequestBudget("test-budget-wait", "3/second", max_wait_s=5)  # really sleeps until room
    started = time.monotonic()
    patient.spend()
    assert 0.2 < time.monotonic() - started < 2.0 and patient.waited_s > 0
    with pytest.raises(ValueError):
        RequestBudget("bad", "lots")


def test_budget_is_shared_through_redis_by_every_client(settings):
    """Two budgets of the same source (two worker processes) spend from one window in Redis."""
    assert settings.REDIS_URL.startswith("redis://")
    first = RequestBudget("test-budget-shared", "4/minute", max_wait_s=0)
    second = RequestBudget("test-budget-shared", "4/minute", max_wait_s=0)
    first.reset()
    first.spend(cost=3)
    second.spend()
    with pytest.raises(BudgetExhausted):
        second.spend()
    assert first.remaining() == 0
    first.reset()


def test_client_spends_budget_per_request_and_stops_when_spent(replay):
    budget = RequestBudget("test-budget-client", "2/minute", max_wait_s=0)
    budget.reset()
    client = EsploraClient(replay.bitcoin_url, retries=0, budget=budget)
    assert client.tip_block_number() == 938743 and client.tip_block_number() == 938743
    with pytest.raises(EsploraUnavailable, match="budget"):
        client.tip_block_number()
    budget.reset()


@override_settings(BITCOIN_API_BUDGET="5/second", BITCOIN_API_URL="http://127.0.0.1:9/api")
def test_from_settings():
    client = EsploraClient.from_settings()
    assert client.base_url == "http://127.0.0.1:9/api" and client.budget.rate == "5/second"
