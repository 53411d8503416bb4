"""Isolation: every owner-scoped endpoint, tried as another user and as anonymous, answers 401, 403 or 404 (or,
for a list of one's own, only one's own rows), never the owner's data; and the owner's rows are unchanged.

The REST operations are enumerated from the served OpenAPI schema: an operation anonymous may not call is
owner-scoped (or staff-only) and must have a row in ``CASES``, so a new one cannot be forgotten. The WebSocket
routes are enumerated from ``alerts.routing``; the per-user one (``/ws/alerts/``) is tried on a real daphne
process with the Redis channel layer.
"""

import asyncio
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

from alerts.destinations import destination_create
from alerts.models import Alert, AlertDestination, AlertRule, ApiToken
from alerts.routing import websocket_urlpatterns
from alerts.services import alert_deliver
from alerts.tokens import api_token_create
from tests.alerts.factories import AlertFactory, AlertRuleFactory
from tests.processes import daphne_server
from tests.requirements import require
from tests.security.schema import api_schema
from tests.trading.factories import AccountFactory, StrategyFactory, fixed_prices
from trading.live import credential_set
from trading.models import Account, ExchangeCredential, Order, Reconciliation, Strategy, VenueCall
from trading.services import order_place
from whales.models.watchlists import Watchlist, WatchlistEntry

MARK = "zq7x"  # in every name of the owner's rows: no answer to anyone else may contain it



@dataclass(frozen=True)
class Owned:
    """Alice's rows the requests aim at."""

    account: int
    strategy: int
    order: int
    rule: int
    alert: int
    destination: int
    token: int
    watchlist: int


def owned_scene(alice) -> Owned:
    """Alice's account with a strategy, a filled order (so a fill and a position), an alert rule and an alert."""
    account = AccountFactory(owner=alice, name=f"alice account {MARK}")
    strategy = StrategyFactory(account=account, name=f"alice strategy {MARK}")
    order = order_place(account_id=account.pk, symbol="ETH", side="buy", quantity=Decimal("1.5"),
                        client_order_id=f"alice-{MARK}", strategy_id=strategy.pk,
                        price_source=fixed_prices({"ETH": Decimal("2000")}))
    rule = AlertRuleFactory(owner=alice, name=f"alice rule {MARK}")
    alert = AlertFactory(rule=rule, summary=f"alice alert {MARK}")
    destination = destination_create(owner_id=alice.pk, name=f"alice destination {MARK}",
                                     url=f"discord://4242/{MARK}token")
    rule.destinations.set([destination])
    token, _ = api_token_create(user_id=alice.pk, name=f"alice token {MARK}")
    credential_set(account_id=account.pk, owner=alice, venue="coinspot", api_key=f"alice-key-{MARK}",
                   secret=f"alice-secret-{MARK}")
    watchlist = Watchlist.objects.create(owner=alice, name=f"alice list {MARK}")
    WatchlistEntry.objects.create(watchlist=watchlist, chain="ethereum", address="0x" + "7" * 40)
    return Owned(account=account.pk, strategy=strategy.pk, order=order.pk, rule=rule.pk, alert=alert.pk,
                 destination=destination.pk, token=token.pk, watchlist=watchlist.pk)


@dataclass(frozen=True)
class Attempt:
    """One request: path (with alice's ids), query, JSON body; ``own`` = it works on the caller's own rows
    (a list, a create), so the other user gets 200/201 with none of alice's data instead of a refusal."""

    path: str
    query: dict | None = None
    body: dict | None = None
    own: bool = False


def account_query(path: str) -> Callable[[Owned], Attempt]:
    """GET ``path?account=<alice's account>``."""
    return lambda o: Attempt(path, {"account": o.account})


ORDER_BODY = {"symbol": "ETH", "side": "sell", "quantity": "1", "client_order_id": "bob-1"}
RULE_BODY = {"name": "bob's", "direction": "buy"}
# (method, schema path) -> the attempt built from alice's rows
CASES: dict[tuple[str, str], Callable[[Owned], Attempt]] = {
    ("GET", "/api/v1/alerts"): lambda o: Attempt("/api/v1/alerts", {"rule": o.rule}, own=True),
    ("GET", "/api/v1/alerts/rules"): lambda o: Attempt("/api/v1/alerts/rules", own=True),
    ("POST", "/api/v1/alerts/rules"): lambda o: Attempt("/api/v1/alerts/rules", body=RULE_BODY, own=True),
    ("GET", "/api/v1/alerts/rules/{rule_id}"): lambda o: Attempt(f"/api/v1/alerts/rules/{o.rule}"),
    ("PUT", "/api/v1/alerts/rules/{rule_id}"): lambda o: Attempt(f"/api/v1/alerts/rules/{o.rule}", body=RULE_BODY),
    ("PATCH", "/api/v1/alerts/rules/{rule_id}"): lambda o: Attempt(f"/api/v1/alerts/rules/{o.rule}",
                                                                   body={"active": False}),
    ("DELETE", "/api/v1/alerts/rules/{rule_id}"): lambda o: Attempt(f"/api/v1/alerts/rules/{o.rule}"),
    ("POST", "/api/v1/alerts/rules/{rule_id}/simulate"): lambda o: Attempt(
        f"/api/v1/alerts/rules/{o.rule}/simulate", {"days": 7}),
    ("GET", "/api/v1/alerts/destinations"): lambda o: Attempt("/api/v1/alerts/destinations", own=True),
    ("POST", "/api/v1/alerts/destinations"): lambda o: Attempt(
        "/api/v1/alerts/destinations", body={"name": "bob's", "url": "discord://1/bobtoken"}, own=True),
    ("GET", "/api/v1/alerts/destinations/{destination_id}"): lambda o: Attempt(
        f"/api/v1/alerts/destinations/{o.destination}"),
    ("PATCH", "/api/v1/alerts/destinations/{destination_id}"): lambda o: Attempt(
        f"/api/v1/alerts/destinations/{o.destination}", body={"status": "paused"}),
    ("DELETE", "/api/v1/alerts/destinations/{destination_id}"): lambda o: Attempt(
        f"/api/v1/alerts/destinations/{o.destination}"),
    ("POST", "/api/v1/alerts/destinations/{destination_id}/test"): lambda o: Attempt(
        f"/api/v1/alerts/destinations/{o.destination}/test"),
    ("GET", "/api/v1/account/tokens"): lambda o: Attempt("/api/v1/account/tokens", own=True),
    ("POST", "/api/v1/account/tokens"): lambda o: Attempt("/api/v1/account/tokens", body={"name": "bob's"},
                                                          own=True),
    ("DELETE", "/api/v1/account/tokens/{token_id}"): lambda o: Attempt(f"/api/v1/account/tokens/{o.token}"),
    ("GET", "/api/v1/watchlists"): lambda o: Attempt("/api/v1/watchlists", own=True),
    ("POST", "/api/v1/watchlists"): lambda o: Attempt("/api/v1/watchlists", body={"name": "bob's"}, own=True),
    ("GET", "/api/v1/watchlists/{watchlist_id}"): lambda o: Attempt(f"/api/v1/watchlists/{o.watchlist}"),
    ("PATCH", "/api/v1/watchlists/{watchlist_id}"): lambda o: Attempt(f"/api/v1/watchlists/{o.watchlist}",
                                                                      body={"name": "bob's now"}),
    ("DELETE", "/api/v1/watchlists/{watchlist_id}"): lambda o: Attempt(f"/api/v1/watchlists/{o.watchlist}"),
    ("POST", "/api/v1/watchlists/{watchlist_id}/entries"): lambda o: Attempt(
        f"/api/v1/watchlists/{o.watchlist}/entries", body={"addresses": "ethereum:0x" + "8" * 40}),
    ("DELETE", "/api/v1/watchlists/{watchlist_id}/entries/{chain}/{address}"): lambda o: Attempt(
        f"/api/v1/watchlists/{o.watchlist}/entries/ethereum/0x{'7' * 40}"),
    ("GET", "/api/v1/exports/watchlists/{watchlist_id}.{fmt}"): lambda o: Attempt(
        f"/api/v1/exports/watchlists/{o.watchlist}.csv"),
    # staff-only, not owner-scoped: a signed-in non-staff user is refused like anyone else
    ("POST", "/api/v1/collectors/{name}/trigger"): lambda o: Attempt("/api/v1/collectors/ethereum.transfers/trigger"),
    ("GET", "/api/v1/trading/accounts"): lambda o: Attempt("/api/v1/trading/accounts", own=True),
    ("POST", "/api/v1/trading/accounts"): lambda o: Attempt("/api/v1/trading/accounts", body={"name": "bob's"},
                                                            own=True),
    ("GET", "/api/v1/trading/accounts/{account_id}"): lambda o: Attempt(f"/api/v1/trading/accounts/{o.account}"),
    ("POST", "/api/v1/trading/accounts/{account_id}/halt"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/halt", body={"reason": "bob"}),
    ("POST", "/api/v1/trading/accounts/{account_id}/resume"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/resume", body={"reason": "bob"}),
    ("GET", "/api/v1/trading/orders"): lambda o: Attempt("/api/v1/trading/orders", {"account": o.account}),
    ("POST", "/api/v1/trading/orders"): lambda o: Attempt("/api/v1/trading/orders",
                                                          body={"account": o.account, **ORDER_BODY}),
    ("GET", "/api/v1/trading/orders/{order_id}"): lambda o: Attempt(f"/api/v1/trading/orders/{o.order}"),
    ("POST", "/api/v1/trading/orders/{order_id}/cancel"): lambda o: Attempt(f"/api/v1/trading/orders/{o.order}/cancel"),
    **{("GET", f"/api/v1/trading/{name}"): account_query(f"/api/v1/trading/{name}")
       for name in ("pnl/by-coin", "pnl/by-strategy", "pnl/history", "pnl/realized", "pnl/summary",
                    "pnl/unrealized", "positions", "signals", "strategies")},
    ("GET", "/api/v1/trading/accounts/{account_id}/live"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/live"),
    ("POST", "/api/v1/trading/accounts/{account_id}/live/confirm"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/live/confirm"),
    # staff-only: a signed-in non-staff user is refused (403) on anyone's account
    ("POST", "/api/v1/trading/accounts/{account_id}/live/mode"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/live/mode", body={"live": True, "venue": "coinspot"}),
    ("PUT", "/api/v1/trading/accounts/{account_id}/credentials"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/credentials",
        body={"venue": "coinspot", "api_key": "bob-key-0001", "secret": "bob-secret-0001"}),
    ("DELETE", "/api/v1/trading/accounts/{account_id}/credentials"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/credentials"),
    ("POST", "/api/v1/trading/accounts/{account_id}/credentials/test"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/credentials/test"),
    ("GET", "/api/v1/trading/accounts/{account_id}/venue/orders"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/venue/orders"),
    ("GET", "/api/v1/trading/accounts/{account_id}/reconciliations"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/reconciliations"),
    ("POST", "/api/v1/trading/accounts/{account_id}/reconciliations"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/reconciliations"),
    ("POST", "/api/v1/trading/accounts/{account_id}/emergency-stop"): lambda o: Attempt(
        f"/api/v1/trading/accounts/{o.account}/emergency-stop", body={"flatten": True, "reason": "bob"}),
    ("POST", "/api/v1/trading/strategies"): lambda o: Attempt(
        "/api/v1/trading/strategies", body={"account": o.account, "name": "bob's", "kind": "follow_smart_money"}),
    ("POST", "/api/v1/trading/strategies/{strategy_id}/pause"): lambda o: Attempt(
        f"/api/v1/trading/strategies/{o.strategy}/pause", body={"reason": "bob"}),
    ("POST", "/api/v1/trading/strategies/{strategy_id}/resume"): lambda o: Attempt(
        f"/api/v1/trading/strategies/{o.strategy}/resume", body={"reason": "bob"}),
}


def signed_in_only_operations() -> set[tuple[str, str]]:
    """(method, path) of each operation the schema does not open to anonymous callers (no ``{}`` security)."""
    raw = api_schema().raw_schema
    return {(method.upper(), path) for path, operations in raw["paths"].items()
            for method, operation in operations.items() if {} not in operation.get("security", [{}])}


def owner_state(owned: Owned) -> dict:
    """Alice's rows as plain values, to show nothing of hers changed."""
    return {
        "account": model_to_dict(Account.objects.get(pk=owned.account)),
        "strategy": model_to_dict(Strategy.objects.get(pk=owned.strategy)),
        "orders": list(Order.objects.filter(account_id=owned.account).order_by("pk").values()),
        "rule": model_to_dict(AlertRule.objects.get(pk=owned.rule),
                              exclude=["whales", "labels", "entities", "destinations"]),
        "rule_destinations": list(AlertRule.objects.get(pk=owned.rule).destinations.values_list("pk", flat=True)),
        "destination": model_to_dict(AlertDestination.objects.get(pk=owned.destination)),
        "alerts": list(Alert.objects.filter(rule_id=owned.rule).order_by("pk").values()),
        "token": model_to_dict(ApiToken.objects.get(pk=owned.token)),
        "watchlist": model_to_dict(Watchlist.objects.get(pk=owned.watchlist)),
        "watchlist_entries": list(WatchlistEntry.objects.filter(watchlist_id=owned.watchlist).values()),
        "credentials": list(ExchangeCredential.objects.filter(account_id=owned.account).values()),
        "reconciliations": list(Reconciliation.objects.filter(account_id=owned.account).values()),
        "venue_calls": list(VenueCall.objects.filter(account_id=owned.account).values()),
    }


def send(client: APIClient, method: str, attempt: Attempt):
    path = attempt.path
    if attempt.query:
        path += "?" + "&".join(f"{key}={value}" for key, value in attempt.query.items())
    return getattr(client, method.lower())(path, attempt.body, format="json")


def test_every_signed_in_only_operation_of_the_schema_has_an_isolation_case():
    assert signed_in_only_operations() == set(CASES)


@pytest.mark.django_db
@pytest.mark.parametrize("identity", ["other user", "anonymous"])
def test_no_owner_scoped_operation_shows_or_changes_the_owners_rows_for_anyone_else(django_user_model, identity,
                                                                                    settings):
    settings.ALERT_DESTINATION_KEYS = [Fernet.generate_key().decode()]
    settings.TRADING_CREDENTIALS_KEYS = [Fernet.generate_key().decode()]
    alice = django_user_model.objects.create_user(username="alice", password="pw-alice-iso-1")
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-iso-1")
    owned = owned_scene(alice)
    before = owner_state(owned)
    client = APIClient()
    if identity == "other user":
        client.force_authenticate(bob)

    answers = {}
    for (method, path), build in CASES.items():
        attempt = build(owned)
        response = send(client, method, attempt)
        answers[(method, path)] = response.status_code
        assert MARK not in response.content.decode(), (method, path, response.content)
        if identity == "anonymous":
            assert response.status_code in (401, 403), (method, path, response.status_code)
        elif attempt.own:
            assert response.status_code in (200, 201), (method, path, response.status_code)
        else:
            assert response.status_code in (403, 404), (method, path, response.status_code)

    assert owner_state(owned) == before
    assert len(answers) == len(CASES) == 57


# --- WebSocket ---------------------------------------------------------------------------------------

# Every WebSocket route, classified: "public" sends the same public feed to everyone allowed in; "owner" sends
# one user's rows only. A new route must be classified here (and, if per-user, tried below).
WEBSOCKET_ROUTES = {"ws/events/": "public", "ws/alerts/": "owner"}


def test_every_websocket_route_is_classified():
    assert {str(route.pattern) for route in websocket_urlpatterns} == set(WEBSOCKET_ROUTES)


async def alert_frames(url: str, ready: asyncio.Event, done: asyncio.Event) -> list[dict]:
    """Connect to ``url``, signal ``ready``, and return every frame received until 1.5 s after ``done``."""
    from websockets.asyncio.client import connect

    frames = []
    async with connect(url, open_timeout=10) as websocket:
        ready.set()
        await done.wait()
        while True:
            try:
                frames.append(json.loads(await asyncio.wait_for(websocket.recv(), timeout=1.5)))
            except TimeoutError:
                return frames


async def refused(url: str) -> bool:
    """True when the WebSocket handshake at ``url`` is refused (HTTP 403 from daphne)."""
    from websockets.asyncio.client import connect
    from websockets.exceptions import InvalidStatus

    try:
        async with connect(url, open_timeout=10):
            return False
    except InvalidStatus as exc:
        return exc.response.status_code == 403


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_users_alert_reaches_only_their_own_alert_socket_on_daphne(tmp_path, django_user_model):
    redis_url = os.environ.get("REDIS_URL")
    require(bool(redis_url) and connection.vendor == "postgresql",
            "needs REDIS_URL and a PostgreSQL DATABASE_URL (daphne shares both)")
    alice = django_user_model.objects.create_user(username="alice", password="pw-alice-iso-1")
    bob = django_user_model.objects.create_user(username="bob", password="pw-bob-iso-1")
    keys = {user.username: api_token_create(user_id=user.pk, name="test")[1] for user in (alice, bob)}
    alert = AlertFactory(rule=AlertRuleFactory(owner=alice, name=f"alice rule {MARK}"), summary=f"alice alert {MARK}")
    env = {"REDIS_URL": os.environ["REDIS_URL"], "CHANNEL_LAYER_CAPACITY": "1000"}
    with daphne_server(tmp_path / "daphne.log", env) as base:
        url = f"{base}/ws/alerts/"

        async def scenario() -> tuple[list[dict], list[dict], bool]:
            ready = [asyncio.Event(), asyncio.Event()]
            done = asyncio.Event()
            sockets = [asyncio.create_task(alert_frames(f"{url}?token={keys[name]}", event, done))
                       for name, event in zip(("alice", "bob"), ready, strict=True)]
            await asyncio.wait_for(asyncio.gather(*(event.wait() for event in ready)), timeout=15)
            await asyncio.to_thread(deliver, alert.pk)
            done.set()
            alice_frames, bob_frames = await asyncio.gather(*sockets)
            return alice_frames, bob_frames, await refused(url)

        alice_frames, bob_frames, anonymous_refused = asyncio.run(scenario())

    assert [(frame["type"], frame["alert"]["id"]) for frame in alice_frames] == [("alert", alert.pk)]
    assert bob_frames == []
    assert anonymous_refused


def deliver(alert_id: int) -> None:
    """``alert_deliver`` from a helper thread (its own connection, closed after)."""
    try:
        assert alert_deliver(alert_id=alert_id)
    finally:
        connection.close()
