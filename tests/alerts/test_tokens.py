"""Personal API tokens (issue 17 §1): made, listed and revoked through the API and the page; only a digest is
stored; Token and Bearer headers on the REST API; expiry, revocation, quota; the old DRF tokens converted."""

import hashlib
import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone

from alerts.models import ApiToken
from alerts.tokens import api_token_create
from tests.api import assert_error

pytestmark = pytest.mark.django_db
TOKENS = "/api/v1/account/tokens"
RULES = "/api/v1/alerts/rules"


def sha512_hex(token: str) -> str:
    """knox's digest, computed here from the standard library: SHA-512 of the token's UTF-8 bytes."""
    return hashlib.sha512(token.encode()).hexdigest()


def test_a_token_made_through_the_api_is_shown_once_and_stored_as_a_digest(api_client, user):
    api_client.force_login(user)
    made = api_client.post(TOKENS, {"name": "grafana"}, format="json")
    assert made.status_code == 201, made.content
    body = made.json()
    token = body["token"]
    assert token.startswith("wt_") and len(token) == 3 + 64 and int(token[3:], 16) >= 0
    assert (body["name"], body["token_key"], body["expires_at"], body["expired"], body["last_used_at"]) == (
        "grafana", token[:15], None, False, None)
    row = ApiToken.objects.get(pk=body["id"])
    assert (row.digest, row.token_key, row.user_id) == (sha512_hex(token), token[:15], user.pk)
    # nowhere in the row is the token itself
    assert token not in " ".join(str(v) for v in ApiToken.objects.filter(pk=row.pk).values().first().values())
    listed = api_client.get(TOKENS).json()
    assert listed["total"] == 1 and "token" not in listed["items"][0]
    assert listed["items"][0]["token_key"] == token[:15]


@pytest.mark.parametrize("scheme", ["Token", "Bearer", "bearer"])
def test_a_token_authenticates_rest_calls_and_records_its_use(api_client, user, scheme):
    row, token = api_token_create(user_id=user.pk, name="script")
    response = api_client.get(RULES, HTTP_AUTHORIZATION=f"{scheme} {token}")
    assert response.status_code == 200, response.content
    row.refresh_from_db()
    assert row.last_used_at is not None and timezone.now() - row.last_used_at < timedelta(seconds=30)


def test_a_wrong_token_is_401_with_the_scheme_named(api_client, user):
    _, token = api_token_create(user_id=user.pk, name="script")
    wrong = token[:-1] + ("0" if token[-1] != "0" else "1")  # same row prefix, different digest
    response = api_client.get(RULES, HTTP_AUTHORIZATION=f"Token {wrong}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert api_client.get(RULES, HTTP_AUTHORIZATION="Token " + "x" * 500).status_code == 401
    assert api_client.get(RULES, HTTP_AUTHORIZATION="Token a b").status_code == 401


def test_a_query_string_token_does_not_authenticate_rest_calls(api_client, user):
    _, token = api_token_create(user_id=user.pk, name="script")
    assert api_client.get(f"{RULES}?token={token}").status_code in (400, 401)  # ?token= is for WebSockets only


def test_revoking_stops_the_token_at_once_and_only_the_owner_can(api_client, user, django_user_model):
    row, token = api_token_create(user_id=user.pk, name="script")
    other = django_user_model.objects.create_user(username="other", password="pw-other-123")
    api_client.force_login(other)
    assert_error(api_client.delete(f"{TOKENS}/{row.pk}"), 404, "not_found")
    api_client.logout()
    assert api_client.get(RULES, HTTP_AUTHORIZATION=f"Token {token}").status_code == 200
    # a script may revoke its own token with it
    assert api_client.delete(f"{TOKENS}/{row.pk}", HTTP_AUTHORIZATION=f"Token {token}").status_code == 204
    assert api_client.get(RULES, HTTP_AUTHORIZATION=f"Token {token}").status_code == 401
    assert not ApiToken.objects.filter(pk=row.pk).exists()


def test_an_expired_token_is_refused_and_listed_as_expired(api_client, user):
    expires_at = (timezone.now() + timedelta(days=7)).replace(microsecond=0)
    api_client.force_login(user)
    made = api_client.post(TOKENS, {"name": "week", "expires_at": expires_at.isoformat()}, format="json").json()
    assert made["expires_at"] == expires_at.isoformat().replace("+00:00", "Z")
    api_client.logout()
    assert api_client.get(RULES, HTTP_AUTHORIZATION=f"Token {made['token']}").status_code == 200
    ApiToken.objects.filter(pk=made["id"]).update(expiry=timezone.now() - timedelta(seconds=1))
    assert api_client.get(RULES, HTTP_AUTHORIZATION=f"Token {made['token']}").status_code == 401
    api_client.force_login(user)
    assert api_client.get(TOKENS).json()["items"][0]["expired"] is True
    assert ApiToken.objects.filter(pk=made["id"]).exists()  # kept until revoked


@pytest.mark.parametrize(("body", "detail"), [
    ({"name": "  "}, "name: This field may not be blank."),
    ({"name": "x" * 101}, "name: Ensure this field has no more than 100 characters."),
    ({"name": "past", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at: must be in the future."),
    ({"name": "far", "expires_at": "2099-01-01T00:00:00Z"}, "expires_at: at most 366 days ahead."),
])
def test_bad_token_bodies_are_400_and_make_nothing(api_client, user, body, detail):
    api_client.force_login(user)
    assert assert_error(api_client.post(TOKENS, body, format="json"), 400, "invalid_parameter") == detail
    assert ApiToken.objects.count() == 0


def test_the_token_quota_holds(api_client, user, settings):
    settings.API_TOKENS_MAX_PER_USER = 2
    api_client.force_login(user)
    assert [api_client.post(TOKENS, {"name": f"t{n}"}, format="json").status_code for n in range(2)] == [201, 201]
    detail = assert_error(api_client.post(TOKENS, {"name": "t3"}, format="json"), 400, "quota_exceeded")
    assert detail == "API tokens: you have 2, the limit is 2; delete one to create another."


def test_the_token_api_needs_a_signed_in_user(api_client):
    assert api_client.get(TOKENS).status_code == 401
    assert api_client.post(TOKENS, {"name": "x"}, format="json").status_code == 401


def test_the_tokens_page_makes_shows_once_and_revokes(client, user):
    client.force_login(user)
    made = client.post("/account/tokens/", {"action": "create", "name": "notebook", "expires_days": "30"})
    assert made.status_code == 200
    html = made.content.decode()
    row = ApiToken.objects.get(user=user)
    start = html.index('<code id="new-token">') + len('<code id="new-token">')
    token = html[start:html.index("</code>", start)]
    assert row.digest == sha512_hex(token)
    assert abs((row.expiry - (timezone.now() + timedelta(days=30))).total_seconds()) < 60
    again = client.get("/account/tokens/").content.decode()
    assert token not in again and f"<code>{token[:15]}…</code>" in again
    bad = client.post("/account/tokens/", {"action": "create", "name": "x", "expires_days": "9999"})
    assert bad.status_code == 400 and "expires_days: choose one of the listed expiries." in bad.content.decode()
    revoked = client.post("/account/tokens/", {"action": "revoke", "token_id": str(row.pk)})
    assert (revoked.status_code, revoked["Location"]) == (302, "/account/tokens/")
    assert not ApiToken.objects.filter(pk=row.pk).exists()
    assert client.get("/account/tokens/").status_code == 200


def test_the_old_plain_text_drf_tokens_become_digests_and_keep_working(api_client, user):
    """The 0006 migration's step, run on a table shaped like rest_framework.authtoken's (no longer installed)."""
    legacy = "0123456789abcdef0123456789abcdef01234567"  # a DRF key: 40 hex digits
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL, "
                       "user_id integer NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, %s, %s)", [legacy, "2026-01-02T03:04:05Z", user.pk])
    migration = importlib.import_module("alerts.migrations.0006_api_tokens")
    with connection.schema_editor() as editor:
        migration.legacy_tokens_hash(django_apps, editor)
        migration.legacy_tokens_hash(django_apps, editor)  # idempotent: a re-run finds nothing left
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0
    row = ApiToken.objects.get(user=user)
    assert (row.digest, row.token_key, row.created.isoformat()) == (
        sha512_hex(legacy), legacy[:15], "2026-01-02T03:04:05+00:00")
    assert api_client.get(RULES, HTTP_AUTHORIZATION=f"Token {legacy}").status_code == 200
