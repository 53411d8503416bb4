"""Routes of the alerts' pages, mounted at ``/`` by ``whaletrack.urls``."""

from django.urls import path

from alerts import views

urlpatterns = [
    path("live/", views.live_page, name="live"),
    path("alerts/", views.alerts_page, name="alerts"),
    path("account/tokens/", views.account_tokens_page, name="account-tokens"),
]
