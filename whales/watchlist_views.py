"""Watchlist pages (issue 17 §4): ``/watchlists/`` (your lists and the published ones: make, rename, publish,
delete; paste wallets; take one off) and ``POST /watchlists/add/`` (the "+ watch" form on whale rows and wallet
pages). Signed-in users; every change goes through ``whales.watchlists`` and redirects back (POST/redirect/GET).
A refused change shows its reason as an error message and changes nothing.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from whales.api.watchlists import watchlist_detail
from whales.chains import Chain
from whales.errors import ApplicationError
from whales.watchlists import (
    watchlist_create,
    watchlist_delete,
    watchlist_entries_add,
    watchlist_entry_remove,
    watchlist_get,
    watchlist_update,
    watchlist_visible,
)

ID_MAX_DIGITS = 18


def _id(value: str | None) -> int:
    """A form's id field as an int; 0 (found by nobody) for anything else."""
    return int(value) if value and value.isdigit() and len(value) <= ID_MAX_DIGITS else 0


@login_required
@require_http_methods(["GET", "POST"])
def watchlists_page(request: HttpRequest) -> HttpResponse:
    """``/watchlists/``: every list the user may read, with its wallets; POST ``action`` = create, rename, share,
    delete, paste or remove (see ``whales.watchlists`` for each rule)."""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "create":
                made = watchlist_create(owner_id=request.user.pk,  # type: ignore[arg-type]  # signed in
                                        owner_is_staff=request.user.is_staff, name=request.POST.get("name", ""))
                messages.success(request, f"Watchlist {made.name!r} made.")
            else:
                watchlist = watchlist_get(user=request.user, watchlist_id=_id(request.POST.get("watchlist")),
                                          write=True)
                if action == "rename":
                    watchlist_update(watchlist=watchlist, user=request.user, name=request.POST.get("name", ""))
                elif action == "share":
                    watchlist_update(watchlist=watchlist, user=request.user,
                                     is_shared=request.POST.get("is_shared") == "true")
                elif action == "delete":
                    watchlist_delete(watchlist=watchlist, user=request.user)
                    messages.success(request, f"Watchlist {watchlist.name!r} deleted.")
                elif action == "paste":
                    result = watchlist_entries_add(watchlist=watchlist, user=request.user,
                                                   lines=request.POST.get("addresses", "")[:100_000].splitlines(),
                                                   default_chain=request.POST.get("chain") or None)
                    messages.success(request, f"{len(result.added)} added, {len(result.already)} already on the "
                                              f"list, {len(result.invalid)} refused.")
                    for line, reason in result.invalid:
                        messages.error(request, f"{line[:80]}: {reason}")
                elif action == "remove":
                    watchlist_entry_remove(watchlist=watchlist, user=request.user,
                                           chain=request.POST.get("chain", ""), address=request.POST.get("address", ""))
                else:
                    messages.error(request, "Unknown action.")
        except ApplicationError as exc:
            messages.error(request, str(exc.detail))
        return redirect("watchlists")
    lists = [watchlist_detail(w) for w in watchlist_visible(request.user).select_related("owner")]
    return render(request, "whales/watchlists.html", {"lists": lists, "chains": Chain.choices})


@login_required
@require_POST
def watchlist_add(request: HttpRequest) -> HttpResponse:
    """``POST /watchlists/add/`` (``watchlist``, ``chain``, ``address``, ``next``): put one wallet on one of your
    lists, then go back to ``next`` (a path on this site) or to ``/watchlists/``."""
    try:
        watchlist = watchlist_get(user=request.user, watchlist_id=_id(request.POST.get("watchlist")), write=True)
        result = watchlist_entries_add(watchlist=watchlist, user=request.user,
                                       lines=[f"{request.POST.get('chain', '')}:{request.POST.get('address', '')}"])
        if result.invalid:
            messages.error(request, result.invalid[0][1])
        else:
            messages.success(request, f"On watchlist {watchlist.name!r}" + (" already." if result.already else "."))
    except ApplicationError as exc:
        messages.error(request, str(exc.detail))
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=False):
        target = "/watchlists/"
    return redirect(target)
