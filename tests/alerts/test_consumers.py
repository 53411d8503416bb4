"""alerts.consumers (/ws/events/, /ws/alerts/), alerts.auth and the asgi.py wiring, through channels.testing.

Publishing is a channel-layer group_send of the contract messages (the publishers live in alerts.services);
the in-memory layer unless a test says Redis.
"""

import os
from datetime import timedelta
from decimal import Decimal

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.utils import timezone

from alerts.consumers import AlertConsumer, EventFeedConsumer
from alerts.groups import FEED_GROUP, chain_group, user_group, whale_group
from alerts.payloads import event_payload
from alerts.tokens import api_token_create
from tests.requirements import require
from tests.whales.factories import WhaleEventFactory, WhaleFactory
from whales.models import WhaleEvent
from whaletrack.asgi import application

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TIMEOUT = 3  # seconds: the first frame after connect may wait for a database thread


@pytest.fixture
def memory_layer(settings):
    """The in-memory channel layer for this test (the suite's default is Redis when REDIS_URL is set)."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer", "CONFIG": {"capacity": 1000}}
    }
    return get_channel_layer()


@database_sync_to_async
def make_user(username: str):
    return get_user_model().objects.create_user(username=username, password=f"pw-{username}-1")


@database_sync_to_async
def make_token(user) -> str:
    return api_token_create(user_id=user.pk, name="test")[1]


@database_sync_to_async
def make_whales(count: int) -> list:
    return [WhaleFactory() for _ in range(count)]


@database_sync_to_async
def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def whale_ref(whale) -> dict:
    return {"chain": whale.chain, "address": whale.address, "name": whale.name}


def event(event_id: int, *, chain: str = "ethereum", type: str = "large_transfer", value_usd: str | None = "250000.00",
          whale: dict | None = None) -> dict:
    """An ``event_payload``-shaped dict (the consumers read only what the payload carries)."""
    return {
        "id": event_id, "chain": chain, "type": type, "whale": whale, "block_time": "2026-11-21T10:00:00Z",
        "block_number": 21_000_000 + event_id, "tx_hash": f"0x{event_id:064x}", "log_index": 0,
        "summary": f"event {event_id}", "value_usd": value_usd, "details": {}, "observed_at": "2026-11-21T10:00:05Z",
        "external_url": f"https://etherscan.io/tx/0x{event_id:064x}", "published_at": "2026-11-21T10:00:05Z",
        "detection_latency_ms": 5000, "source_lag_blocks": None,
    }


async def feed(user=None, *, path: str = "/ws/events/") -> WebsocketCommunicator:
    """A connected /ws/events/ consumer with ``scope["user"] = user``."""
    communicator = WebsocketCommunicator(EventFeedConsumer.as_asgi(), path)
    communicator.scope["user"] = user or AnonymousUser()
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


async def alerts_socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(AlertConsumer.as_asgi(), "/ws/alerts/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    assert connected
    return communicator


async def publish(layer, *events: dict) -> None:
    for item in events:
        await layer.group_send(FEED_GROUP, {"type": "whale.event", "event": item})


async def received_ids(communicator: WebsocketCommunicator) -> list[int]:
    """Ids of the event frames until nothing more arrives."""
    ids = []
    while not await communicator.receive_nothing(timeout=0.2):
        frame = await communicator.receive_json_from(timeout=TIMEOUT)
        assert frame["type"] == "event"
        ids.append(frame["event"]["id"])
    return ids


def alert(alert_id: int, user_label: str) -> dict:
    return {"id": alert_id, "rule": {"id": 1, "name": f"{user_label} rule"}, "kind": "event", "event": event(alert_id),
            "events": [], "count": 1, "created_at": "2026-11-21T10:00:06Z", "summary": f"alert for {user_label}"}


# --- delivery --------------------------------------------------------------------------------------


async def test_feed_sends_a_published_event_payload_as_an_event_frame(memory_layer):
    user = await make_user("analyst")
    stored = await database_sync_to_async(
        lambda: WhaleEvent.objects.select_related("whale").get(pk=WhaleEventFactory(value_usd=Decimal("1234567.89")).pk)
    )()
    payload = await database_sync_to_async(event_payload)(stored)
    communicator = await feed(user)

    await publish(memory_layer, payload)

    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "event", "event": payload}
    assert payload["value_usd"] == "1234567.89000000"  # JSON-safe: the Decimal as a string
    assert await communicator.receive_nothing()
    await communicator.disconnect()


async def test_feed_sends_an_event_once_when_it_is_published_twice_and_to_several_groups(memory_layer):
    user = await make_user("analyst")
    communicator = await feed(user)
    item = event(7, whale={"chain": "ethereum", "address": "0x" + "1" * 40, "name": "W"})

    await publish(memory_layer, item, item)
    for group in (chain_group("ethereum"), whale_group(7)):
        await memory_layer.group_send(group, {"type": "whale.event", "event": item})

    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "event", "event": item}
    assert await communicator.receive_nothing(timeout=0.3)
    await communicator.disconnect()


async def test_feed_remembers_only_the_last_thousand_ids_it_sent(memory_layer):
    user = await make_user("analyst")
    communicator = await feed(user)

    ids = []
    for start in range(1, 1002, 250):  # batches below the layer's per-channel capacity
        await publish(memory_layer, *[event(i) for i in range(start, min(start + 250, 1002))])
        ids += await received_ids(communicator)
    await publish(memory_layer, event(1), event(1001))
    ids += await received_ids(communicator)

    assert ids == [*range(1, 1002), 1]  # id 1 was forgotten (1,001 sent since), 1001 was not
    await communicator.disconnect()


async def test_feed_delivers_through_the_redis_layer(settings):
    redis_url = os.environ.get("REDIS_URL")
    require(bool(redis_url), "REDIS_URL is not set")
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url], "capacity": 1000},
        }
    }
    layer = get_channel_layer()
    user = await make_user("analyst")
    communicator = await feed(user)
    item = event(42, value_usd="987654.32")
    try:
        await publish(layer, item, item)

        assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "event", "event": item}
        assert await communicator.receive_nothing(timeout=0.3)
    finally:
        await communicator.disconnect()
        await layer.close_pools()


# --- who may connect -------------------------------------------------------------------------------


@pytest.mark.parametrize("consumer", [EventFeedConsumer, AlertConsumer])
async def test_anonymous_connections_are_refused(memory_layer, consumer):
    communicator = WebsocketCommunicator(consumer.as_asgi(), "/ws/")
    communicator.scope["user"] = AnonymousUser()

    assert await communicator.connect(timeout=TIMEOUT) == (False, 1000)
    assert memory_layer.groups == {}  # joined nothing


async def test_public_feed_admits_anonymous_on_events_but_not_on_alerts(memory_layer, settings):
    settings.ALERTS_PUBLIC_FEED = True
    communicator = await feed(AnonymousUser())
    await publish(memory_layer, event(1))
    assert await received_ids(communicator) == [1]

    alerts = WebsocketCommunicator(AlertConsumer.as_asgi(), "/ws/alerts/")
    alerts.scope["user"] = AnonymousUser()
    assert await alerts.connect(timeout=TIMEOUT) == (False, 1000)
    await communicator.disconnect()


# --- filters ---------------------------------------------------------------------------------------


async def feed_with_events(memory_layer, message: dict):
    """A feed with ``message`` applied, five events published; returns (filter frame, received ids, whales)."""
    user = await make_user("analyst")
    w1, w2 = await make_whales(2)
    message = {key: ([{"w1": w1.id, "w2": w2.id}[v] for v in value] if key == "whales" else value)
               for key, value in message.items()}
    communicator = await feed(user)
    await communicator.send_json_to({"action": "filter", **message})
    ack = await communicator.receive_json_from(timeout=TIMEOUT)
    await publish(
        memory_layer,
        event(1, chain="ethereum", type="large_transfer", value_usd="250000.00", whale=whale_ref(w1)),
        event(2, chain="bitcoin", type="mempool_whale", value_usd="5000000.00", whale=None),
        event(3, chain="ethereum", type="large_swap", value_usd="60000.00", whale=whale_ref(w2)),
        event(4, chain="ethereum", type="exchange_flow", value_usd=None, whale=whale_ref(w1)),
        event(5, chain="ethereum", type="reorg_retraction", value_usd=None, whale=None),
    )
    ids = await received_ids(communicator)
    await communicator.disconnect()
    return ack, ids, (w1, w2)


@pytest.mark.parametrize(
    ("message", "expected_ids"),
    [
        ({}, [1, 2, 3, 4, 5]),
        ({"chains": ["bitcoin"]}, [2]),
        ({"chains": ["ethereum", "arbitrum"]}, [1, 3, 4, 5]),
        ({"event_types": ["large_swap", "mempool_whale"]}, [2, 3]),
        ({"min_value_usd": "100000"}, [1, 2, 5]),  # unpriced event 4 fails a minimum; a retraction passes
        ({"min_value_usd": 60000}, [1, 2, 3, 5]),
        ({"min_value_usd": "60000.01"}, [1, 2, 5]),
        ({"whales": ["w1"]}, [1, 4, 5]),
        ({"whales": ["w1", "w2"], "event_types": ["large_swap", "large_transfer"]}, [1, 3]),
        ({"chains": ["ethereum"], "min_value_usd": "100000", "whales": ["w1"]}, [1, 5]),
        ({"chains": [], "event_types": None, "whales": []}, [1, 2, 3, 4, 5]),  # empty or null = any
    ],
)
async def test_feed_filter_narrows_the_events_sent(memory_layer, message, expected_ids):
    ack, ids, _ = await feed_with_events(memory_layer, message)

    assert ack["type"] == "filter"
    assert ids == expected_ids


async def test_feed_filter_is_echoed_normalized(memory_layer):
    ack, _, (w1, w2) = await feed_with_events(
        memory_layer,
        {"chains": ["ethereum", "bitcoin", "ethereum"], "min_value_usd": 1e5, "whales": ["w2", "w1", "w2"]},
    )

    assert ack == {"type": "filter", "filter": {"chains": ["bitcoin", "ethereum"], "event_types": None,
                                                 "min_value_usd": "100000", "whales": sorted([w1.id, w2.id]),
                                                 "watchlist": None}}


async def test_feed_filter_replaces_the_previous_one(memory_layer):
    user = await make_user("analyst")
    communicator = await feed(user)
    await communicator.send_json_to({"action": "filter", "chains": ["bitcoin"]})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["filter"]["chains"] == ["bitcoin"]

    await communicator.send_json_to({"action": "filter", "min_value_usd": "100000"})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {
        "type": "filter", "filter": {"chains": None, "event_types": None, "min_value_usd": "100000", "whales": None,
                                     "watchlist": None}
    }
    await publish(memory_layer, event(1, chain="ethereum"), event(2, chain="bitcoin", value_usd="10.00"),
                  event(3, chain="bitcoin", value_usd="100000"))

    assert await received_ids(communicator) == [1, 3]
    await communicator.disconnect()


@pytest.mark.parametrize(
    ("message", "detail"),
    [
        ({"chains": ["solana"]}, "Unknown chains: solana. Allowed: ethereum, bitcoin, hyperliquid, arbitrum."),
        ({"chains": "bitcoin"}, "chains must be a list of strings."),
        ({"event_types": ["whale_sneeze"]}, "Unknown event_types: whale_sneeze. Allowed: large_transfer, large_swap, "
                                            "exchange_flow, perp_trade, mempool_whale, reorg_retraction, "
                                            "catalyst, data_quality."),
        ({"min_value_usd": "lots"}, "min_value_usd 'lots' is not a number."),
        ({"min_value_usd": "-1"}, "min_value_usd must be a finite number >= 0."),
        ({"min_value_usd": "NaN"}, "min_value_usd must be a finite number >= 0."),
        ({"min_value_usd": True}, "min_value_usd must be a number or a numeric string."),
        ({"min_value_usd": [1]}, "min_value_usd must be a number or a numeric string."),
        ({"whales": ["5"]}, "whales must be a list of integer whale ids."),
        ({"whales": [1.5]}, "whales must be a list of integer whale ids."),
        ({"whales": [True]}, "whales must be a list of integer whale ids."),
        ({"whales": [987654321]}, "Unknown whale ids: 987654321."),
        ({"whales": list(range(501))}, "whales may name at most 500 whales."),
        ({"chain": ["ethereum"]},
         "Unknown filter fields: chain. Allowed: chains, event_types, min_value_usd, watchlist, whales."),
    ],
)
async def test_feed_bad_filter_answers_an_error_and_keeps_the_previous_filter(memory_layer, message, detail):
    user = await make_user("analyst")
    communicator = await feed(user)
    await communicator.send_json_to({"action": "filter", "chains": ["bitcoin"]})
    await communicator.receive_json_from(timeout=TIMEOUT)

    await communicator.send_json_to({"action": "filter", **message})

    assert await communicator.receive_json_from(timeout=TIMEOUT) == {
        "type": "error", "code": "invalid_filter", "detail": detail
    }
    await publish(memory_layer, event(1, chain="ethereum"), event(2, chain="bitcoin"))
    assert await received_ids(communicator) == [2]
    await communicator.disconnect()


# --- malformed input -------------------------------------------------------------------------------


MALFORMED = [
    ({"text_data": "not json"}, "invalid_json"),
    ({"text_data": "{\"action\": "}, "invalid_json"),
    ({"text_data": "[1, 2]"}, "invalid_message"),
    ({"text_data": "\"filter\""}, "invalid_message"),
    ({"bytes_data": b"\x00\x01"}, "invalid_message"),
    ({"text_data": "{\"action\": \"dance\"}"}, "unknown_action"),
    ({"text_data": "{}"}, "unknown_action"),
]


@pytest.mark.parametrize(("frame", "code"), MALFORMED)
async def test_feed_malformed_message_answers_an_error_and_the_connection_keeps_working(memory_layer, frame, code):
    user = await make_user("analyst")
    communicator = await feed(user)

    await communicator.send_to(**frame)

    error = await communicator.receive_json_from(timeout=TIMEOUT)
    assert (error["type"], error["code"]) == ("error", code)
    assert isinstance(error["detail"], str) and error["detail"]
    await communicator.send_json_to({"action": "filter", "chains": ["bitcoin"]})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["type"] == "filter"
    await publish(memory_layer, event(1, chain="ethereum"), event(2, chain="bitcoin"))
    assert await received_ids(communicator) == [2]
    await communicator.disconnect()


@pytest.mark.parametrize(("frame", "code"), MALFORMED)
async def test_alerts_malformed_message_answers_an_error_and_alerts_still_arrive(memory_layer, frame, code):
    user = await make_user("analyst")
    communicator = await alerts_socket(user)

    await communicator.send_to(**frame)

    assert (await communicator.receive_json_from(timeout=TIMEOUT))["code"] == code
    await memory_layer.group_send(user_group(user.id), {"type": "alert.message", "alert": alert(1, "analyst")})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "alert", "alert": alert(1, "analyst")}
    await communicator.disconnect()


# --- alerts: per-user isolation ----------------------------------------------------------------------


async def test_alerts_reach_only_their_own_user(memory_layer):
    alice, bob = await make_user("alice"), await make_user("bob")
    alice_socket, bob_socket = await alerts_socket(alice), await alerts_socket(bob)

    await memory_layer.group_send(user_group(bob.id), {"type": "alert.message", "alert": alert(1, "bob")})
    await memory_layer.group_send(user_group(bob.id), {"type": "alert.message", "alert": alert(1, "bob")})
    await memory_layer.group_send(user_group(alice.id), {"type": "alert.message", "alert": alert(2, "alice")})

    assert await bob_socket.receive_json_from(timeout=TIMEOUT) == {"type": "alert", "alert": alert(1, "bob")}
    assert await alice_socket.receive_json_from(timeout=TIMEOUT) == {"type": "alert", "alert": alert(2, "alice")}
    assert await bob_socket.receive_nothing(timeout=0.3)  # neither alice's alert nor bob's repeat
    assert await alice_socket.receive_nothing()
    await alice_socket.disconnect()
    await bob_socket.disconnect()


async def test_alerts_socket_ignores_the_feed(memory_layer):
    user = await make_user("analyst")
    communicator = await alerts_socket(user)

    await publish(memory_layer, event(1))

    assert await communicator.receive_nothing(timeout=0.3)
    assert memory_layer.groups.keys() == {user_group(user.id)}
    await communicator.disconnect()


# --- feed.disconnect -------------------------------------------------------------------------------


async def test_feed_disconnect_closes_every_feed_socket_with_4000(memory_layer):
    user = await make_user("analyst")
    first, second = await feed(user), await feed(user)

    await memory_layer.group_send(FEED_GROUP, {"type": "feed.disconnect"})

    assert await first.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4000}
    assert await second.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4000}


async def test_feed_disconnect_to_a_user_group_closes_only_that_users_alert_socket(memory_layer):
    alice, bob = await make_user("alice"), await make_user("bob")
    alice_socket, bob_socket = await alerts_socket(alice), await alerts_socket(bob)

    await memory_layer.group_send(user_group(alice.id), {"type": "feed.disconnect"})

    assert await alice_socket.receive_output(timeout=TIMEOUT) == {"type": "websocket.close", "code": 4000}
    assert await bob_socket.receive_nothing(timeout=0.3)
    await bob_socket.disconnect()


# --- the full ASGI stack: origin check, session and token auth ----------------------------------------------


async def stack_connect(path: str, headers: list[tuple[bytes, bytes]] | None = None):
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    connected, _ = await communicator.connect(timeout=TIMEOUT)
    return communicator, connected


async def assert_alerts_for(communicator: WebsocketCommunicator, layer, user) -> None:
    """The socket is authenticated as ``user``: it receives that user's alerts."""
    await layer.group_send(user_group(user.id), {"type": "alert.message", "alert": alert(9, user.username)})
    assert await communicator.receive_json_from(timeout=TIMEOUT) == {"type": "alert", "alert": alert(9, user.username)}


async def test_token_in_the_query_string_authenticates_a_script(memory_layer):
    user = await make_user("script")
    key = await make_token(user)

    communicator, connected = await stack_connect(f"/ws/alerts/?token={key}")

    assert connected
    await assert_alerts_for(communicator, memory_layer, user)
    await communicator.disconnect()


async def test_token_in_the_authorization_header_authenticates_a_script(memory_layer):
    user = await make_user("script")
    key = await make_token(user)

    communicator, connected = await stack_connect("/ws/alerts/", [(b"authorization", f"Token {key}".encode())])

    assert connected
    await assert_alerts_for(communicator, memory_layer, user)
    await communicator.disconnect()


async def test_token_on_the_feed_authenticates_a_script(memory_layer):
    key = await make_token(await make_user("script"))

    communicator, connected = await stack_connect("/ws/events/", [(b"authorization", f"Token {key}".encode())])

    assert connected
    await publish(memory_layer, event(1))
    assert await received_ids(communicator) == [1]
    await communicator.disconnect()


async def test_a_bearer_token_authenticates_a_script(memory_layer):
    user = await make_user("script")
    key = await make_token(user)

    communicator, connected = await stack_connect("/ws/alerts/", [(b"authorization", f"Bearer {key}".encode())])

    assert connected
    await assert_alerts_for(communicator, memory_layer, user)
    await communicator.disconnect()


@pytest.mark.parametrize("how", ["expired", "revoked"])
async def test_an_expired_or_revoked_token_is_refused(memory_layer, how):
    from alerts.models import ApiToken

    user = await make_user("script")
    key = await make_token(user)
    rows = ApiToken.objects.filter(user=user)
    if how == "expired":
        await database_sync_to_async(rows.update)(expiry=timezone.now() - timedelta(seconds=1))
    else:
        await database_sync_to_async(rows.delete)()

    _, connected = await stack_connect("/ws/alerts/", [(b"authorization", f"Token {key}".encode())])

    assert not connected


@pytest.mark.parametrize("path", ["/ws/events/", "/ws/alerts/"])
@pytest.mark.parametrize("how", ["query", "header", "inactive user", "none"])
async def test_a_wrong_missing_or_inactive_token_is_refused(memory_layer, path, how):
    user = await make_user("script")
    key = await make_token(user)
    if how == "inactive user":
        user.is_active = False
        await database_sync_to_async(user.save)()
    headers = [(b"authorization", f"Token {key}".encode())] if how == "inactive user" else []
    if how == "header":
        headers = [(b"authorization", b"Token 0000000000000000000000000000000000000000")]
    suffix = "?token=wrong" if how == "query" else ""

    _, connected = await stack_connect(path + suffix, headers)

    assert not connected
    assert memory_layer.groups == {}


async def test_a_wrong_token_does_not_fall_back_to_the_session(memory_layer):
    user = await make_user("analyst")
    cookie = await session_cookie(user)

    _, connected = await stack_connect(
        "/ws/alerts/?token=wrong", [(b"cookie", cookie.encode()), (b"origin", b"http://localhost:8000")]
    )

    assert not connected


async def test_browser_session_with_an_allowed_origin_connects(memory_layer):
    user = await make_user("analyst")
    cookie = await session_cookie(user)

    communicator, connected = await stack_connect(
        "/ws/alerts/", [(b"cookie", cookie.encode()), (b"origin", b"http://localhost:8000")]
    )

    assert connected
    await assert_alerts_for(communicator, memory_layer, user)
    await communicator.disconnect()


async def test_token_wins_over_the_session_cookie(memory_layer):
    browser_user, script_user = await make_user("analyst"), await make_user("script")
    cookie = await session_cookie(browser_user)
    key = await make_token(script_user)

    communicator, connected = await stack_connect(f"/ws/alerts/?token={key}", [(b"cookie", cookie.encode())])

    assert connected
    assert memory_layer.groups.keys() == {user_group(script_user.id)}
    await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", b"null", b"https://localhost.evil.example"])
async def test_a_foreign_origin_is_refused_even_with_valid_credentials(memory_layer, origin):
    user = await make_user("analyst")
    cookie = await session_cookie(user)
    key = await make_token(user)

    _, connected = await stack_connect(
        f"/ws/events/?token={key}", [(b"cookie", cookie.encode()), (b"origin", origin)]
    )

    assert not connected
    assert memory_layer.groups == {}


# --- watchlist filter (issue 17 §4) ----------------------------------------------------------------


@database_sync_to_async
def make_watchlist(user, wallets: list[tuple[str, str]], *, shared: bool = False):
    from whales.models.watchlists import Watchlist, WatchlistEntry

    watchlist = Watchlist.objects.create(owner=user, name=f"list of {user.username}", is_shared=shared)
    WatchlistEntry.objects.bulk_create([WatchlistEntry(watchlist=watchlist, chain=c, address=a) for c, a in wallets])
    return watchlist


async def test_a_watchlist_filter_passes_only_the_lists_wallets(memory_layer):
    user = await make_user("watcher")
    on_list = {"chain": "ethereum", "address": "0x" + "1" * 40, "name": "on"}
    off_list = {"chain": "ethereum", "address": "0x" + "2" * 40, "name": "off"}
    watchlist = await make_watchlist(user, [("ethereum", on_list["address"])])
    communicator = await feed(user)
    await communicator.send_json_to({"action": "filter", "watchlist": watchlist.pk})
    assert (await communicator.receive_json_from(timeout=TIMEOUT))["filter"]["watchlist"] == watchlist.pk
    await publish(memory_layer, event(1, whale=on_list), event(2, whale=off_list), event(3, whale=None))
    assert await received_ids(communicator) == [1]
    await communicator.disconnect()


@pytest.mark.parametrize(("shared", "allowed"), [(False, False), (True, True)])
async def test_another_users_watchlist_filters_only_when_published(memory_layer, shared, allowed):
    owner, viewer = await make_user("owner"), await make_user("viewer")
    watchlist = await make_watchlist(owner, [("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq")], shared=shared)
    communicator = await feed(viewer)
    await communicator.send_json_to({"action": "filter", "watchlist": watchlist.pk})
    frame = await communicator.receive_json_from(timeout=TIMEOUT)
    if allowed:
        assert frame["type"] == "filter"
    else:
        assert frame == {"type": "error", "code": "invalid_filter",
                         "detail": f"Unknown watchlist {watchlist.pk}: not yours and not published."}
    await communicator.disconnect()
