"""Routes of the whales' pages, mounted at ``/`` by ``whaletrack.urls``."""

from django.urls import path

from whales import views, watchlist_views

urlpatterns = [
    path("whales/", views.whale_list_page, name="whale-list"),
    path("wallets/<str:chain>/<str:address>/", views.wallet_page, name="wallet"),
    path("catalysts/", views.catalyst_list_page, name="catalyst-list"),
    path("watchlists/", watchlist_views.watchlists_page, name="watchlists"),
    path("watchlists/add/", watchlist_views.watchlist_add, name="watchlist-add"),
    path("smart-money/", views.smart_money_page, name="smart-money"),
    path("smart-money/flows/", views.smart_money_flows_page, name="smart-money-flows"),
]
