"""Routes of the trading API, mounted at ``/api/v1/trading/`` by ``whaletrack.urls``
(``path("api/v1/trading/", include("trading.api.urls"))``)."""

from django.urls import path

from trading.api import views

urlpatterns = [
    path("accounts", views.AccountListView.as_view(), name="api-trading-account-list"),
    path("accounts/<int:account_id>", views.AccountDetailView.as_view(), name="api-trading-account-detail"),
    path("accounts/<int:account_id>/halt", views.AccountHaltView.as_view(), name="api-trading-account-halt"),
    path("accounts/<int:account_id>/resume", views.AccountResumeView.as_view(), name="api-trading-account-resume"),
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
