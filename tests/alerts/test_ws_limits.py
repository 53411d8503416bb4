"""WebSocket connections per user (issue 14, item 10) on a real daphne process with the Redis slot store of
REDIS_URL: a signed-in user holds at most LIMITS_MAX_WS_PER_USER sockets over /ws/events/ and /ws/alerts/;
the next one gets an error frame and close code 4429, other users are not affected, and a closed socket
gives its slot back."""

import json
import os
import time

import pytest
import redis
from django.db import connection
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from alerts.connections import KEY_PREFIX
from alerts.tokens import api_token_create
from tests.processes import daphne_server
from tests.requirements import require

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LIMIT = 3


@pytest.fixture(scope="module")
def server_url(django_db_setup, django_db_blocker, tmp_path_factory):
    """``ws://127.0.0.1:<port>`` of one real daphne process on the pytest database and REDIS_URL, with
    LIMITS_MAX_WS_PER_USER=3."""
    redis_url = os.environ.get("REDIS_URL")
    with django_db_blocker.unblock():
        vendor = connection.vendor
    require(bool(redis_url) and vendor == "postgresql", "needs REDIS_URL and a PostgreSQL DATABASE_URL")
    env = {"REDIS_URL": os.environ["REDIS_URL"], "ALERTS_PUBLIC_FEED": "false", "LIMITS_MAX_WS_PER_USER": str(LIMIT)}
    with daphne_server(tmp_path_factory.mktemp("ws-limits") / "daphne.log", env) as url:
        yield url


def token_for(django_user_model, username: str) -> tuple[int, str]:
    user = django_user_model.objects.create_user(username=username, password=f"pw-{username}-1")
    redis.Redis.from_url(os.environ["REDIS_URL"]).delete(f"{KEY_PREFIX}{user.pk}")  # ids may repeat across runs
    return user.pk, api_token_create(user_id=user.pk, name="test")[1]


def open_socket(url: str, key: str) -> ClientConnection:
    return connect(url, additional_headers={"Authorization": f"Token {key}"}, open_timeout=10)


def assert_open(socket: ClientConnection) -> None:
    """The socket answers a filter message: it was admitted and stays open."""
    socket.send(json.dumps({"action": "filter", "chains": ["bitcoin"]}))
    frame = json.loads(socket.recv(timeout=10))
    assert frame["type"] in {"filter", "error"}
    assert frame.get("code") != "too_many_connections"


def assert_refused(socket: ClientConnection) -> None:
    """An error frame naming the cap, then close code 4429."""
    assert json.loads(socket.recv(timeout=10)) == {
        "type": "error", "code": "too_many_connections",
        "detail": f"At most {LIMIT} open connections per user; close one to open another."}
    with pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429


def test_a_user_over_the_cap_is_closed_with_4429_and_others_are_not_affected(server_url, django_user_model):
    _, key = token_for(django_user_model, "busy")
    _, other_key = token_for(django_user_model, "calm")
    sockets = [open_socket(f"{server_url}/ws/events/", key), open_socket(f"{server_url}/ws/events/", key),
               open_socket(f"{server_url}/ws/alerts/", key)]  # both paths count toward one cap
    try:
        for socket in sockets:
            assert_open(socket)
        for path in ("/ws/events/", "/ws/alerts/"):
            over = open_socket(f"{server_url}{path}", key)
            assert_refused(over)
            over.close()
        others = open_socket(f"{server_url}/ws/events/", other_key)
        assert_open(others)
        others.close()
        for socket in sockets:
            assert_open(socket)  # the refused ones took nothing from the admitted ones
    finally:
        for socket in sockets:
            socket.close()


def test_a_closed_socket_gives_its_slot_back(server_url, django_user_model):
    user_id, key = token_for(django_user_model, "cycler")
    sockets = [open_socket(f"{server_url}/ws/events/", key) for _ in range(LIMIT)]
    try:
        for socket in sockets:
            assert_open(socket)
        sockets.pop().close()
        store = redis.Redis.from_url(os.environ["REDIS_URL"])
        deadline = time.monotonic() + 10
        while store.zcard(f"{KEY_PREFIX}{user_id}") != LIMIT - 1:
            assert time.monotonic() < deadline, "the closed socket's slot was not released"
            time.sleep(0.05)
        sockets.append(open_socket(f"{server_url}/ws/events/", key))
        assert_open(sockets[-1])
        assert store.zcard(f"{KEY_PREFIX}{user_id}") == LIMIT
    finally:
        for socket in sockets:
            socket.close()
