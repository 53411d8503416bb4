"""Reads of the stored Reddit posts."""

import re
from datetime import datetime

from django.db.models import QuerySet

from ledgers.human.reddit.models import RedditPost


def post_list(*, coin: str | None = None, subreddit: str | None = None, label: str | None = None,
              since: datetime | None = None, until: datetime | None = None) -> QuerySet[RedditPost]:
    """Posts newest first (created_at, then id), optionally naming ``coin`` (a symbol in their ``coins``), of one
    ``subreddit`` (any case), with one sentiment ``label``, created in [``since``, ``until``)."""
    posts = RedditPost.objects.all()
    if coin:
        posts = posts.filter(coins__regex=rf"(^|,){re.escape(coin)}(,|$)")
    if subreddit:
        posts = posts.filter(subreddit__iexact=subreddit)
    if label:
        posts = posts.filter(sentiment_label=label)
    if since is not None:
        posts = posts.filter(created_at__gte=since)
    if until is not None:
        posts = posts.filter(created_at__lt=until)
    return posts.order_by("-created_at", "-id")
