"""Routes of the whales API, mounted at ``/api/v1/`` by ``whaletrack.urls``."""

from django.urls import path, re_path

from whales.api import exports, views, watchlists

urlpatterns = [
    path("whales", views.WhaleListView.as_view(), name="api-whale-list"),
    path("whales/top", views.TopWhaleListView.as_view(), name="api-whale-top"),
    path("wallets/<str:chain>/<str:address>", views.WalletDetailView.as_view(), name="api-wallet-detail"),
    path("wallets/<str:chain>/<str:address>/trades", views.WalletTradeListView.as_view(), name="api-wallet-trades"),
    path("wallets/<str:chain>/<str:address>/roi-history", views.RoiHistoryView.as_view(),
         name="api-wallet-roi-history"),
    path("wallets/<str:chain>/<str:address>/portfolio-history", views.PortfolioHistoryView.as_view(),
         name="api-wallet-portfolio-history"),
    path("wallets/<str:chain>/<str:address>/score-history", views.ScoreHistoryView.as_view(),
         name="api-wallet-score-history"),
    path("events/recent", views.EventRecentListView.as_view(), name="api-event-recent"),
    path("catalyst/events", views.CatalystEventListView.as_view(), name="api-catalyst-events"),
    path("human/sentiment", views.SentimentView.as_view(), name="api-human-sentiment"),
    path("watchlists", watchlists.WatchlistListView.as_view(), name="api-watchlist-list"),
    path("watchlists/<int:watchlist_id>", watchlists.WatchlistDetailView.as_view(), name="api-watchlist-detail"),
    path("watchlists/<int:watchlist_id>/entries", watchlists.WatchlistEntriesView.as_view(),
         name="api-watchlist-entries"),
    path("watchlists/<int:watchlist_id>/entries/<str:chain>/<str:address>", watchlists.WatchlistEntryView.as_view(),
         name="api-watchlist-entry"),
    re_path(r"^exports/trades\.(?P<fmt>csv|json)$", exports.TradeExportView.as_view(), name="api-export-trades"),
    re_path(r"^exports/events\.(?P<fmt>csv|json)$", exports.EventExportView.as_view(), name="api-export-events"),
    re_path(r"^exports/watchlists/(?P<watchlist_id>[0-9]{1,18})\.(?P<fmt>csv|json)$",
            exports.WatchlistExportView.as_view(), name="api-export-watchlist"),
    re_path(r"^exports/whales\.(?P<fmt>csv|json)$", exports.WhaleExportView.as_view(), name="api-export-whales"),
]
