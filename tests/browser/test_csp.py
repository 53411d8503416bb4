"""The pages pass their Content-Security-Policy: Chromium, against a real daphne on the test database, reports
no violation (``securitypolicyviolation`` events and CSP console errors) on any page, signed out or in, and
the live feed's WebSocket still opens under ``connect-src 'self'``."""

import pytest

from tests.browser.helpers import sign_in
from whales.chains import Chain
from whales.models import Label, Whale, WhaleLabel

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PASSWORD = "pw-csp-viewer-1"
ADDRESS = "0x00000000000000000000000000000000000000c5"
# Installed before any page script: records every violation the browser reports, with its directive.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""


def setup_data(user_model) -> None:
    user_model.objects.create_user(username="viewer", password=PASSWORD, is_staff=True, is_superuser=True)
    whale = Whale.objects.create(chain=Chain.ETHEREUM, address=ADDRESS, name="CSP whale")
    label = Label.objects.create(slug="csp-test", name="CSP test")
    WhaleLabel.objects.create(whale=whale, label=label, source="test", evidence_url="javascript:alert(1)")


def test_no_page_violates_its_content_security_policy(daphne_server, browser, run, django_user_model):
    base = daphne_server
    run(setup_data, django_user_model)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(RECORD_VIOLATIONS)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text)
            if "Content Security Policy" in message.text else None)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    visited: dict[str, list[str]] = {}
    sign_in(page, base, "/live/", "viewer", PASSWORD)
    page.wait_for_function("() => document.getElementById('feed-status').dataset.state === 'open'", timeout=20_000)
    visited["/live/"] = page.evaluate("() => window.__csp")
    for path in ["/", "/whales/", f"/wallets/ethereum/{ADDRESS}/", "/tokens/ETH/", "/smart-money/",
                 "/smart-money/flows/", "/alerts/", "/trading/", "/admin/", "/admin/whales/whale/"]:
        response = page.goto(f"{base}{path}", wait_until="networkidle")
        assert response.status == 200, path
        visited[path] = page.evaluate("() => window.__csp")
    assert page.locator('a[href^="javascript:"]').count() == 0

    assert visited == {path: [] for path in visited}
    assert (console, errors) == ([], [])
