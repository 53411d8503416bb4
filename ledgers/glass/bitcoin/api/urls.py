"""Routes of the Bitcoin API, mounted at ``/api/v1/glass/bitcoin/`` by ``ledgers.glass.urls``."""

from django.urls import path

from ledgers.glass.bitcoin.api import views

urlpatterns = [
    path("mempool/scorecard", views.MempoolScorecardView.as_view(), name="api-bitcoin-mempool-scorecard"),
    path("mempool/transactions", views.MempoolTransactionListView.as_view(), name="api-bitcoin-mempool-list"),
]
