"""The exchange ledger's read endpoints at ``/api/v1/`` (a coin's view spans the four ledgers, so it is not
under a ledger prefix)."""

from django.urls import path

from ledgers.exchange.market.api.views import TokenView

urlpatterns = [path("tokens/<str:symbol>", TokenView.as_view(), name="api-token")]
