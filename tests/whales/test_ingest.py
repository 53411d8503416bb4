"""trades_ingest: what it reports as newly stored (the ids the live feed publishes after commit); reorg
retractions (trades_retract, reorg_retraction_record)."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.whales.factories import WhaleFactory
from whales.models import EventType, Trade, WhaleEvent
from whales.services import reorg_retraction_record, trades_ingest, trades_retract
from whales.types import WhaleActivity

pytestmark = pytest.mark.django_db
T = datetime(2024, 3, 13, 12, tzinfo=UTC)


def activity(whale_id: int, tx_hash: str, value: str) -> WhaleActivity:
    return WhaleActivity(whale_id=whale_id, chain="ethereum", block_time=T, block_number=1, block_hash="0xb",
                         tx_hash=tx_hash, log_index=-1, source="onchain", platform="", direction="send",
                         base_asset="ETH", amount_base=Decimal(1), value_usd=Decimal(value),
                         event_type=EventType.LARGE_TRANSFER, summary="s")


def test_event_ids_are_the_events_this_call_inserted_and_none_on_a_repeat():
    whale = WhaleFactory()
    batch = [activity(whale.id, "0x1", "500000"), activity(whale.id, "0x2", "10")]  # the 2nd is under the bar
    first = trades_ingest(activities=batch)
    assert len(first.trades) == 2
    assert first.event_ids == list(WhaleEvent.objects.filter(tx_hash="0x1").values_list("id", flat=True))
    again = trades_ingest(activities=batch)
    assert again.trades == [] and again.event_ids == [] and WhaleEvent.objects.count() == 1
    assert trades_ingest(activities=[]).event_ids == []


def test_ingest_writes_without_reading_the_trade_table_first():
    """Whether a trade is new is decided by the insert itself (ON CONFLICT DO NOTHING RETURNING), so the cost
    does not grow with the table or depend on the planner's statistics."""
    whale = WhaleFactory()
    batch = [activity(whale.id, f"0x{n}", "500000") for n in range(3)]
    trades_ingest(activities=batch[:1])
    with CaptureQueriesContext(connection) as queries:
        stored = trades_ingest(activities=batch)
    sql = [q["sql"] for q in queries.captured_queries]
    trade_table = connection.ops.quote_name(Trade._meta.db_table)
    assert not [q for q in sql if q.startswith("SELECT") and trade_table in q]
    assert [q.split(" (")[0] for q in sql if trade_table in q] == [f"INSERT INTO {trade_table}"]
    assert sorted(t.tx_hash for t in stored.trades) == ["0x1", "0x2"]
    assert all(t.id == Trade.objects.get(tx_hash=t.tx_hash).pk for t in stored.trades)


def test_duplicates_within_one_batch_are_stored_once():
    whale = WhaleFactory()
    twice = activity(whale.id, "0x1", "500000")
    stored = trades_ingest(activities=[twice, twice, activity(whale.id, "0x2", "1")])
    assert [t.tx_hash for t in stored.trades] == ["0x1", "0x2"]
    assert Trade.objects.count() == 2 and len(stored.event_ids) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)  # see tests/browser/test_pages.py
def test_two_writers_racing_on_one_batch_store_it_once_and_split_its_events():
    whale = WhaleFactory()
    batch = [activity(whale.id, f"0x{n}", "500000") for n in range(200)]
    barrier = threading.Barrier(2)

    def ingest():
        barrier.wait()
        try:
            return trades_ingest(activities=batch)
        finally:
            connection.close()

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: ingest(), range(2)))
    ids = [set(r.event_ids) for r in results]
    assert ids[0].isdisjoint(ids[1])
    assert ids[0] | ids[1] == set(WhaleEvent.objects.values_list("id", flat=True))
    assert Trade.objects.count() == WhaleEvent.objects.count() == 200
    assert sum(len(r.trades) for r in results) == 200


def test_a_block_orphaned_a_second_time_gets_a_new_unpublished_retraction_naming_what_it_withdrew():
    """The chain came back to the block (its trade stored again, a new event) and then left it again: the
    feed sends an event id once per connection, so the second orphaning needs a new id to reach clients."""
    whale = WhaleFactory()
    trade = activity(whale.id, "0x1", "500000")  # block hash "0xb"

    def orphan() -> WhaleEvent:
        deleted = trades_retract(chain="ethereum", block_hashes=["0xb"])
        return reorg_retraction_record(chain="ethereum", block_number=1, block_hash="0xb", block_time=T,
                                       deleted=deleted)

    first_event = trades_ingest(activities=[trade]).event_ids
    first = orphan()
    WhaleEvent.objects.filter(pk=first.pk).update(published_at=T)  # it was sent
    second_event = trades_ingest(activities=[trade]).event_ids
    second = orphan()

    assert first_event != second_event and second.pk != first.pk and second.published_at is None
    assert list(WhaleEvent.objects.values_list("pk", flat=True)) == [second.pk]  # the trade's events are gone too
    assert [(t["tx_hash"], t["whale_id"]) for t in second.details["trades"]] == [("0x1", whale.id)]
    assert (second.type, second.tx_hash, second.whale) == (EventType.REORG_RETRACTION, "0xb", None)


# Text that the array literal must escape or quote: quotes, backslashes, braces, commas, the word NULL,
# blanks at the ends, control characters and non-ASCII. Each must come back from the database unchanged.
AWKWARD_TEXT = ["", "NULL", "null", 'a"b', "a\\b", '\\"', 'a\\\\"b', "a,b", "{x}", " lead", "trail ", "tab\tx",
                "line\nbreak", "ünï €", "'q'"]


def test_every_column_comes_back_exactly_as_given_whatever_its_text_or_digits():
    """``trades_ingest`` sends plain columns as array literals (whales.services.pg_array_literal); what the
    database stores equals the given values, field for field: awkward text, NULLs, 78-digit amounts,
    exponent-form decimals, microsecond times, booleans."""
    whale = WhaleFactory()
    t_micro = datetime(2024, 3, 13, 12, 1, 2, 345678, tzinfo=UTC)
    given = []
    for n, text in enumerate(AWKWARD_TEXT):
        given.append(WhaleActivity(
            whale_id=whale.id, chain="ethereum", block_time=t_micro, block_number=19_433_902 + n,
            block_hash=f"0x{n:064x}", tx_hash=f"0x{n:064x}", log_index=n - 1, source="onchain", platform=text,
            direction="receive", base_asset=text[:20], amount_raw=Decimal(10**77 + n),
            amount_base=Decimal("1E+3") if n % 2 else Decimal("0.000000000000000001"),
            value_usd=None if n % 3 == 0 else Decimal("123456789.12"), fee_amount=Decimal("0.000021"),
            counterparty=text, counterparty_name=text, is_internal=bool(n % 2)))
    stored = trades_ingest(activities=given)
    assert len(stored.trades) == len(given)
    rows = {t.tx_hash: t for t in Trade.objects.filter(whale=whale)}
    for activity_ in given:
        trade = rows[activity_.tx_hash]
        assert (trade.platform, trade.base_asset, trade.counterparty, trade.counterparty_name) == (
            activity_.platform, activity_.base_asset, activity_.counterparty, activity_.counterparty_name)
        assert (trade.amount_raw, trade.amount_base, trade.value_usd, trade.fee_amount) == (
            activity_.amount_raw, activity_.amount_base, activity_.value_usd, activity_.fee_amount)
        assert (trade.block_time, trade.block_number, trade.log_index, trade.is_internal) == (
            t_micro, activity_.block_number, activity_.log_index, activity_.is_internal)


def test_an_array_literal_refuses_a_value_it_cannot_spell_and_a_naive_time():
    from whales.services import pg_array_literal

    assert pg_array_literal([1, None, True, "a\"b\\c", Decimal("-1E-30")]) == '{1,NULL,t,"a\\"b\\\\c",-1E-30}'
    with pytest.raises(TypeError):
        pg_array_literal([1.5])
    with pytest.raises(TypeError):
        pg_array_literal([datetime(2024, 3, 13)])  # naive on purpose
