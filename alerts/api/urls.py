"""Routes of the alerts API, mounted at ``/api/v1/`` by ``whaletrack.urls``
(``path("api/v1/", include("alerts.api.urls"))``)."""

from django.urls import path

from alerts.api import tokens, views

urlpatterns = [
    path("account/tokens", tokens.ApiTokenListView.as_view(), name="api-token-list"),
    path("account/tokens/<int:token_id>", tokens.ApiTokenDetailView.as_view(), name="api-token-detail"),
    path("alerts", views.AlertListView.as_view(), name="api-alert-list"),
    path("alerts/rules", views.AlertRuleListView.as_view(), name="api-alert-rule-list"),
    path("alerts/rules/<int:rule_id>", views.AlertRuleDetailView.as_view(), name="api-alert-rule-detail"),
    path("alerts/destinations", views.DestinationListView.as_view(), name="api-alert-destination-list"),
    path("alerts/destinations/<int:destination_id>", views.DestinationDetailView.as_view(),
         name="api-alert-destination-detail"),
    path("alerts/destinations/<int:destination_id>/test", views.DestinationTestView.as_view(),
         name="api-alert-destination-test"),
    path("alerts/rules/<int:rule_id>/simulate", views.AlertRuleSimulateView.as_view(), name="api-alert-rule-simulate"),
]
