"""WebSocket routes (mounted by ``whaletrack/asgi.py`` under its origin and auth middleware)."""

from django.urls import path

from alerts.consumers import AlertConsumer, EventFeedConsumer

websocket_urlpatterns = [
    path("ws/events/", EventFeedConsumer.as_asgi(), name="ws-events"),
    path("ws/alerts/", AlertConsumer.as_asgi(), name="ws-alerts"),
]
