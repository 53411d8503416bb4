"""The read-only admin of the Ethereum collector's block records, with rows made from the recorded blocks."""

from datetime import UTC, datetime

import pytest

from ledgers.glass.ethereum.models import BlockRecord
from tests.ledgers.glass.ethereum.recorded import RECORDED_BLOCKS, raw_block

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/ethereum/blockrecord/"


@pytest.fixture
def blocks():
    rows = []
    for number in RECORDED_BLOCKS:
        raw = raw_block(number)
        rows.append(BlockRecord.objects.create(
            block_number=int(raw["number"], 16), block_hash=raw["hash"], parent_hash=raw["parentHash"],
            block_time=datetime.fromtimestamp(int(raw["timestamp"], 16), tz=UTC),
            transactions=len(raw["transactions"])))
    return rows


def test_the_changelist_lists_the_blocks_newest_first(admin_client, blocks):
    response = admin_client.get(CHANGELIST)
    assert response.status_code == 200
    listed = [row.block_number for row in response.context["cl"].result_list]
    assert listed == sorted(RECORDED_BLOCKS, reverse=True)
    assert raw_block(RECORDED_BLOCKS[-1])["hash"] in response.content.decode()


def test_a_block_is_found_by_its_hash(admin_client, blocks):
    wanted = raw_block(RECORDED_BLOCKS[0])["hash"]
    response = admin_client.get(CHANGELIST, {"q": wanted})
    assert [row.block_hash for row in response.context["cl"].result_list] == [wanted]


def test_blocks_cannot_be_added_or_edited(admin_client, blocks):
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    before = BlockRecord.objects.get(pk=blocks[0].pk).block_hash
    response = admin_client.post(f"{CHANGELIST}{blocks[0].pk}/change/", {"block_hash": "0x" + "0" * 64})
    assert response.status_code == 403
    assert BlockRecord.objects.get(pk=blocks[0].pk).block_hash == before
