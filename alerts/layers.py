"""The embedded mode's channel layer: channels' in-memory layer, made safe for the embedded setup.

In embedded mode the Celery worker (collectors, sweeps) and the mempool monitor run in threads of
the daphne process (``whaletrack.runtime``) and publish with ``async_to_sync(group_send)`` from their
own event loops, while the WebSocket consumers receive on daphne's loop. channels' ``InMemoryChannelLayer`` keeps its
messages in asyncio queues, which are not thread-safe: a put from another loop lands, but daphne's
loop does not wake up for it until some other I/O happens (hundreds of ms later, measured by
bench/alert_latency.py). This subclass runs ``send``/``group_send`` from a foreign loop on the
receiving loop (``run_coroutine_threadsafe``), runs the expiry sweep (a scan of every channel and
group) at most once a second instead of on every ``receive``, and puts a group message into each
member's queue directly rather than through a task per member. With Redis (``REDIS_URL``) the
channels-redis layer is used instead and none of this applies.
"""

import asyncio
import time
from collections.abc import Callable, Coroutine
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer


class EmbeddedChannelLayer(InMemoryChannelLayer):
    """``InMemoryChannelLayer`` whose sends from other threads run on the receiving event loop."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cleaned_at = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at >= 1.0:
            self._cleaned_at = now
            super()._clean_expired()

    async def receive(self, channel: str) -> dict:
        self._loop = asyncio.get_running_loop()
        return await super().receive(channel)

    async def _on_receiving_loop(self, method: Callable[..., Coroutine[Any, Any, None]], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop() or not loop.is_running():
            await method(*args)
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(method(*args), loop))

    async def send(self, channel: str, message: dict) -> None:
        await self._on_receiving_loop(super().send, channel, message)

    async def group_send(self, group: str, message: dict) -> None:
        await self._on_receiving_loop(self._group_send_here, group, message)

    async def _group_send_here(self, group: str, message: dict) -> None:
        """channels' group_send without a task per member (the queue puts do not wait anyway)."""
        self.require_valid_group_name(group)
        self._clean_expired()
        for channel in list(self.groups.get(group, {})):
            try:
                await InMemoryChannelLayer.send(self, channel, message)
            except ChannelFull:
                pass  # as channels does: a full member misses it (capacity: CHANNEL_LAYER_CAPACITY)
