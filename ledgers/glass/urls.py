"""Read endpoints of the glass (on-chain) ledger, mounted at ``/api/v1/glass/`` by ``whaletrack.urls``.

The smart-money flows (``smart-money-flows?token=&window=&days=``: one token's collections;
``smart-money-flows/latest?window=``: every token of the newest collection) and the Bitcoin mempool
(``bitcoin/mempool/...``). The paths these had before the API was grouped by ledger
(``/api/v1/smart-money/flows``, ``/api/v1/bitcoin/mempool/...``) stay as deprecated aliases.
"""

from django.urls import include, path

from whales.analytics.api.views import SmartMoneyFlowOverviewView, SmartMoneyFlowView

urlpatterns = [
    path("smart-money-flows", SmartMoneyFlowView.as_view(), name="api-glass-smart-money-flows"),
    path("smart-money-flows/latest", SmartMoneyFlowOverviewView.as_view(), name="api-glass-smart-money-flows-latest"),
    path("bitcoin/", include("ledgers.glass.bitcoin.api.urls")),
]
