"""The token page (``/tokens/{symbol}/``)."""

from django.urls import path

from ledgers.exchange.market import views

urlpatterns = [path("tokens/<str:symbol>/", views.token_page, name="token-detail")]
