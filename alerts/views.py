"""The alerts' pages: ``/live/`` (the live feed), ``/alerts/`` (the user's rules and alerts) and
``/account/tokens/`` (the user's API tokens).

``/live/`` is for signed-in users, or everyone with ``ALERTS_PUBLIC_FEED`` (what ``/ws/events/`` allows);
``/alerts/`` for signed-in users only (the alerts REST API and ``/ws/alerts/`` are owner-scoped).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_http_methods

from alerts.selectors import feed_allowed, feed_since_id
from alerts.tokens import api_token_create, api_token_list, api_token_revoke
from whales.errors import InvalidParameter, NotFound
from whales.models import Direction
from whales.models.watchlists import WatchlistEntry
from whales.selectors import event_recent_list, page_filter_choices
from whales.watchlists import watchlist_visible

LIVE_INITIAL_EVENTS = 50


def live_page(request: HttpRequest) -> HttpResponse:
    """``/live/``: the full-width live feed with filter controls (a watchlist of yours or a published one among
    them). Signed-in users only, unless ``ALERTS_PUBLIC_FEED``. The newest events are rendered; the page's
    script then follows ``/ws/events/`` and backfills from the largest stored id after every (re)connect."""
    if not feed_allowed(request.user):
        return redirect_to_login(request.get_full_path())
    watchlists = list(watchlist_visible(request.user))
    wallets: dict[str, list[str]] = {str(w.pk): [] for w in watchlists}
    for list_id, chain, address in WatchlistEntry.objects.filter(watchlist__in=watchlists).values_list(
            "watchlist_id", "chain", "address"):
        wallets[str(list_id)].append(f"{chain}:{address}")
    return render(request, "alerts/live.html", {
        **page_filter_choices(),
        "events": event_recent_list(limit=LIVE_INITIAL_EVENTS),
        "feed_since_id": feed_since_id(),
        # the page filters its backfill and reloads by the chosen list too: each list's "chain:address" keys
        "watchlists": watchlists, "watchlist_wallets": wallets,
    })


@login_required
@ensure_csrf_cookie
def alerts_page(request: HttpRequest) -> HttpResponse:
    """``/alerts/``: the user's alert rules (list, create, edit, toggle, delete, simulate through
    ``/api/v1/alerts/rules``) and their recent alerts (``/api/v1/alerts``, then ``/ws/alerts/``).
    The CSRF cookie is set so the page's script can send ``X-CSRFToken``."""
    return render(request, "alerts/alerts.html", {**page_filter_choices(), "directions": Direction.choices})


TOKEN_EXPIRY_CHOICES = [("", "Never"), ("7", "7 days"), ("30", "30 days"), ("90", "90 days"), ("365", "1 year")]


@login_required
@require_http_methods(["GET", "POST"])
def account_tokens_page(request: HttpRequest) -> HttpResponse:
    """``/account/tokens/``: the user's personal API tokens (``alerts.tokens``) and links to the account's
    e-mail and password pages.

    POST ``action=create`` (``name``, ``expires_days`` one of ``TOKEN_EXPIRY_CHOICES``) makes a token and shows it
    on this answer only (nothing to reload it from); POST ``action=revoke`` (``token_id``) deletes one and
    redirects back. A bad form is shown again with its error (400) and changes nothing.
    """
    user_id: int = request.user.pk  # type: ignore[assignment]  # login_required: never None here
    created: str | None = None
    error: str | None = None
    status = 200
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "create":
                days = request.POST.get("expires_days", "")
                if days not in dict(TOKEN_EXPIRY_CHOICES):
                    raise InvalidParameter("expires_days: choose one of the listed expiries.")
                expires_at = timezone.now() + timedelta(days=int(days)) if days else None
                _, created = api_token_create(user_id=user_id, name=request.POST.get("name", ""),
                                              expires_at=expires_at)
            elif action == "revoke":
                token_id = request.POST.get("token_id", "")
                if not token_id.isdigit() or len(token_id) > 18:
                    raise InvalidParameter("token_id: a token id.")
                api_token_revoke(user_id=user_id, token_id=int(token_id))
                messages.success(request, "Token revoked: it no longer works.")
                return redirect("account-tokens")
            else:
                raise InvalidParameter("action: create or revoke.")
        except (InvalidParameter, NotFound) as exc:
            error, status = str(exc.detail), 400
    now = timezone.now()
    return render(request, "alerts/tokens.html", {
        "tokens": list(api_token_list(user_id=user_id)), "now": now, "created": created, "error": error,
        "expiry_choices": TOKEN_EXPIRY_CHOICES, "max_tokens": settings.API_TOKENS_MAX_PER_USER,
    }, status=status)
