"""The Bitcoin address collector against the replay node: trades, cursors, holdings, confirmations."""

import csv
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledgers.exchange.market.models import Asset, PriceHistory
from ledgers.glass.bitcoin.services import COLLECTOR_NAME, address_stream, addresses_collect
from ledgers.models import CollectorRun, SyncCursor
from tests.ledgers.glass.bitcoin import recorded
from whales.models import (
    AddressCategory,
    EventThreshold,
    EventType,
    Holding,
    KnownAddress,
    RunStatus,
    Trade,
    Whale,
    WhaleEvent,
)

pytestmark = pytest.mark.django_db
RBF_SENDER = "1stAprEZapjCYGUACUcXohQqSHF9MU5Kj"
BATCH_PAYER = "bc1q4gjc6kfhlksw9x64vsxf5jpjpx598rr5dz5trm"
BINANCE_DEPOSIT = "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s"


def btc_close(day: str) -> Decimal:
    with recorded.path("prices-coingecko-daily-csv", "btc-usd-max_2010-07-18_to_2026-01-31.csv").open() as fh:
        return Decimal(next(row["price"] for row in csv.DictReader(fh) if row["snapped_at"].startswith(day)))


def add_btc_price(day: str) -> Decimal:
    price = btc_close(day)
    PriceHistory.objects.create(asset=Asset.objects.get(symbol="BTC", chain="bitcoin"),
                                timestamp=datetime.fromisoformat(day).replace(tzinfo=UTC), price_usd=price)
    return price


def snapshot() -> list[tuple]:
    return sorted(Trade.objects.values_list("whale_id", "tx_hash", "direction", "amount_raw", "block_number",
                                            "value_usd", "fee_usd", "is_internal"))


def test_genesis_address_history_becomes_receives_with_the_raw_net_amounts(replay, esplora):
    replay.stats.reset()
    whale = Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS, name="Genesis")
    add_btc_price("2026-01-31")  # the newest recorded close: values the holding
    result = addresses_collect(client=esplora)
    raw_txs = recorded.exposed("satoshi-genesis-txs.json")
    assert (result.status, result.items_seen, result.items_written) == (RunStatus.OK, 50, 50)
    stored = {t.tx_hash: t for t in Trade.objects.filter(whale=whale)}
    assert set(stored) == {raw["txid"] for raw in raw_txs}
    for raw in raw_txs:
        trade = stored[raw["txid"]]
        assert (trade.direction, trade.amount_raw) == ("receive", recorded.raw_net(raw, recorded.GENESIS_ADDRESS))
        assert trade.block_number == raw["status"]["block_height"]
        assert trade.value_usd is None  # February 2026: past the recorded prices (refused, not guessed)
    newest = max(raw_txs, key=lambda r: r["status"]["block_height"])
    cursor = SyncCursor.objects.get(stream=address_stream(recorded.GENESIS_ADDRESS))
    assert cursor.position == newest["status"]["block_height"] == 938743
    stats = recorded.exposed("satoshi-genesis-address.json")
    balance = Decimal(stats["chain_stats"]["funded_txo_sum"] - stats["chain_stats"]["spent_txo_sum"]) / 10**8
    holding = Holding.objects.get(whale=whale)
    assert (holding.asset, holding.amount) == ("BTC", balance)
    assert holding.value_usd == (balance * btc_close("2026-01-31")).quantize(Decimal("0.00000001"))
    assert holding.portfolio_percent == Decimal("100.0000")
    whale.refresh_from_db()
    assert whale.last_active_at == datetime.fromtimestamp(newest["status"]["block_time"], tz=UTC)
    # The first sync read the recorded page and asked for the next one (empty: the recording ends).
    paths = replay.stats.snapshot()["paths"]
    assert paths[f"/bitcoin/api/address/{recorded.GENESIS_ADDRESS}/txs"] == 1
    assert paths[f"/bitcoin/api/address/{recorded.GENESIS_ADDRESS}/txs/chain/{raw_txs[-1]['txid']}"] == 1


def test_re_running_stores_nothing_twice(esplora):
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    Whale.objects.create(chain="bitcoin", address=BATCH_PAYER)
    addresses_collect(client=esplora)
    before = snapshot()
    again = addresses_collect(client=esplora)
    assert again.items_written == 0 and snapshot() == before and len(before) == 50 + 1


def test_batch_payout_with_exchange_output_stores_send_and_deposit_with_events(esplora):
    raw = recorded.exposed("batch-withdrawal-143.json")
    price = add_btc_price("2022-02-16")
    whale = Whale.objects.create(chain="bitcoin", address=BATCH_PAYER, name="Batch payer")
    KnownAddress.objects.create(chain="bitcoin", address=BINANCE_DEPOSIT, name="Binance.com",
                                category=AddressCategory.EXCHANGE, source="graphsense")
    EventThreshold.objects.update_or_create(event_type=EventType.EXCHANGE_FLOW, defaults={"min_value_usd": 1000})
    EventThreshold.objects.update_or_create(event_type=EventType.LARGE_TRANSFER, defaults={"min_value_usd": 1000})
    addresses_collect(client=esplora)
    to_binance = sum(v["value"] for v in raw["vout"] if v.get("scriptpubkey_address") == BINANCE_DEPOSIT)
    to_others = sum(v["value"] for v in raw["vout"]) - to_binance
    send = Trade.objects.get(whale=whale, direction="send")
    deposit = Trade.objects.get(whale=whale, direction="deposit")
    q = Decimal("0.00000001")
    assert (send.amount_raw, send.value_usd) == (to_others, (Decimal(to_others) / 10**8 * price).quantize(q))
    assert (deposit.amount_raw, deposit.value_usd) == (to_binance, (Decimal(to_binance) / 10**8 * price).quantize(q))
    assert send.fee_usd == (Decimal(raw["fee"]) / 10**8 * price).quantize(q) and deposit.fee_usd is None
    assert deposit.counterparty_name == "Binance.com" and deposit.source == "exchange_flow"
    events = dict(WhaleEvent.objects.filter(whale=whale).values_list("type", "value_usd"))
    assert events == {EventType.LARGE_TRANSFER: send.value_usd, EventType.EXCHANGE_FLOW: deposit.value_usd}


def test_unconfirmed_transactions_are_stored_then_confirmed_in_place(replay, esplora):
    """1stApr... spent in tx01 and its RBF replacement tx02, both unconfirmed in the recordings; the
    replay's REST view confirms tx02 once the stream has played block 890,448 (recorded)."""
    whale = Whale.objects.create(chain="bitcoin", address=RBF_SENDER)
    tx02 = recorded.frame("details_rbf/tx02_api_tx.json")
    addresses_collect(client=esplora)
    pending = Trade.objects.get(whale=whale, tx_hash=tx02["txid"])
    assert pending.block_number is None and pending.block_hash == ""
    block = recorded.frame("details_rbf/tx02_ws_block.json")["block"]
    replay.bitcoin.confirm(tx02["txid"], {"confirmed": True, "block_height": block["height"],
                                          "block_hash": block["id"], "block_time": block["timestamp"]})
    addresses_collect(client=esplora)
    confirmed = Trade.objects.get(whale=whale, tx_hash=tx02["txid"])
    assert confirmed.pk == pending.pk and Trade.objects.filter(whale=whale).count() == 2
    assert (confirmed.block_number, confirmed.block_hash) == (890448, block["id"])
    assert confirmed.block_time == datetime.fromtimestamp(block["timestamp"], tz=UTC)


def test_address_unknown_to_the_source_makes_the_run_partial(esplora):
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    Whale.objects.create(chain="bitcoin", address="1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
    result = addresses_collect(client=esplora)
    assert result.status == RunStatus.PARTIAL and result.extra["not_found"] == 1 and result.items_written == 50
    run = CollectorRun.objects.get(collector=COLLECTOR_NAME)
    assert run.status == RunStatus.PARTIAL and "1 address(es) unknown" in run.error


def test_source_down_fails_the_run_and_writes_nothing(replay, esplora):
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    replay.faults.add("/bitcoin/api/", status=503)
    result = addresses_collect(client=esplora)
    assert result.status == RunStatus.FAILED and "HTTP 503" in result.error
    assert not Trade.objects.exists() and not Holding.objects.exists()
    assert not SyncCursor.objects.filter(stream=address_stream(recorded.GENESIS_ADDRESS)).exists()


def test_malformed_page_fails_the_address_and_the_run_continues(replay, esplora):
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    Whale.objects.create(chain="bitcoin", address=BATCH_PAYER)
    replay.faults.add(f"/bitcoin/api/address/{recorded.GENESIS_ADDRESS}/txs", malformed=True)
    result = addresses_collect(client=esplora)
    assert result.status == RunStatus.PARTIAL and result.extra["failed"] == 1
    assert list(Trade.objects.values_list("whale__address", flat=True).distinct()) == [BATCH_PAYER]


def test_collect_command_for_one_address(replay, settings, capsys):
    from django.core.management import CommandError, call_command

    settings.BITCOIN_API_URL = replay.bitcoin_url
    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    Whale.objects.create(chain="bitcoin", address=BATCH_PAYER)
    call_command("collect", "bitcoin", "--address", BATCH_PAYER)
    out = capsys.readouterr().out
    assert f"{BATCH_PAYER} (1/1): ok" in out and "bitcoin: ok" in out
    assert list(Trade.objects.values_list("whale__address", flat=True).distinct()) == [BATCH_PAYER]
    with pytest.raises(CommandError, match="not a tracked Bitcoin whale"):
        call_command("collect", "bitcoin", "--address", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
    with pytest.raises(CommandError, match="--from-block does not apply"):
        call_command("collect", "bitcoin", "--from-block", "5")
    assert CollectorRun.objects.filter(collector="bitcoin").count() == 1  # the rejected calls ran nothing


def test_a_run_cut_short_by_the_budget_is_continued_by_the_next_run_with_the_addresses_it_missed(replay):
    from ledgers.budget import RequestBudget
    from ledgers.glass.bitcoin.client import EsploraClient

    Whale.objects.create(chain="bitcoin", address=recorded.GENESIS_ADDRESS)
    Whale.objects.create(chain="bitcoin", address=BATCH_PAYER)
    budget = RequestBudget("test-budget-order", "4/minute", max_wait_s=0)
    budget.reset()
    client = EsploraClient(replay.bitcoin_url, retries=0, budget=budget)
    order: list[str] = []
    first = addresses_collect(client=client, progress=lambda p: order.append(p.address))
    # stats + first page + the (empty) next page = 3 requests for the genesis address; the batch
    # payer's second request finds the budget spent, and the run stops there.
    assert (first.status, order) == (RunStatus.PARTIAL, [recorded.GENESIS_ADDRESS])
    assert "budget" in first.error and not Trade.objects.filter(whale__address=BATCH_PAYER).exists()
    budget.reset()
    order.clear()
    addresses_collect(client=client, progress=lambda p: order.append(p.address))
    assert order[0] == BATCH_PAYER  # never synced, so first this time
    assert Trade.objects.filter(whale__address=BATCH_PAYER).count() == 1  # the one recorded tx: a send
    budget.reset()
