"""The live feed and alerts pages (Django test client, PostgreSQL): who may see them, the newest events
and filters of the live page, and the rule form of the alerts page."""

import re
from datetime import timedelta

import pytest

from tests.whales.factories import SCENE_ADDRESS, SCENE_T0, WhaleEventFactory

pytestmark = pytest.mark.django_db


def html_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_live_page_needs_a_user_unless_the_feed_is_public(client, settings):
    settings.ALERTS_PUBLIC_FEED = False
    response = client.get("/live/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/live/")
    settings.ALERTS_PUBLIC_FEED = True
    assert client.get("/live/").status_code == 200


def test_live_page_shows_newest_events_filters_and_connection_state(signed_in, wallet):
    old = WhaleEventFactory(whale=wallet, block_time=SCENE_T0 - timedelta(days=1), summary="older one")
    new = WhaleEventFactory(whale=None, block_time=SCENE_T0, summary="newer one", value_usd=None)
    html = html_of(signed_in.get("/live/"))
    rows = re.findall(r'<tr data-event-id="(\d+)"', html)
    assert rows == [str(new.id), str(old.id)]
    assert f'data-since-id="{new.id}"' in html
    assert 'data-state="connecting"' in html
    for value in ("ethereum", "bitcoin", "hyperliquid", "arbitrum", "large_transfer", "mempool_whale"):
        assert f'value="{value}"' in html
    option = f'<option value="{wallet.id}" data-chain="ethereum" data-address="{SCENE_ADDRESS}">'
    assert f"{option}Jump 1 (ethereum)</option>" in html
    assert '<script type="module" src="/static/js/live.js"></script>' in html


def test_alerts_page_needs_a_user_and_sets_the_csrf_cookie(client, user, wallet):
    response = client.get("/alerts/")
    assert (response.status_code, response["Location"]) == (302, "/accounts/login/?next=/alerts/")
    client.force_login(user)
    response = client.get("/alerts/")
    html = html_of(response)
    assert "csrftoken" in response.cookies
    assert '<form id="rule-form"' in html and 'id="alert-rows"' in html and 'id="alerts-status"' in html
    for name in ("name", "active", "chains", "event_types", "min_value_usd", "direction", "whales", "labels",
                 "entities", "cooldown_seconds", "channels", "webhook_url"):
        assert f'name="{name}"' in html
    assert '<option value="deposit">Deposit to exchange</option>' in html
    assert f'<option value="{wallet.entity_id}">Jump Trading</option>' in html
    assert '<script type="module" src="/static/js/alerts.js"></script>' in html
