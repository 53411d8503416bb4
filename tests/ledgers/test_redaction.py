"""Node API keys never leave the server: collector errors are stored with credentials removed from URLs,
and the public pages and API show error detail to staff only (PostgreSQL, real URLs)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from ledgers.models import CollectorRun
from ledgers.redact import ERROR_HIDDEN, error_redact
from ledgers.runlog import collector_run_finish, collector_run_start
from tests.ledgers.factories import CollectorRunFactory
from whales.models import RunStatus

INFURA_KEY = "9aa3d95b3bc440fa88ea12eaa4456161"
INFURA_ERROR = (f"RpcUnavailable: https://mainnet.infura.io/v3/{INFURA_KEY}: ConnectionError: HTTPSConnectionPool("
                f"host='mainnet.infura.io', port=443): Max retries exceeded with url: /v3/{INFURA_KEY} (Caused by x)")
INFURA_REDACTED = ("RpcUnavailable: https://mainnet.infura.io/v3/***: ConnectionError: HTTPSConnectionPool("
                   "host='mainnet.infura.io', port=443): Max retries exceeded with url: /v3/*** (Caused by x)")


@pytest.mark.parametrize(("text", "redacted"), [
    (INFURA_ERROR, INFURA_REDACTED),
    ("https://eth-mainnet.g.alchemy.com/v2/Xk3-abcdefghijklmnopqrstuvwxyz12: HTTP 401",
     "https://eth-mainnet.g.alchemy.com/v2/***: HTTP 401"),
    ("https://x.quiknode.pro/0123456789abcdef0123456789abcdef01234567/ timed out",
     "https://x.quiknode.pro/***/ timed out"),
    ("http://bob:s3cret@node.internal:8545/ refused", "http://***@node.internal:8545/ refused"),
    ("redis://:hunter2@redis:6379/0", "redis://***@redis:6379/0"),
    ("GET https://api.example.io/q?module=a&apikey=ABC123&b=2&access_token=t0k#x",
     "GET https://api.example.io/q?module=a&apikey=***&b=2&access_token=***#x"),
    # Public data stays: EVM addresses and hashes, short path parts, JSON-RPC messages.
    ("eth_getLogs /tx/0x" + "ab" * 32 + " for 0xdac17f958d2ee523a2206206994597c13d831ec7",
     "eth_getLogs /tx/0x" + "ab" * 32 + " for 0xdac17f958d2ee523a2206206994597c13d831ec7"),
    ("block 123: JSON-RPC error -32000: header not found", "block 123: JSON-RPC error -32000: header not found"),
    ("", ""),
])
def test_error_redact_removes_credentials_from_urls(text, redacted):
    assert error_redact(text) == redacted
    assert error_redact(redacted) == redacted  # idempotent


@pytest.mark.django_db
def test_a_finished_run_stores_its_error_without_the_key():
    run = collector_run_start(collector="test.collector")
    collector_run_finish(run=run, status=RunStatus.FAILED, error=INFURA_ERROR)
    assert CollectorRun.objects.get(pk=run.pk).error == INFURA_REDACTED


@pytest.fixture
def failed_run(db, only_test_collector):
    cache.clear()  # the throttles count in the test run's Redis
    # A row written before redaction existed: the key is still in the database.
    return CollectorRunFactory(started_at=timezone.now() - timedelta(minutes=1), status=RunStatus.FAILED,
                               error=INFURA_ERROR)


@pytest.mark.parametrize("path", ["/api/v1/collectors/health", "/api/v1/collectors/test.collector",
                                  "/api/v1/dashboard/summary", "/", "/health"])
def test_anonymous_and_non_staff_see_a_fixed_reason(client, user, failed_run, path):
    for viewer in (None, user):
        if viewer:
            client.force_login(viewer)
        body = client.get(path).content.decode()
        assert INFURA_KEY not in body
        assert "mainnet.infura.io" not in body
        assert ERROR_HIDDEN in body


@pytest.mark.parametrize("path", ["/api/v1/collectors/health", "/api/v1/collectors/test.collector",
                                  "/api/v1/dashboard/summary", "/health"])
def test_staff_see_the_error_without_the_key(client, staff_user, failed_run, path):
    client.force_login(staff_user)
    body = client.get(path).content.decode()
    assert INFURA_KEY not in body
    assert "mainnet.infura.io/v3/***" in body


@pytest.mark.django_db
def test_health_hides_a_dependency_error_from_anonymous_and_redacts_it_for_staff(client, staff_user, settings,
                                                                                only_test_collector):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                           "CONFIG": {"hosts": ["redis://:hunter2-secret@127.0.0.1:1/0"]}}}
    anonymous = client.get("/health")
    assert (anonymous.status_code, anonymous.json()["checks"]["channel_layer"]) == (503, "error")
    client.force_login(staff_user)
    shown = client.get("/health").json()["checks"]["channel_layer"]
    assert shown.startswith("error: ")
    assert "hunter2-secret" not in shown


def test_the_mempool_monitor_publishes_its_url_without_credentials():
    from ledgers.glass.bitcoin.monitor import MonitorStats

    stats = MonitorStats(url="wss://user:pw-9f2@mempool.internal/api/v1/ws?token=abc123", started_at="2026-12-03")
    assert stats.public()["url"] == "wss://***@mempool.internal/api/v1/ws?token=***"
