"""Routes of the collectors API and the dashboard summary, mounted at ``/api/v1/`` by ``whaletrack.urls``."""

from django.urls import path

from ledgers.api import views

urlpatterns = [
    path("dashboard/summary", views.DashboardSummaryView.as_view(), name="api-dashboard-summary"),
    path("quality", views.QualityView.as_view(), name="api-quality"),
    path("collectors/health", views.CollectorHealthListView.as_view(), name="api-collector-health"),
    path("collectors/<str:name>", views.CollectorDetailView.as_view(), name="api-collector-detail"),
    path("collectors/<str:name>/trigger", views.CollectorTriggerView.as_view(), name="api-collector-trigger"),
]
