"""CryptoPanic news in the admin, read-only (the collector writes it)."""

from django.contrib import admin

from ledgers.human.cryptopanic.models import NewsPost
from whales.admin import BigTableAdmin


@admin.register(NewsPost)
class NewsPostAdmin(BigTableAdmin):
    list_display = ("published_at", "title", "coins", "sentiment_label", "sentiment_compound", "votes_positive",
                    "votes_negative", "source_domain")
    list_filter = ("sentiment_label", "kind")
    search_fields = ("title", "coins")
    ordering = ("-published_at",)
