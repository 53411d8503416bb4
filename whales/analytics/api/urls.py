"""Routes of the smart-money API, mounted at ``/api/v1/`` by ``whaletrack.urls``. The token flows are served
by the glass ledger (``/api/v1/glass/smart-money-flows``, ``ledgers.glass.urls``)."""

from django.urls import path

from whales.analytics.api import views

urlpatterns = [
    path("smart-money/wallets", views.SmartMoneyWalletListView.as_view(), name="api-smart-money-wallets"),
    path("smart-money/wallets/<str:chain>/<str:address>", views.SmartMoneyWalletDetailView.as_view(),
         name="api-smart-money-wallet"),
    path("smart-money/stats", views.SmartMoneyStatsView.as_view(), name="api-smart-money-stats"),
]
