from django.urls import path

from ledgers.human.reddit.api.views import PostListView

urlpatterns = [path("posts", PostListView.as_view(), name="api-human-reddit-posts")]
