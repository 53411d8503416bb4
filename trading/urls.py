"""Routes of the trading page, mounted at ``/`` by ``whaletrack.urls``."""

from django.urls import path

from trading import views

urlpatterns = [
    path("trading/", views.trading_page, name="trading"),
]
