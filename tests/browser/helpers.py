"""Steps the browser tests share."""

from typing import Any


def sign_in(page: Any, base: str, path: str, username: str, password: str) -> None:
    """Open ``path`` signed out, check it redirects to the sign-in page with ``next``, sign in as
    ``username`` and wait until the browser is back on ``path``."""
    page.goto(f"{base}{path}")
    assert page.url == f"{base}/accounts/login/?next={path}"
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_url(f"{base}{path}")
