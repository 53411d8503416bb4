"""Read endpoints of the human (sentiment) ledger, mounted at ``/api/v1/human/`` by ``whaletrack.urls``: each
source's posts (``reddit/posts``, ``cryptopanic/posts``). The mood of a coin across sources is
``/api/v1/human/sentiment`` (whales)."""

from django.urls import include, path

urlpatterns = [
    path("reddit/", include("ledgers.human.reddit.api.urls")),
    path("cryptopanic/", include("ledgers.human.cryptopanic.api.urls")),
]
