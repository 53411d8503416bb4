"""The alerts' pages: ``/live/`` (the live feed) and ``/alerts/`` (the user's rules and alerts).

``/live/`` is for signed-in users, or everyone with ``ALERTS_PUBLIC_FEED`` (what ``/ws/events/`` allows);
``/alerts/`` for signed-in users only (the alerts REST API and ``/ws/alerts/`` are owner-scoped).
"""

from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie

from alerts.selectors import feed_allowed, feed_since_id
from whales.models import Direction
from whales.selectors import event_recent_list, page_filter_choices

LIVE_INITIAL_EVENTS = 50


def live_page(request: HttpRequest) -> HttpResponse:
    """``/live/``: the full-width live feed with filter controls. Signed-in users only, unless
    ``ALERTS_PUBLIC_FEED``. The newest events are rendered; the page's script then follows
    ``/ws/events/`` and backfills from the largest stored id after every (re)connect."""
    if not feed_allowed(request.user):
        return redirect_to_login(request.get_full_path())
    return render(request, "alerts/live.html", {
        **page_filter_choices(),
        "events": event_recent_list(limit=LIVE_INITIAL_EVENTS),
        "feed_since_id": feed_since_id(),
    })


@login_required
@ensure_csrf_cookie
def alerts_page(request: HttpRequest) -> HttpResponse:
    """``/alerts/``: the user's alert rules (list, create, edit, toggle, delete, simulate through
    ``/api/v1/alerts/rules``) and their recent alerts (``/api/v1/alerts``, then ``/ws/alerts/``).
    The CSRF cookie is set so the page's script can send ``X-CSRFToken``."""
    return render(request, "alerts/alerts.html", {**page_filter_choices(), "directions": Direction.choices})
