from django.urls import path

from ledgers.human.cryptopanic.api.views import NewsListView

urlpatterns = [path("posts", NewsListView.as_view(), name="api-human-cryptopanic-posts")]
