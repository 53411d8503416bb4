"""What every page shares (Django test client, PostgreSQL): signing in and out, and no page loading
anything from another host."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from tests.whales.factories import SCENE_ADDRESS, WhaleEventFactory

pytestmark = pytest.mark.django_db

PAGES = ["/", "/whales/", f"/wallets/ethereum/{SCENE_ADDRESS}/", "/live/", "/alerts/", "/trading/",
         "/accounts/login/"]


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_sign_in_and_out_through_the_pages(client, user):
    html = html_of(client.get("/accounts/login/?next=/live/"))
    assert '<form method="post" action="/accounts/login/" id="login-form"' in html
    assert '<input type="hidden" name="next" value="/live/">' in html
    bad = client.post("/accounts/login/", {"login": "analyst", "password": "wrong", "next": "/live/"})
    assert bad.status_code == 200 and 'id="login-error"' in bad.content.decode()
    good = client.post("/accounts/login/", {"login": "analyst", "password": "pw-analyst-1", "next": "/live/"})
    assert (good.status_code, good["Location"]) == (302, "/live/")
    assert client.get("/live/").status_code == 200
    out = client.post("/accounts/logout/")
    assert (out.status_code, out["Location"]) == (302, "/")
    assert client.get("/alerts/").status_code == 302


# --- no external resources --------------------------------------------------------------------


class _UrlCollector(HTMLParser):
    """Every URL an element carries: (tag, attribute, url)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        for name, value in attrs:
            if value and name in {"src", "href", "action", "srcset", "data", "poster", "formaction"}:
                self.urls.append((tag, name, value))


@pytest.mark.parametrize("path", PAGES)
def test_pages_load_nothing_from_other_hosts(signed_in, wallet, path):
    """The only absolute URLs to other hosts are links a user may click (explorers, label evidence);
    no script, stylesheet, image or form goes elsewhere, and no inline CSS or script names one."""
    WhaleEventFactory(whale=wallet)
    if path == "/accounts/login/":
        signed_in.logout()  # a signed-in user is sent on from the sign-in page
    html = html_of(signed_in.get(path))
    parser = _UrlCollector()
    parser.feed(html)
    assert parser.urls, "expected links on every page"
    for tag, attribute, url in parser.urls:
        if url.startswith(("http://", "https://", "//")):
            assert (tag, attribute) == ("a", "href"), (tag, attribute, url)
            assert not url.startswith(("http://testserver", "//"))
    external = re.findall(r"https?://[^\s\"'<>]+", html)
    clickable = {url for tag, attribute, url in parser.urls if tag == "a"}
    assert set(external) <= clickable, set(external) - clickable


def test_own_scripts_and_styles_name_no_other_host():
    static = Path(settings.BASE_DIR) / "static"
    files = [*static.glob("js/*.js"), *static.glob("whaletrack/*.css")]
    assert {f.name for f in files} >= {"feed.js", "format.js", "live.js", "dashboard.js", "wallet.js", "alerts.js",
                                       "dashboard.css", "pages.css"}
    for file in files:
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", file.read_text()), file


def test_chart_js_is_vendored_with_its_licence():
    vendor = Path(settings.BASE_DIR) / "static" / "vendor"
    bundle = (vendor / "chart.umd.min.js").read_text()
    assert bundle.startswith("/*!\n * Chart.js v4.6.1\n")
    assert len(bundle) > 100_000
    assert (vendor / "chart.js-LICENSE.md").read_text().startswith("The MIT License (MIT)")
    readme = (vendor / "README.md").read_text()
    assert "4.6.1" in readme and "MIT" in readme and "scripts/vendor_chartjs.sh" in readme
