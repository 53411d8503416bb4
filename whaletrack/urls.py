"""URL composition: admin, API v1, OpenAPI schema and docs, health, dashboard."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from whaletrack import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("whales.api.urls")),
    path("api/v1/bitcoin/", include("ledgers.bitcoin.api.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("health", views.health, name="health"),
]
