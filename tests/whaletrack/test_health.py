"""/health against the real dependencies of the test run (PostgreSQL, Redis channel layer and broker)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.ledgers.factories import CollectorRunFactory

pytestmark = pytest.mark.django_db

CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1: connection refused at once


@pytest.fixture(autouse=True)
def _only_test_collector(only_test_collector):
    """The registry holds only ``test.collector``."""


@pytest.fixture
def redis_settings(settings):
    """The suite runs on the Redis channel layer (``make test`` sets REDIS_URL); anything else is an error."""
    if settings.CHANNEL_LAYERS["default"]["BACKEND"] != "channels_redis.core.RedisChannelLayer":
        pytest.fail("run with REDIS_URL set (make test): this test checks the real Redis channel layer")
    return settings


def test_health_is_ok_with_every_dependency_up_and_fresh_collectors(client, redis_settings):
    CollectorRunFactory(started_at=timezone.now() - timedelta(minutes=1))
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "channel_layer": "ok", "broker": "ok"}
    assert [(c["name"], c["is_stale"]) for c in body["collectors"]] == [("test.collector", False)]


def test_health_is_degraded_but_200_when_a_collector_is_stale(client, redis_settings):
    CollectorRunFactory(started_at=timezone.now() - timedelta(hours=1))  # older than stale_after_s=600
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["collectors"][0]["is_stale"] is True


def test_health_is_503_when_the_channel_layer_is_down(client, redis_settings):
    redis_settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [CLOSED_PORT_REDIS]}}
    }
    CollectorRunFactory(started_at=timezone.now() - timedelta(minutes=1))
    response = client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "ok"
    assert body["checks"]["channel_layer"] == "error"  # the detail is for staff (test_redaction.py)
    assert [c["name"] for c in body["collectors"]] == ["test.collector"]  # the database still answers
