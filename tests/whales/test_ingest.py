"""trades_ingest: what it reports as newly stored (the ids the live feed publishes after commit)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from tests.whales.factories import WhaleFactory
from whales.models import EventType, WhaleEvent
from whales.services import trades_ingest
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
