"""Classification of recorded Esplora transactions (ledgers.glass.bitcoin.activity), checked against net
amounts computed here from the raw JSON."""

import csv
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from ledgers.exchange.market.selectors import AssetInfo, PriceBook
from ledgers.glass.bitcoin.activity import AddressContext, is_coinjoin, tx_activities
from ledgers.glass.bitcoin.client import decode_tx
from ledgers.refs import Counterparty, WhaleRef
from tests.ledgers.glass.bitcoin import recorded
from whales.models import Direction, EventType, TradeSource

SEEN_AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BINANCE_DEPOSIT = "1NDyJtNTjmwk5xPNhjgAMu4HDHigtobu1s"  # GraphSense richest_addresses.yaml: Binance.com, exchange
BATCH_PAYER = "bc1q4gjc6kfhlksw9x64vsxf5jpjpx598rr5dz5trm"
BINANCE = Counterparty(name="Binance.com", category="exchange", entity_id=5, entity_slug="binance")


def ctx(address: str, known: dict | None = None, entity_id: int | None = None, **kwargs) -> AddressContext:
    return AddressContext(whale=WhaleRef(id=1, address=address, name="", entity_id=entity_id), known=known or {},
                          btc=kwargs.get("btc"), prices=kwargs.get("prices"))


def test_genesis_address_page_gives_the_net_received_of_every_transaction():
    raw_txs = recorded.exposed("satoshi-genesis-txs.json")
    assert len(raw_txs) == 50
    for raw in raw_txs:
        net = recorded.raw_net(raw, recorded.GENESIS_ADDRESS)
        activities = tx_activities(decode_tx(raw), ctx(recorded.GENESIS_ADDRESS), seen_at=SEEN_AT)
        assert net > 0  # the genesis address only ever receives
        assert len(activities) == 1
        a = activities[0]
        assert (a.direction, a.amount_raw, a.amount_base) == (Direction.RECEIVE, Decimal(net), Decimal(net) / 10**8)
        assert a.tx_hash == raw["txid"] and a.log_index == -1 and a.base_asset == "BTC"
        assert a.block_number == raw["status"]["block_height"] and a.block_hash == raw["status"]["block_hash"]
        assert a.block_time == datetime.fromtimestamp(raw["status"]["block_time"], tz=UTC)
        assert a.fee_usd is None  # the receiver pays no fee
        senders: dict[str, int] = {}
        for vin in raw["vin"]:
            senders[vin["prevout"]["scriptpubkey_address"]] = (
                senders.get(vin["prevout"]["scriptpubkey_address"], 0) + vin["prevout"]["value"])
        assert a.counterparty == max(senders, key=lambda s: (senders[s], s))


def test_batch_payout_with_143_outputs_is_one_send_plus_one_deposit_to_the_exchange():
    """Sensible classification stated: the payer's 142 ordinary recipients are one ``send`` leg (their
    total), the output to Binance's labelled address is a ``deposit`` leg, the fee is on the send."""
    raw = recorded.exposed("batch-withdrawal-143.json")
    assert len(raw["vout"]) == 143 and len(raw["vin"]) == 1
    to_binance = sum(v["value"] for v in raw["vout"] if v.get("scriptpubkey_address") == BINANCE_DEPOSIT)
    to_others = sum(v["value"] for v in raw["vout"] if v.get("scriptpubkey_address") != BINANCE_DEPOSIT)
    activities = tx_activities(decode_tx(raw), ctx(BATCH_PAYER, {BINANCE_DEPOSIT: BINANCE}), seen_at=SEEN_AT)
    send, deposit = activities
    assert (send.direction, send.amount_raw, send.details["counterparties"]) == (Direction.SEND, to_others, 142)
    assert (deposit.direction, deposit.amount_raw) == (Direction.DEPOSIT, to_binance)
    assert deposit.counterparty == BINANCE_DEPOSIT and deposit.platform == "binance"
    assert deposit.source == TradeSource.EXCHANGE_FLOW and deposit.event_type == EventType.EXCHANGE_FLOW
    assert send.details["fee_sat"] == raw["fee"] and deposit.details["fee_sat"] == 0
    # Everything the payer spent is accounted for exactly once: both legs plus the fee.
    assert to_others + to_binance + raw["fee"] == -recorded.raw_net(raw, BATCH_PAYER)


def test_receiving_from_an_exchange_is_a_withdrawal_and_from_anyone_else_a_receive():
    raw = recorded.exposed("batch-withdrawal-143.json")
    tx = decode_tx(raw)
    largest = max(raw["vout"], key=lambda v: v["value"])
    exchange_payer = {BATCH_PAYER: BINANCE}
    [withdraw] = tx_activities(tx, ctx(largest["scriptpubkey_address"], exchange_payer), seen_at=SEEN_AT)
    assert (withdraw.direction, withdraw.amount_raw, withdraw.counterparty) == (
        Direction.WITHDRAW, largest["value"], BATCH_PAYER)
    [receive] = tx_activities(tx, ctx(BINANCE_DEPOSIT, {BINANCE_DEPOSIT: BINANCE}), seen_at=SEEN_AT)
    assert (receive.direction, receive.amount_raw) == (Direction.RECEIVE, recorded.raw_net(raw, BINANCE_DEPOSIT))


@pytest.mark.parametrize("name", ["whirlpool-coinjoin.json", "wabisabi-coinjoin.json", "joinmarket-coinjoin.json"])
def test_coinjoin_participant_gets_one_trade_of_its_net_without_counterparty_or_exchange_flow(name):
    """Coinjoins: each participant's net (what it put in minus what it got back) is one send or
    receive; the other participants are not counterparties, and an exchange among them is no flow."""
    raw = recorded.exposed(name)
    tx = decode_tx(raw)
    assert is_coinjoin(tx)
    participants = sorted({v["prevout"]["scriptpubkey_address"] for v in raw["vin"]})[:5]
    everyone_exchange = {a: BINANCE for a in participants}
    for address in participants:
        net = recorded.raw_net(raw, address)
        activities = tx_activities(tx, ctx(address, everyone_exchange), seen_at=SEEN_AT)
        if net == 0:
            assert activities == []
            continue
        [a] = activities
        assert a.direction == (Direction.RECEIVE if net > 0 else Direction.SEND)
        assert a.amount_raw == abs(net) and a.counterparty == "" and a.details["coinjoin"] is True
        assert a.source == TradeSource.ONCHAIN


@pytest.mark.parametrize("name", ["simple-legacy-p2pkh.json", "batch-withdrawal-143.json", "bare-multisig.json",
                                  "taproot-script-path.json", "dust-attack-555.json"])
def test_ordinary_transactions_are_not_coinjoins(name):
    assert not is_coinjoin(decode_tx(recorded.exposed(name)))


def test_the_829_btc_transfer_is_valued_at_the_btc_close_of_its_day():
    raw = recorded.exposed("simple-legacy-p2pkh.json")
    sender = raw["vin"][0]["prevout"]["scriptpubkey_address"]
    block_time = datetime.fromtimestamp(raw["status"]["block_time"], tz=UTC)
    day = block_time.strftime("%Y-%m-%d 00:00:00 UTC")
    with recorded.path("prices-coingecko-daily-csv", "btc-usd-max.csv").open() as fh:
        close = Decimal(next(row["price"] for row in csv.DictReader(fh) if row["snapped_at"] == day))
    btc = AssetInfo(id=1, symbol="BTC", decimals=8, contract_address="", is_stablecoin=False, priced_by_id=1)
    prices = PriceBook({1: ([block_time.replace(hour=0, minute=0, second=0)], [close])})
    [send] = tx_activities(decode_tx(raw), ctx(sender, btc=btc, prices=prices), seen_at=SEEN_AT)
    paid = sum(v["value"] for v in raw["vout"])
    assert send.amount_raw == paid and send.details["counterparties"] == 2
    assert send.counterparty == max(raw["vout"], key=lambda v: v["value"])["scriptpubkey_address"]
    assert send.price_usd == close
    assert send.value_usd == (Decimal(paid) / 10**8 * close).quantize(Decimal("0.00000001"), ROUND_HALF_EVEN)
    assert send.fee_usd == (Decimal(raw["fee"]) / 10**8 * close).quantize(Decimal("0.00000001"), ROUND_HALF_EVEN)
    assert send.event_type == EventType.LARGE_TRANSFER and not send.is_internal


def test_transfer_to_addresses_of_the_whales_own_entity_is_internal_without_event():
    raw = recorded.exposed("simple-legacy-p2pkh.json")
    sender = raw["vin"][0]["prevout"]["scriptpubkey_address"]
    own = {v["scriptpubkey_address"]: Counterparty("Treasury", "fund", 9, "fund-x") for v in raw["vout"]}
    [send] = tx_activities(decode_tx(raw), ctx(sender, own, entity_id=9), seen_at=SEEN_AT)
    assert send.is_internal and send.event_type == "" and send.direction == Direction.SEND
    [not_own] = tx_activities(decode_tx(raw), ctx(sender, own, entity_id=10), seen_at=SEEN_AT)
    assert not not_own.is_internal and not_own.event_type == EventType.LARGE_TRANSFER


def test_unconfirmed_transaction_has_no_block_and_the_time_it_was_seen():
    raw = recorded.frame("details_rbf/tx01_api_cached.json")
    assert raw["status"] == {"confirmed": False}
    payer = raw["vin"][0]["prevout"]["scriptpubkey_address"]
    [send] = tx_activities(decode_tx(raw), ctx(payer), seen_at=SEEN_AT)
    assert send.block_number is None and send.block_hash == "" and send.block_time == SEEN_AT
    assert send.amount_raw == sum(v["value"] for v in raw["vout"]) and send.details["fee_sat"] == raw["fee"]
    assert "(unconfirmed)" in send.summary


def test_address_not_in_the_transaction_gives_nothing():
    raw = recorded.exposed("simple-legacy-p2pkh.json")
    assert tx_activities(decode_tx(raw), ctx(recorded.GENESIS_ADDRESS), seen_at=SEEN_AT) == []


EXPOSED_TXS = ["batch-withdrawal-143.json", "simple-legacy-p2pkh.json", "bare-multisig.json", "dust-attack-555.json",
               "op-return-charley.json", "taproot-op-return.json", "taproot-script-path.json",
               "whirlpool-coinjoin.json", "wabisabi-coinjoin.json", "joinmarket-coinjoin.json"]


@pytest.mark.parametrize("name", EXPOSED_TXS)
def test_the_trades_signed_amounts_minus_the_fee_on_top_are_each_addresss_raw_net(name):
    """What the daily history rebuilds balances from (whales.analytics.history): for every address in the
    transaction, the legs' signed amounts minus ``fee_amount`` equal its raw net (outputs - prevouts), in sat."""
    raw = recorded.exposed(name)
    tx = decode_tx(raw)
    addresses = ({v["prevout"].get("scriptpubkey_address") for v in raw["vin"] if v.get("prevout")}
                 | {v.get("scriptpubkey_address") for v in raw["vout"]}) - {None}
    for address in sorted(addresses):
        activities = tx_activities(tx, ctx(address, {BINANCE_DEPOSIT: BINANCE}), seen_at=SEEN_AT)
        signed = sum(int(a.amount_raw) * (1 if a.direction in (Direction.RECEIVE, Direction.WITHDRAW) else -1)
                     for a in activities)
        fees = sum(int(a.fee_amount * 10**8) for a in activities if a.fee_amount is not None)
        assert signed - fees == recorded.raw_net(raw, address), address
