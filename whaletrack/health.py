"""``GET /health``: the dependencies (database, channel layer, broker) and every collector's freshness."""

import asyncio
import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from ledgers.redact import error_redact
from ledgers.selectors import collector_health_list, collector_health_shown


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_channel_layer() -> str:
    layer = get_channel_layer()
    channel = f"health.{uuid.uuid4().hex}"

    async def roundtrip() -> None:
        await layer.send(channel, {"type": "health.ping"})
        await asyncio.wait_for(layer.receive(channel), timeout=2)

    async_to_sync(roundtrip)()
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        return "embedded"
    from whaletrack.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def health(request: HttpRequest) -> JsonResponse:
    """GET /health: database, channel layer, broker and per-collector freshness.

    Shape: {"status": "ok"|"degraded"|"down", "checks": {name: "ok"|"embedded"|"error: ..."},
    "collectors": [collectors health items]}. 503 when a dependency is down; stale collectors
    make the status "degraded" but keep 200 (the service still answers). Error details (credentials
    removed) are shown to staff; anyone else reads "error" and the collectors' fixed reason.
    """
    staff = request.user.is_staff
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("channel_layer", _check_channel_layer),
                        ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure of a dependency is reported, not raised
            checks[name] = error_redact(f"error: {type(exc).__name__}: {exc}")[:300] if staff else "error"
    down = any(value.startswith("error") for value in checks.values())
    collectors = collector_health_shown(collector_health_list(), staff=staff) if checks["database"] == "ok" else []
    stale = any(item["is_stale"] for item in collectors)
    status = "down" if down else ("degraded" if stale else "ok")
    return JsonResponse({"status": status, "checks": checks, "collectors": collectors},
                        status=503 if down else 200)
