"""The paper-trading page (Django test client): it needs a user, sets the CSRF cookie for the page's
script, and renders the nav link, the account controls, the chart canvases and the tables the script fills."""

import pytest

pytestmark = pytest.mark.django_db


def test_trading_page_sends_an_anonymous_visitor_to_sign_in(client):
    response = client.get("/trading/?account=7")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/trading/%3Faccount%3D7")


def test_trading_page_renders_controls_charts_and_tables_for_a_user(client, user):
    client.force_login(user)
    response = client.get("/trading/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "csrftoken" in response.cookies
    assert '<a href="/trading/" aria-current="page">Trading</a>' in html
    assert '<a href="/alerts/" >Alerts</a>' in html
    assert '<select id="account-select"' in html
    assert '<button type="submit" id="halt-button" class="danger" disabled>Halt (emergency stop)</button>' in html
    assert '<button type="button" id="resume-button" hidden disabled>Resume trading</button>' in html
    assert '<input type="text" id="halt-reason" name="reason"' in html
    assert '<p class="message" id="trading-message" role="alert" hidden></p>' in html
    assert '<canvas id="equity-chart" height="220"' in html
    assert '<canvas id="coin-chart" height="220"' in html
    assert 'id="equity-chart-empty" hidden>No fills yet: the equity curve starts at the first fill.</p>' in html
    intervals = ['<option value="hour">hour</option>', '<option value="day" selected>day</option>',
                 '<option value="week">week</option>', '<option value="month">month</option>']
    assert "".join(intervals) in html
    for figure in ("realized", "unrealized", "win-rate", "profit-factor", "drawdown", "sharpe", "volume", "fees"):
        assert f'<dd id="summary-{figure}">—</dd>' in html
    for body in ("position-rows", "strategy-rows", "signal-rows", "order-rows"):
        assert f'<tbody id="{body}">' in html
    assert '<script src="/static/vendor/chart.umd.min.js"></script>' in html
    assert '<script type="module" src="/static/js/trading.js"></script>' in html


def test_other_pages_link_to_the_trading_page_without_marking_it_current(client, user):
    client.force_login(user)
    html = client.get("/alerts/").content.decode()
    assert '<a href="/trading/" >Trading</a>' in html
    assert '<a href="/alerts/" aria-current="page">Alerts</a>' in html
