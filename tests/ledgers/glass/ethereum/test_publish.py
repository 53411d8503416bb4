"""The Ethereum collector publishes its new WhaleEvents to the live feed once each batch commits."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from alerts.groups import FEED_GROUP
from ledgers.glass.ethereum.services import blocks_collect
from tests.ledgers.glass.ethereum.recorded import RECORDED_BLOCKS
from whales.models import WhaleEvent

IN_MEMORY = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}}


def drain(layer, channel: str) -> list[dict]:
    async def receive_all() -> list[dict]:
        messages = []
        while True:
            try:
                messages.append(await asyncio.wait_for(layer.receive(channel), timeout=0.2))
            except TimeoutError:
                return messages

    return async_to_sync(receive_all)()


def test_new_events_are_published_after_commit_once(recorded_world, eth_client, settings,
                                                    django_capture_on_commit_callbacks):
    settings.CHANNEL_LAYERS = IN_MEMORY
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(FEED_GROUP, channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        blocks_collect(client=eth_client, from_block=RECORDED_BLOCKS[0], to_block=RECORDED_BLOCKS[-1],
                       confirmations=0)
        assert drain(layer, channel) == []  # nothing is sent before the commit
    events = list(WhaleEvent.objects.order_by("id").values_list("id", flat=True))
    assert events and callbacks
    with django_capture_on_commit_callbacks(execute=True):  # the commit, and what it commits in turn
        for callback in callbacks:
            callback()
    sent = [m["event"]["id"] for m in drain(layer, channel)]
    assert sent == events
    assert not WhaleEvent.objects.filter(published_at__isnull=True).exists()
    with django_capture_on_commit_callbacks(execute=True):  # a re-walk stores nothing new, sends nothing
        blocks_collect(client=eth_client, from_block=RECORDED_BLOCKS[0], to_block=RECORDED_BLOCKS[-1],
                       confirmations=0)
    assert drain(layer, channel) == []
