"""Bounds of the WebSocket consumers (issue 14, item 10): min_value_usd digits in a feed filter."""

import pytest

from tests.alerts.test_consumers import TIMEOUT, feed, make_user, memory_layer  # noqa: F401  # fixture

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True, serialized_rollback=True),
              pytest.mark.usefixtures("memory_layer")]


@pytest.mark.parametrize(("value", "detail"), [
    ("1e999999", "min_value_usd must be below 1e30."),  # echoed whole, this was a 1 MB frame
    ("1e9999999", "min_value_usd must be below 1e30."),  # this raised an uncaught decimal.Overflow
    (1e300, "min_value_usd must be below 1e30."),
    ("1" * 65, "min_value_usd may have at most 64 characters."),
    ("0.000000001", "min_value_usd may have at most 8 decimal places."),
])
async def test_an_out_of_bounds_min_value_is_an_error_frame_and_the_socket_stays(value, detail):
    communicator = await feed(await make_user("analyst"))

    await communicator.send_json_to({"action": "filter", "min_value_usd": value})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {
        "type": "error", "code": "invalid_filter", "detail": detail}

    await communicator.send_json_to({"action": "filter", "min_value_usd": "1e29"})  # still open, still works
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "filter", "filter": {
        "chains": None, "event_types": None, "min_value_usd": "1" + "0" * 29, "whales": None,
        "watchlist": None}}
    await communicator.disconnect()


async def test_a_tiny_min_value_is_zero():
    communicator = await feed(await make_user("analyst"))
    await communicator.send_json_to({"action": "filter", "min_value_usd": "1e-9999999"})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "filter", "filter": {
        "chains": None, "event_types": None, "min_value_usd": "0", "whales": None, "watchlist": None}}
    await communicator.disconnect()
