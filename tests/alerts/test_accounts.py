"""Accounts through django-allauth (issue 17 §1): sign-up with a confirmed address, staff-made accounts,
closing sign-up, password reset and change. The e-mail is Django's test outbox (``mailoutbox``)."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

pytestmark = pytest.mark.django_db
PASSWORD = "kelp-forest-2026"


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth keeps its rate limits (e.g. one confirmation e-mail per address per 3 minutes) in the cache."""
    cache.clear()
    yield
    cache.clear()


def link_in(message) -> str:
    """The first http(s) link in a sent e-mail's body, as a path."""
    url = re.search(r"https?://[^\s]+", message.body).group(0)
    return re.sub(r"^https?://[^/]+", "", url)


def sign_up(client, *, username: str = "newbie", email: str = "newbie@example.org"):
    return client.post("/accounts/signup/", {"username": username, "email": email, "password1": PASSWORD,
                                             "password2": PASSWORD})


def test_sign_up_needs_the_address_confirmed_before_signing_in(client, mailoutbox):
    response = sign_up(client)
    assert (response.status_code, response["Location"]) == (302, "/accounts/confirm-email/")
    assert "_auth_user_id" not in client.session
    [message] = mailoutbox
    assert message.to == ["newbie@example.org"]
    assert message.subject.startswith("[WhaleTrack] ")
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "newbie@example.org" and user.check_password(PASSWORD)

    refused = client.post("/accounts/login/", {"login": "newbie", "password": PASSWORD})
    assert (refused.status_code, refused["Location"]) == (302, "/accounts/confirm-email/")
    assert "_auth_user_id" not in client.session

    confirm = link_in(mailoutbox[-1])
    assert client.get(confirm).status_code == 200
    assert client.post(confirm).status_code == 302
    signed_in = client.post("/accounts/login/", {"login": "newbie@example.org", "password": PASSWORD})
    assert (signed_in.status_code, signed_in["Location"]) == (302, "/")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_an_account_made_by_staff_signs_in_without_an_address(client, django_user_model):
    user = django_user_model.objects.create_user(username="desk", password=PASSWORD)
    response = client.post("/accounts/login/", {"login": "desk", "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (302, "/")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_one_account_per_address_without_telling_a_stranger(client, mailoutbox):
    sign_up(client)
    again = sign_up(client, username="other")
    # allauth's enumeration guard: the answer looks like a sign-up; the address's owner is told by e-mail
    assert (again.status_code, again["Location"]) == (302, "/accounts/confirm-email/")
    assert get_user_model().objects.filter(username="other").count() == 0
    # allauth's per-address cool-down (3 minutes) holds back a second mail to the same address
    assert [m.to for m in mailoutbox] == [["newbie@example.org"]]


def test_sign_up_can_be_closed(client, settings):
    settings.ACCOUNT_SIGNUP_OPEN = False
    page = client.get("/accounts/signup/")
    assert "Sign Up Closed" in page.content.decode()
    sign_up(client)
    assert not get_user_model().objects.filter(username="newbie").exists()
    assert 'id="signup-link"' not in client.get("/accounts/login/").content.decode()


def test_sign_up_offered_when_open(client):
    html = client.get("/accounts/login/").content.decode()
    assert '<a href="/accounts/signup/" id="signup-link">Sign up</a>' in html


def test_password_reset_by_e_mail(client, django_user_model, mailoutbox):
    user = django_user_model.objects.create_user(username="forgetful", email="f@example.org", password=PASSWORD)
    assert client.post("/accounts/password/reset/", {"email": "f@example.org"}).status_code == 302
    [message] = mailoutbox
    assert message.to == ["f@example.org"]
    reset = client.get(link_in(message), follow=True)
    form_path = reset.redirect_chain[-1][0] if reset.redirect_chain else link_in(message)
    done = client.post(form_path, {"password1": "new-kelp-2027", "password2": "new-kelp-2027"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("new-kelp-2027")


def test_password_change_for_a_signed_in_user(client, user):
    client.force_login(user)
    response = client.post("/accounts/password/change/", {"oldpassword": "pw-analyst-1", "password1": "reef-2026-xy",
                                                          "password2": "reef-2026-xy"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("reef-2026-xy")
