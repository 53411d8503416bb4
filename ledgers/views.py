"""The dashboard (``/``): the whale figures beside every ledger's collectors, with the live feed.

It lives with the collector kit because it shows the collectors' freshness, which ``whales`` cannot import.
"""

from typing import Any

from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from alerts.selectors import feed_allowed, feed_since_id
from ledgers.quality import quality_latest
from ledgers.selectors import collector_health_shown, dashboard_page
from whales.api.serializers import WHALE_SORT_FIELDS
from whales.selectors import page_choice_labels, whale_list_with_labels

TOP_WHALES = 10


def dashboard(request: HttpRequest) -> HttpResponse:
    """``/``: summary cards, top whales by ROI, collector freshness, the newest whale events (live-updated
    from ``/ws/events/`` when the user may receive the feed) and the most recently active whales.

    Context: ``whales.selectors.dashboard_page()`` plus ``top_whales`` (whales with a known ROI, highest
    first, the same order as ``GET whales/top``), the feed settings and ``quality`` (the latest data-quality
    report, ``ledgers.quality``; None before its first run).
    """
    context: dict[str, Any] = {**dashboard_page()}
    summary = context["summary"]
    summary["collectors"] = collector_health_shown(summary["collectors"], staff=request.user.is_staff)
    field = F(WHALE_SORT_FIELDS["roi"])
    context["top_whales"] = list(
        whale_list_with_labels().filter(metrics__roi_percent__isnull=False)
        .order_by(field.desc(nulls_last=True), "id")[:TOP_WHALES]
    )
    context["choice_labels"] = page_choice_labels()
    context["feed_enabled"] = feed_allowed(request.user)
    context["feed_since_id"] = feed_since_id()
    context["quality"] = quality_latest()
    return render(request, "ledgers/dashboard.html", context)
