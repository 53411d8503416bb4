"""URL composition: each app's pages (dashboard, whales, wallet, live feed, alerts, trading), sign-in, admin,
API v1 (read endpoints of a ledger under its name, e.g. ``/api/v1/glass/``), OpenAPI schema and docs, health."""

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from ledgers.glass.bitcoin.api.views import MempoolScorecardView, MempoolTransactionListView
from whales.analytics.api.views import SmartMoneyFlowView
from whaletrack import health, metrics
from whaletrack.api import deprecated_alias

SWAGGER_CDN = "https://cdn.jsdelivr.net"  # drf-spectacular's default SWAGGER_UI_DIST

# Paths served before the read endpoints were grouped by ledger: same answers, marked deprecated.
_ALIASES = [
    path("api/v1/smart-money/flows",
         deprecated_alias(SmartMoneyFlowView, successor="/api/v1/glass/smart-money-flows",
                          operation_id="smart_money_flows_alias"),
         name="api-smart-money-flows-alias"),
    path("api/v1/bitcoin/mempool/scorecard",
         deprecated_alias(MempoolScorecardView, successor="/api/v1/glass/bitcoin/mempool/scorecard",
                          operation_id="bitcoin_mempool_scorecard_alias"),
         name="api-bitcoin-mempool-scorecard-alias"),
    path("api/v1/bitcoin/mempool/transactions",
         deprecated_alias(MempoolTransactionListView, successor="/api/v1/glass/bitcoin/mempool/transactions",
                          operation_id="bitcoin_mempool_transaction_list_alias"),
         name="api-bitcoin-mempool-list-alias"),
]

handler404 = "whaletrack.api.page_not_found"

urlpatterns = [
    path("", include("ledgers.urls")),
    path("", include("ledgers.exchange.market.urls")),
    path("", include("whales.urls")),
    path("", include("alerts.urls")),
    path("", include("trading.urls")),
    # Sign-in, sign-up, e-mail verification, password reset and change (django-allauth; alerts.accounts)
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("whales.api.urls")),
    path("api/v1/", include("whales.analytics.api.urls")),
    path("api/v1/", include("ledgers.api.urls")),
    path("api/v1/glass/", include("ledgers.glass.urls")),
    path("api/v1/", include("ledgers.exchange.market.api.urls")),
    path("api/v1/human/", include("ledgers.human.urls")),
    *_ALIASES,
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/trading/", include("trading.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from its CDN; the split view serves its start-up script as a file, so no inline script runs
    # (its template keeps a small inline style).
    path("api/docs/", csp_update({"script-src": [SWAGGER_CDN], "style-src": [SWAGGER_CDN, "'unsafe-inline'"],
                                  "img-src": [SWAGGER_CDN]})(SpectacularSwaggerSplitView.as_view(url_name="schema")),
         name="api-docs"),
    path("health", health.health, name="health"),
    path("metrics", metrics.metrics, name="metrics"),
]
