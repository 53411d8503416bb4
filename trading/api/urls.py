"""Routes of the trading API, mounted at ``/api/v1/trading/`` by ``whaletrack.urls``
(``path("api/v1/trading/", include("trading.api.urls"))``)."""

from django.urls import path

from trading.api import live, views

urlpatterns = [
    path("accounts", views.AccountListView.as_view(), name="api-trading-account-list"),
    path("accounts/<int:account_id>", views.AccountDetailView.as_view(), name="api-trading-account-detail"),
    path("accounts/<int:account_id>/halt", views.AccountHaltView.as_view(), name="api-trading-account-halt"),
    path("accounts/<int:account_id>/resume", views.AccountResumeView.as_view(), name="api-trading-account-resume"),
    path("accounts/<int:account_id>/live", live.LiveStateView.as_view(), name="api-trading-live-state"),
    path("accounts/<int:account_id>/live/confirm", live.LiveConfirmView.as_view(), name="api-trading-live-confirm"),
    path("accounts/<int:account_id>/live/mode", live.LiveModeView.as_view(), name="api-trading-live-mode"),
    path("accounts/<int:account_id>/credentials", live.CredentialView.as_view(), name="api-trading-credentials"),
    path("accounts/<int:account_id>/credentials/test", live.CredentialTestView.as_view(),
         name="api-trading-credentials-test"),
    path("accounts/<int:account_id>/venue/orders", live.VenueOrderListView.as_view(),
         name="api-trading-venue-orders"),
    path("accounts/<int:account_id>/reconciliations", live.ReconciliationListView.as_view(),
         name="api-trading-reconciliations"),
    path("accounts/<int:account_id>/emergency-stop", live.EmergencyStopView.as_view(),
         name="api-trading-emergency-stop"),
    path("orders", views.OrderListView.as_view(), name="api-trading-order-list"),
    path("orders/<int:order_id>", views.OrderDetailView.as_view(), name="api-trading-order-detail"),
    path("orders/<int:order_id>/cancel", views.OrderCancelView.as_view(), name="api-trading-order-cancel"),
    path("strategies", views.StrategyListView.as_view(), name="api-trading-strategy-list"),
    path("strategies/<int:strategy_id>/pause", views.StrategyPauseView.as_view(), name="api-trading-strategy-pause"),
    path("strategies/<int:strategy_id>/resume", views.StrategyResumeView.as_view(),
         name="api-trading-strategy-resume"),
    path("signals", views.SignalListView.as_view(), name="api-trading-signal-list"),
    path("positions", views.PositionListView.as_view(), name="api-trading-position-list"),
    path("pnl/summary", views.PnlSummaryView.as_view(), name="api-trading-pnl-summary"),
    path("pnl/by-strategy", views.PnlByStrategyView.as_view(), name="api-trading-pnl-by-strategy"),
    path("pnl/by-coin", views.PnlByCoinView.as_view(), name="api-trading-pnl-by-coin"),
    path("pnl/history", views.PnlHistoryView.as_view(), name="api-trading-pnl-history"),
    path("pnl/realized", views.PnlRealizedView.as_view(), name="api-trading-pnl-realized"),
    path("pnl/unrealized", views.PnlUnrealizedView.as_view(), name="api-trading-pnl-unrealized"),
]
