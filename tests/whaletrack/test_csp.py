"""Links and Content-Security-Policy: stored evidence URLs reach ``href`` only as http(s), and every page
carries the policy (its browser check is tests/browser/test_csp.py)."""

import pytest

from tests.whales.factories import WhaleFactory, WhaleLabelFactory

pytestmark = pytest.mark.django_db

POLICY = {"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
          "connect-src 'self'", "object-src 'none'", "base-uri 'self'", "form-action 'self'", "frame-ancestors 'none'"}


def test_evidence_links_are_rendered_as_href_only_for_http_urls(client):
    whale = WhaleFactory(address="0x00000000000000000000000000000000000000e1")
    hostile = ["javascript:alert(document.cookie)", "JaVaScRiPt:alert(1)", " javascript:alert(2)",
               "data:text/html,<script>alert(3)</script>", "//evil.example/x", "https:alert(4)"]
    for url in hostile:
        WhaleLabelFactory(whale=whale, evidence_url=url)
    WhaleLabelFactory(whale=whale, evidence_url="https://example.org/evidence/e1")
    html = client.get(f"/wallets/ethereum/{whale.address}/").content.decode()
    assert html.count('<a href="https://example.org/evidence/e1"') == 1
    for url in hostile:
        assert f'href="{url}' not in html and f'href="{url.strip()}' not in html
    assert "javascript:alert(document.cookie)" in html  # still shown, as text


@pytest.mark.parametrize("path", ["/", "/whales/", "/accounts/login/", "/admin/login/", "/live/", "/alerts/",
                                  "/trading/"])
def test_every_page_carries_the_policy(client, user, path):
    if path != "/accounts/login/":  # a signed-in user is sent on from there
        client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    assert set(response["Content-Security-Policy"].split("; ")) == POLICY
