"""The alerts API (/api/v1/alerts...): auth, owner scoping, CRUD, validation, simulate, alert listing."""

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertKind, AlertRule, AlertStatus
from alerts.tokens import api_token_create
from tests.alerts.factories import AlertFactory, AlertRuleFactory
from tests.api import assert_error
from tests.whales.factories import EntityFactory, LabelFactory, WhaleEventFactory, WhaleFactory

pytestmark = pytest.mark.django_db

RULES = "/api/v1/alerts/rules"


def rule_url(rule_id: int, suffix: str = "") -> str:
    return f"{RULES}/{rule_id}{suffix}"


@pytest.fixture
def client(api_client, user):
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def other_rule(django_user_model):
    return AlertRuleFactory(owner=django_user_model.objects.create_user(username="someone", password="pw-x-12345"),
                            name="not yours", cooldown_seconds=5)


# --- auth --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("get", RULES), ("post", RULES), ("get", "/api/v1/alerts"), ("get", f"{RULES}/1"), ("patch", f"{RULES}/1"),
    ("delete", f"{RULES}/1"), ("post", f"{RULES}/1/simulate"),
])
def test_anonymous_requests_are_401(api_client, method, path):
    assert_error(getattr(api_client, method)(path), 401, "not_authenticated")


def test_token_and_session_auth_work(api_client, user):
    AlertRuleFactory(owner=user)
    _, token = api_token_create(user_id=user.pk, name="test")
    response = api_client.get(RULES, HTTP_AUTHORIZATION=f"Token {token}")
    assert (response.status_code, response.json()["total"]) == (200, 1)
    api_client.credentials()
    api_client.login(username="analyst", password="pw-analyst-1")
    assert api_client.get(RULES).json()["total"] == 1


# --- owner scoping -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "suffix", "body"), [
    ("get", "", None),
    ("patch", "", {"name": "mine now"}),
    ("put", "", {"name": "mine now"}),
    ("delete", "", None),
    ("post", "/simulate?days=7", None),
])
def test_another_users_rule_is_404_and_unchanged(client, other_rule, method, suffix, body):
    before = AlertRule.objects.values().get(pk=other_rule.pk)
    response = getattr(client, method)(rule_url(other_rule.pk, suffix), body, format="json")
    assert assert_error(response, 404, "not_found") == f"No alert rule {other_rule.pk}."
    assert AlertRule.objects.values().get(pk=other_rule.pk) == before


def test_a_missing_rule_answers_exactly_like_another_users(client, other_rule):
    mine = client.get(rule_url(other_rule.pk)).json()
    missing = client.get(rule_url(other_rule.pk + 1000)).json()
    assert mine["code"] == missing["code"] == "not_found"


def test_lists_show_only_your_rules_and_alerts(client, user, other_rule):
    own = [AlertRuleFactory(owner=user) for _ in range(2)]
    own_alert = AlertFactory(rule=own[0])
    AlertFactory(rule=other_rule)
    rules = client.get(RULES).json()
    assert ([r["id"] for r in rules["items"]], rules["total"]) == ([own[1].pk, own[0].pk], 2)
    alerts = client.get("/api/v1/alerts").json()
    assert ([a["id"] for a in alerts["items"]], alerts["total"]) == ([own_alert.pk], 1)
    assert client.get(f"/api/v1/alerts?rule={other_rule.pk}").json() == {"items": [], "total": 0}


# --- CRUD ----------------------------------------------------------------------------------------------


def test_create_returns_the_rule_with_every_field(client, user):
    whale, label, entity = WhaleFactory(), LabelFactory(), EntityFactory()
    body = {"name": "Binance deposits", "chains": ["ethereum", "bitcoin"], "event_types": ["exchange_flow"],
            "min_value_usd": "250000.5", "whales": [whale.pk], "labels": [label.pk], "entities": [entity.pk],
            "direction": "deposit", "cooldown_seconds": 300, "channels": ["websocket"]}
    response = client.post(RULES, body, format="json")
    assert response.status_code == 201, response.content
    data = response.json()
    rule = AlertRule.objects.get()
    assert data == {
        "id": rule.pk, "name": "Binance deposits", "active": True, "chains": ["ethereum", "bitcoin"],
        "event_types": ["exchange_flow"], "min_value_usd": "250000.50000000", "whales": [whale.pk],
        "labels": [label.pk], "entities": [entity.pk], "destinations": [], "direction": "deposit", "watchlist": None,
        "cooldown_seconds": 300, "channels": ["websocket"], "webhook_url": "", "webhook_secret": None,
        "webhook_secret_hint": "",
        "last_alert_at": None, "created_at": data["created_at"], "updated_at": data["updated_at"],
    }
    assert rule.owner_id == user.pk


def test_defaults_of_a_minimal_rule(client):
    data = client.post(RULES, {"name": "everything"}, format="json").json()
    assert {k: data[k] for k in ("active", "chains", "event_types", "min_value_usd", "whales", "direction",
                                 "cooldown_seconds", "channels")} == {
        "active": True, "chains": [], "event_types": [], "min_value_usd": None, "whales": [], "direction": "",
        "cooldown_seconds": 0, "channels": ["websocket"]}


def test_a_webhook_secret_is_generated_shown_once_then_only_hinted(client):
    response = client.post(RULES, {"name": "hook", "channels": ["webhook"], "webhook_url": "https://hooks.example/x"},
                           format="json")
    secret = response.json()["webhook_secret"]
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert response.json()["webhook_secret_hint"] == f"…{secret[-4:]}"
    rule_id = response.json()["id"]
    shown = client.get(rule_url(rule_id)).json()
    assert (shown["webhook_secret"], shown["webhook_secret_hint"]) == (None, f"…{secret[-4:]}")
    assert client.patch(rule_url(rule_id), {"name": "renamed"}, format="json").json()["webhook_secret"] is None
    assert client.get(RULES).json()["items"][0]["webhook_secret"] is None
    assert AlertRule.objects.get().webhook_secret == secret


def test_a_given_webhook_secret_is_kept(client):
    response = client.post(RULES, {"name": "hook", "channels": ["webhook"], "webhook_url": "https://hooks.example/own",
                                   "webhook_secret": "my-own-secret-123456"}, format="json")
    assert response.json()["webhook_secret"] == "my-own-secret-123456"
    assert AlertRule.objects.get().webhook_secret == "my-own-secret-123456"


def test_patch_changes_only_the_given_fields(client, user):
    rule = AlertRuleFactory(owner=user, name="a", chains=["bitcoin"], cooldown_seconds=60)
    data = client.patch(rule_url(rule.pk), {"active": False, "labels": [LabelFactory().pk]}, format="json").json()
    assert (data["name"], data["chains"], data["cooldown_seconds"], data["active"], len(data["labels"])) == (
        "a", ["bitcoin"], 60, False, 1)


def test_put_replaces_the_rule_omitted_fields_take_defaults(client, user):
    rule = AlertRuleFactory(owner=user, name="a", chains=["bitcoin"], cooldown_seconds=60, whales=[WhaleFactory()])
    data = client.put(rule_url(rule.pk), {"name": "b"}, format="json").json()
    assert (data["name"], data["chains"], data["cooldown_seconds"], data["whales"]) == ("b", [], 0, [])


def test_patch_turning_the_webhook_on_needs_a_url_then_reveals_the_new_secret(client, user):
    rule = AlertRuleFactory(owner=user)
    assert_error(client.patch(rule_url(rule.pk), {"channels": ["webhook"]}, format="json"), 400, "invalid_parameter")
    data = client.patch(rule_url(rule.pk), {"channels": ["webhook"], "webhook_url": "https://x.example/h"},
                        format="json").json()
    assert len(data["webhook_secret"]) == 64


def test_delete_removes_the_rule_and_its_alerts(client, user):
    rule = AlertRuleFactory(owner=user)
    AlertFactory(rule=rule)
    response = client.delete(rule_url(rule.pk))
    assert response.status_code == 204
    assert (AlertRule.objects.count(), Alert.objects.count()) == (0, 0)


# --- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "x", "chains": ["solana"]}, "chains"),
    ({"name": "x", "event_types": ["big_thing"]}, "event_types"),
    ({"name": "x", "channels": ["sms"]}, "channels"),
    ({"name": "x", "channels": ["webhook"]}, "webhook_url"),
    ({"name": "x", "channels": ["webhook"], "webhook_url": "ftp://files.example/x"}, "webhook_url"),
    ({"name": "x", "channels": ["webhook"], "webhook_url": "not a url"}, "webhook_url"),
    ({"name": "x", "direction": "sideways"}, "direction"),
    ({"name": "x", "cooldown_seconds": -1}, "cooldown_seconds"),
    ({"name": "x", "min_value_usd": "-5"}, "min_value_usd"),
    ({"name": "x", "min_value_usd": "lots"}, "min_value_usd"),
    ({"name": "x", "whales": [999999]}, "whales"),
    ({"name": "x", "labels": ["abc"]}, "labels"),
    ({"name": "x", "chains": "ethereum"}, "chains"),
    ({"name": "x", "webhook_secret": "short"}, "webhook_secret"),
    ({"chains": ["ethereum"]}, "name"),
])
def test_invalid_bodies_are_400_invalid_parameter_and_create_nothing(client, body, field):
    detail = assert_error(client.post(RULES, body, format="json"), 400, "invalid_parameter")
    assert detail.startswith(f"{field}:")
    assert AlertRule.objects.count() == 0


def test_an_invalid_update_changes_nothing(client, user):
    rule = AlertRuleFactory(owner=user, chains=["bitcoin"])
    assert_error(client.patch(rule_url(rule.pk), {"chains": ["ethereum", "dogechain"]}, format="json"), 400,
                 "invalid_parameter")
    assert AlertRule.objects.get().chains == ["bitcoin"]


@pytest.mark.parametrize("query", ["days=0", "days=91", "days=abc", "days=-3"])
def test_simulate_days_out_of_range_is_400(client, user, query):
    rule = AlertRuleFactory(owner=user)
    assert assert_error(client.post(rule_url(rule.pk, f"/simulate?{query}")), 400, "invalid_parameter").startswith(
        "days:")


@pytest.mark.parametrize("query", ["status=bogus", "limit=0", "limit=501", "offset=-1", "rule=abc"])
def test_alert_list_bad_parameters_are_400(client, query):
    assert_error(client.get(f"/api/v1/alerts?{query}"), 400, "invalid_parameter")


# --- simulate and alerts ------------------------------------------------------------------------------


def test_simulate_counts_per_day_and_peak_hour(client, user):
    now = timezone.now()
    rule = AlertRuleFactory(owner=user, chains=["ethereum"])
    times = [now - timedelta(hours=h) for h in (1, 2, 25, 26, 27, 24 * 10)]  # the last is outside 7 days
    for when in times:
        WhaleEventFactory(chain="ethereum", block_time=when, value_usd=Decimal("1000000"))
    WhaleEventFactory(chain="bitcoin", block_time=now - timedelta(hours=1))
    response = client.post(rule_url(rule.pk, "/simulate?days=7"))
    assert response.status_code == 200, response.content
    data = response.json()
    inside = [t for t in times if t >= now - timedelta(days=7)]
    per_date = Counter(t.date().isoformat() for t in inside)
    per_hour = Counter(t.hour for t in inside)
    best = max(per_hour.values())
    assert (data["days"], data["events_matched"], data["alerts"], data["digests"]) == (7, 5, 5, 0)
    assert {d["date"]: d["alerts"] for d in data["per_day"] if d["alerts"]} == dict(per_date)
    assert len(data["per_day"]) == 8
    assert data["peak_hour"] == {"hour": min(h for h, n in per_hour.items() if n == best), "alerts": best}


def test_simulate_defaults_to_7_days(client, user):
    rule = AlertRuleFactory(owner=user)
    assert client.post(rule_url(rule.pk, "/simulate")).json()["days"] == 7


def test_alerts_newest_first_with_filters_and_paging(client, user):
    rule_a, rule_b = AlertRuleFactory(owner=user), AlertRuleFactory(owner=user)
    a1 = AlertFactory(rule=rule_a, status=AlertStatus.DELIVERED)
    b1 = AlertFactory(rule=rule_b, status=AlertStatus.SUPPRESSED)
    a2 = AlertFactory(rule=rule_a, status=AlertStatus.DELIVERED)
    digest = AlertFactory(rule=rule_a, event=None, kind=AlertKind.DIGEST, events=[1, 2], summary="2 more",
                          status=AlertStatus.PENDING)
    ids = [a["id"] for a in client.get("/api/v1/alerts").json()["items"]]
    assert ids == [digest.pk, a2.pk, b1.pk, a1.pk]
    assert [a["id"] for a in client.get(f"/api/v1/alerts?rule={rule_a.pk}&status=delivered").json()["items"]] == [
        a2.pk, a1.pk]
    page = client.get("/api/v1/alerts?limit=2&offset=1").json()
    assert ([a["id"] for a in page["items"]], page["total"]) == ([a2.pk, b1.pk], 4)
    item = client.get("/api/v1/alerts?status=pending").json()["items"][0]
    assert item == {"id": digest.pk, "rule": {"id": rule_a.pk, "name": rule_a.name}, "kind": "digest", "event": None,
                    "events": [1, 2], "count": 2, "created_at": item["created_at"], "summary": "2 more",
                    "status": "pending", "delivered_at": None, "digest": None, "webhook_status": "none",
                    "webhook_attempts": 0, "webhook_last_error": "", "webhook_delivered_at": None}


def test_an_event_alert_carries_the_event_payload(client, user):
    alert = AlertFactory(rule=AlertRuleFactory(owner=user))
    item = client.get("/api/v1/alerts").json()["items"][0]
    assert (item["event"]["id"], item["event"]["value_usd"], item["events"], item["count"]) == (
        alert.event_id, "1000000.00000000", [alert.event_id], 1)


def test_the_openapi_schema_documents_the_alert_endpoints(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    assert {"/api/v1/alerts", "/api/v1/alerts/rules", "/api/v1/alerts/rules/{rule_id}",
            "/api/v1/alerts/rules/{rule_id}/simulate"} <= set(schema["paths"])
