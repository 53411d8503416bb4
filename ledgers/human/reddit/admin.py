"""Admin for the subreddits analysts follow and their posts (read-only)."""

from django.contrib import admin
from django.http import HttpRequest

from ledgers.human.reddit.models import RedditPost, Subreddit


@admin.register(Subreddit)
class SubredditAdmin(admin.ModelAdmin):
    list_display = ["name", "listings", "is_active", "last_collected_at"]
    list_editable = ["listings", "is_active"]
    search_fields = ["name"]
    readonly_fields = ["last_collected_at"]


@admin.register(RedditPost)
class RedditPostAdmin(admin.ModelAdmin):
    """Read-only rows (they come from Reddit)."""

    list_display = ["title", "subreddit", "score", "num_comments", "sentiment_compound", "sentiment_label", "coins",
                    "created_at"]
    list_filter = ["sentiment_label", "subreddit"]
    search_fields = ["title", "coins", "=reddit_id"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: RedditPost | None = None) -> bool:
        return False
