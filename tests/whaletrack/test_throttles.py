"""API throttles and sign-in hardening against the real Redis cache and PostgreSQL: the anonymous throttle
counts the peer address (a forged X-Forwarded-For does not make a new client), signed-in users have their
own throttle, repeated failed logins lock out (django-axes) and passwords meet Django's standard rules."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from rest_framework.throttling import SimpleRateThrottle

pytestmark = pytest.mark.django_db

URL = "/api/v1/collectors/health"


@pytest.fixture(autouse=True)
def three_a_minute(monkeypatch, only_test_collector):
    """Both throttles at 3 requests a minute, counted from an empty cache (the test run's Redis)."""
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/minute", "user": "3/minute"})
    cache.clear()
    yield
    cache.clear()


def test_a_forged_x_forwarded_for_does_not_escape_the_anonymous_throttle(api_client):
    codes = [api_client.get(URL, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}").status_code for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_behind_one_proxy_the_address_it_appended_is_the_client(api_client, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    # The client writes what it likes on the left; the proxy appends the real peer on the right.
    first = [api_client.get(URL, HTTP_X_FORWARDED_FOR=f"10.9.9.{n}, 198.51.100.1").status_code for n in range(4)]
    other = api_client.get(URL, HTTP_X_FORWARDED_FOR="10.9.9.1, 198.51.100.2").status_code
    assert (first, other) == ([200, 200, 200, 429], 200)


def test_signed_in_users_are_throttled_per_user(api_client, user, django_user_model):
    api_client.force_authenticate(user)
    codes = [api_client.get(URL).status_code for _ in range(4)]
    api_client.force_authenticate(django_user_model.objects.create_user(username="other", password="pw-other-1x"))
    assert (codes, api_client.get(URL).status_code) == ([200, 200, 200, 429], 200)


@pytest.mark.parametrize(("path", "field"), [("/accounts/login/", "login"), ("/admin/login/", "username")])
def test_repeated_failed_logins_lock_out_even_the_right_password(client, staff_user, settings, path, field):
    assert settings.AXES_FAILURE_LIMIT == 5
    failures = [client.post(path, {field: "staff", "password": f"wrong-{n}"}).status_code for n in range(5)]
    locked = client.post(path, {field: "staff", "password": "pw-staff-1"})
    assert failures == [200, 200, 200, 200, 429]  # the fifth failure locks
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_correct_login_before_the_limit_still_works(client, staff_user):
    for n in range(4):
        client.post("/accounts/login/", {"login": "staff", "password": f"wrong-{n}"})
    response = client.post("/accounts/login/", {"login": "staff", "password": "pw-staff-1"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(staff_user.pk)


@pytest.mark.parametrize(("password", "message"), [
    ("password123", "This password is too common."),
    ("8412937560", "This password is entirely numeric."),
    ("short-1", "This password is too short. It must contain at least 10 characters."),
])
def test_passwords_meet_django_standard_validators(password, message):
    with pytest.raises(ValidationError) as raised:
        validate_password(password)
    assert message in raised.value.messages


def test_a_password_like_the_username_is_refused(django_user_model):
    user = django_user_model(username="whalewatcher", email="w@example.org")
    with pytest.raises(ValidationError) as raised:
        validate_password("whalewatcher1", user=user)
    assert "The password is too similar to the username." in raised.value.messages
    validate_password("tidal-orca-ledger-42", user=user)  # a good one passes
