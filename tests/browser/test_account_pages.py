"""The account pages in a real browser against a real server (``conftest.daphne_server``, whose e-mail goes to
files in ``mail_dir``): sign up, confirm the address from the e-mail, sign in, make an API token on
``/account/tokens/``, call the API with it, and revoke it. The token shown is checked against the API itself."""

import re
from pathlib import Path

import pytest
import requests
from django.core.cache import cache

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
PASSWORD = "kelp-forest-2026"


def confirmation_link(mail_dir: Path) -> str:
    """The only link in the one message the server wrote (a path on the server)."""
    [message] = sorted(mail_dir.glob("*.log"))
    url = re.search(r"https?://\S+", message.read_text()).group(0)
    return re.sub(r"^https?://[^/]+", "", url)


def test_sign_up_confirm_sign_in_and_manage_a_token(browser, daphne_server, mail_dir, run):
    run(cache.clear)  # allauth's per-address e-mail cool-down lives in the cache the server shares
    page = browser.new_page()
    page.goto(f"{daphne_server}/accounts/login/")
    page.click("#signup-link")
    page.fill("#id_username", "alice")
    page.fill("#id_email", "alice@example.org")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{daphne_server}/accounts/confirm-email/")

    page.goto(daphne_server + confirmation_link(mail_dir))
    page.click("main form button[type=submit]")
    page.goto(f"{daphne_server}/accounts/login/?next=/account/tokens/")
    page.fill("#id_login", "alice@example.org")
    page.fill("#id_password", PASSWORD)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{daphne_server}/account/tokens/")
    assert page.inner_text("#username") == "alice"
    assert page.inner_text("#no-tokens") == "No tokens yet."

    page.fill("#token-name", "notebook")
    page.select_option("#token-expiry", "30")
    page.click("#token-create button[type=submit]")
    token = page.inner_text("#new-token")
    assert re.fullmatch(r"wt_[0-9a-f]{64}", token)
    api = f"{daphne_server}/api/v1/account/tokens"
    listed = requests.get(api, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert listed.status_code == 200
    [item] = listed.json()["items"]
    assert (item["name"], item["token_key"], item["expired"]) == ("notebook", token[:15], False)
    row = page.locator(f'#tokens tr[data-token-id="{item["id"]}"] td')
    assert row.nth(0).inner_text() == "notebook" and row.nth(1).inner_text() == f"{token[:15]}…"

    page.goto(f"{daphne_server}/account/tokens/")  # the token is never shown again
    assert page.locator("#new-token").count() == 0 and token not in page.content()
    page.locator(f'#tokens tr[data-token-id="{item["id"]}"] button').click()
    page.wait_for_selector("#messages")
    assert page.inner_text("#messages li") == "Token revoked: it no longer works."
    assert requests.get(api, headers={"Authorization": f"Token {token}"}, timeout=10).status_code == 401
