"""URL composition: each app's pages (dashboard, whales, wallet, live feed, alerts, trading), sign-in, admin,
API v1, OpenAPI schema and docs, health."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from whaletrack import health

urlpatterns = [
    path("", include("ledgers.urls")),
    path("", include("whales.urls")),
    path("", include("alerts.urls")),
    path("", include("trading.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("whales.api.urls")),
    path("api/v1/", include("whales.analytics.api.urls")),
    path("api/v1/", include("ledgers.api.urls")),
    path("api/v1/bitcoin/", include("ledgers.glass.bitcoin.api.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/trading/", include("trading.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("health", health.health, name="health"),
]
