"""Admin for the announcement feeds analysts follow and what they announced (read-only)."""

from django.contrib import admin
from django.http import HttpRequest

from ledgers.catalyst.announcements.models import Announcement, AnnouncementFeed


@admin.register(AnnouncementFeed)
class AnnouncementFeedAdmin(admin.ModelAdmin):
    list_display = ["name", "exchange", "url", "is_active", "last_collected_at"]
    list_editable = ["is_active"]
    search_fields = ["name", "exchange"]
    readonly_fields = ["last_collected_at"]


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):
    """Read-only rows (they come from the feeds)."""

    list_display = ["title", "feed", "kind", "impact_score", "coins", "published_at"]
    list_filter = ["kind", "feed"]
    list_select_related = ["feed"]
    search_fields = ["title", "coins"]
    date_hierarchy = "published_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Announcement | None = None) -> bool:
        return False
