"""Routes of the dashboard, mounted at ``/`` by ``whaletrack.urls``."""

from django.urls import path

from ledgers import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
]
