"""ASGI entry point: Django over HTTP, the live feed and alerts over WebSockets (``alerts.routing``).

WebSocket middleware, outermost first (the reasons are in ``alerts/auth.py``):
``BrowserOriginValidator`` (a present Origin must match ALLOWED_HOSTS; scripts without one pass) ->
``AuthMiddlewareStack`` (session user) -> ``TokenAuthMiddleware`` (a DRF token replaces it) -> routes.
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")
django_asgi_app = get_asgi_application()  # sets Django up before the routes import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from alerts.auth import BrowserOriginValidator, TokenAuthMiddleware  # noqa: E402
from alerts.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": BrowserOriginValidator(AuthMiddlewareStack(TokenAuthMiddleware(URLRouter(websocket_urlpatterns)))),
    }
)

# Everything loaded so far (Django, models, URL maps, middleware) lives as long as the process. Move it
# out of the garbage collector's generations so full collections stay short: without this, their
# pauses stalled the WebSocket fan-out (bench/alert_latency.py, 200 clients: p99 ~160 ms -> ~60 ms).
gc.collect()
gc.freeze()
