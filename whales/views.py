"""The whales' pages: ``/whales/`` (the whale list) and ``/wallets/<chain>/<address>/`` (one wallet).

Public reads, like the anonymous reads of the API. The whale list filters, sorts and pages with the API's
own FilterSet and parameter serializer, so ``/whales/?chain=...`` and ``/api/v1/whales?chain=...`` always
list the same whales. Display formatting is in ``whales.templatetags.whale_format``.
"""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from whales.api.filtersets import ACTIVITY_WINDOWS, WhaleFilterSet
from whales.api.pagination import keyset_page
from whales.api.serializers import WHALE_SORT_FIELDS, CatalystListParamsSerializer, WhaleListParamsSerializer
from whales.chains import Chain, normalize_address
from whales.context import catalyst_list, wallet_context
from whales.errors import InvalidAddress, flatten_errors
from whales.models import CatalystType, OpeningStatus, WalletOpening, Whale, WhaleType
from whales.selectors import (
    label_removal_list,
    page_choice_labels,
    page_filter_choices,
    tokens_without_metadata,
    trade_list,
    whale_get,
    whale_list_with_labels,
    whales_order,
)

WHALE_PAGE_SIZE = 50
CATALYST_PAGE_SIZE = 100
WALLET_TRADES_PAGE_SIZE = 25


def _page_url(request: HttpRequest, offset: int) -> str:
    query = request.GET.copy()
    query["offset"] = str(offset)
    return f"?{query.urlencode()}"


def whale_list_page(request: HttpRequest) -> HttpResponse:
    """``/whales/``: the ``GET whales`` list as a page: same filters (chain, type, label, entity, min_roi,
    activity_window, search), same sort_by/order/limit/offset and the same order. Invalid input answers
    400 with the API's message and no rows."""
    params = WhaleListParamsSerializer(data={"limit": WHALE_PAGE_SIZE, **request.GET.dict()})
    filterset = WhaleFilterSet(request.GET, queryset=whale_list_with_labels())
    errors = []
    if not params.is_valid():
        errors.append(flatten_errors(params.errors))
    if not filterset.is_valid():
        errors.append(flatten_errors({k: [e["message"] for e in v]
                                      for k, v in filterset.errors.get_json_data().items()}))
    context = {
        **page_filter_choices(), "errors": errors, "query": request.GET, "whale_types": WhaleType.choices,
        "sort_fields": list(WHALE_SORT_FIELDS), "activity_windows": list(ACTIVITY_WINDOWS),
        "whales": [], "total": 0,
    }
    if errors:
        return render(request, "whales/list.html", context, status=400)
    values = params.validated_data
    queryset = whales_order(filterset.qs, sort_by=values["sort_by"], order=values["order"])
    offset, limit = values["offset"], values["limit"]
    total = queryset.count()
    context.update({
        "whales": list(queryset[offset:offset + limit]), "total": total, "sort_by": values["sort_by"],
        "order": values["order"], "first": offset + 1, "last": min(offset + limit, total),
        "prev_url": _page_url(request, max(offset - limit, 0)) if offset > 0 else None,
        "next_url": _page_url(request, offset + limit) if offset + limit < total else None,
    })
    return render(request, "whales/list.html", context)


def wallet_page(request: HttpRequest, chain: str, address: str) -> HttpResponse:
    """``/wallets/<chain>/<address>/``: entity, labels with provenance, metrics, holdings (spot and perp
    positions), the first page of trades (more through the trades API's cursor) and the ROI and
    portfolio-value charts (``.../roi-history``, ``.../portfolio-history``). 404 for an unknown chain,
    an address invalid on it or an unknown wallet; a non-canonical address redirects to the stored form."""
    if chain not in Chain.values:
        raise Http404(f"Unknown chain {chain!r}.")
    try:
        normalized = normalize_address(chain, address)
    except InvalidAddress as exc:
        raise Http404(str(exc)) from exc
    if normalized != address:
        return redirect("wallet", chain=chain, address=normalized)
    try:
        whale = whale_get(chain=chain, address=normalized)
    except Whale.DoesNotExist as exc:
        raise Http404(f"No wallet {normalized} on {chain}.") from exc
    holdings = list(whale.holdings.all())
    opening = WalletOpening.objects.filter(whale=whale).first()
    page = keyset_page(trade_list().filter(whale=whale), cursor=None, limit=WALLET_TRADES_PAGE_SIZE)
    return render(request, "whales/wallet.html", {
        "whale": whale,
        "metrics": getattr(whale, "metrics", None),
        "labels": list(whale.whale_labels.all()),
        "spot_holdings": [h for h in holdings if not h.is_perp],
        # Why no balance could be read (the node's answer at the opening block), and the tokens whose
        # amounts are unknown for want of their decimals.
        "balances_unavailable": opening.reason if opening and opening.status == OpeningStatus.UNAVAILABLE else "",
        "tokens_without_metadata": tokens_without_metadata(whale_id=whale.pk),
        "perp_holdings": [h for h in holdings if h.is_perp],
        "trades": page.items,
        "next_cursor": page.next_cursor or "",
        "trades_page_size": WALLET_TRADES_PAGE_SIZE,
        "choice_labels": page_choice_labels(),
        "moves_context": wallet_context(whale_id=whale.pk),
        # The label trail (who removed which label, when, why) is for staff only.
        "label_removals": label_removal_list(whale_id=whale.pk) if request.user.is_staff else [],
    })


def catalyst_list_page(request: HttpRequest) -> HttpResponse:
    """``/catalysts/``: the ``GET catalyst/events`` list as a page (same parameters: coin, type, since, until,
    limit; newest first). Invalid input answers 400 with the API's message and no rows."""
    params = CatalystListParamsSerializer(data={"limit": CATALYST_PAGE_SIZE, **request.GET.dict()})
    context: dict[str, Any] = {"query": request.GET, "types": CatalystType.choices, "events": [], "errors": []}
    if not params.is_valid():
        context["errors"] = [flatten_errors(params.errors)]
        return render(request, "whales/catalysts.html", context, status=400)
    values = params.validated_data
    context["events"] = list(catalyst_list(coin=values.get("coin"), type=values.get("type"),
                                           since=values.get("since"), until=values.get("until"))[: values["limit"]])
    return render(request, "whales/catalysts.html", context)
