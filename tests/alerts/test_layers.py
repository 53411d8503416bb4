"""The embedded channel layer: a send from another thread's event loop reaches the receiving loop."""

import asyncio
import threading
import time

from asgiref.sync import async_to_sync

from alerts.layers import EmbeddedChannelLayer


def test_a_group_send_from_another_thread_is_received_promptly_and_once():
    layer = EmbeddedChannelLayer(capacity=100)
    received: list[tuple[float, dict]] = []
    ready = threading.Event()
    loop = asyncio.new_event_loop()

    async def consume() -> None:
        channel = await layer.new_channel()
        await layer.group_add("g", channel)
        ready.set()
        for _ in range(2):
            received.append((time.monotonic(), await layer.receive(channel)))

    thread = threading.Thread(target=loop.run_until_complete, args=(consume(),), daemon=True)
    thread.start()
    assert ready.wait(5)
    time.sleep(0.05)  # the consumer is now waiting inside receive() on its own loop
    sent_at = time.monotonic()
    async_to_sync(layer.group_send)("g", {"type": "x", "n": 1})  # a collector thread's own loop
    async_to_sync(layer.group_send)("g", {"type": "x", "n": 2})
    thread.join(5)
    assert [m["n"] for _, m in received] == [1, 2]
    assert received[0][0] - sent_at < 0.5  # woken at once, not at the next unrelated I/O
    loop.close()
