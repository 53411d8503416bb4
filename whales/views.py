"""The whales' pages: ``/whales/`` (the whale list) and ``/wallets/<chain>/<address>/`` (one wallet).

Public reads, like the anonymous reads of the API. The whale list filters, sorts and pages with the API's
own FilterSet and parameter serializer, so ``/whales/?chain=...`` and ``/api/v1/whales?chain=...`` always
list the same whales. Display formatting is in ``whales.templatetags.whale_format``.
"""

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from whales.analytics.api.serializers import SORT_FIELDS as SMART_MONEY_SORT_FIELDS
from whales.analytics.scoring import score_breakdown
from whales.analytics.selectors import wallet_score_current
from whales.api.filtersets import ACTIVITY_WINDOWS, WhaleFilterSet
from whales.api.pagination import keyset_page
from whales.api.serializers import WHALE_SORT_FIELDS, CatalystListParamsSerializer, WhaleListParamsSerializer
from whales.chains import Chain, normalize_address
from whales.context import catalyst_list, wallet_context
from whales.errors import InvalidAddress, InvalidParameter, flatten_errors
from whales.models import (
    CatalystType,
    FlowWindow,
    Label,
    OpeningStatus,
    ScoreConfidence,
    WalletOpening,
    Whale,
    WhaleType,
)
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
from whales.watchlists import watchlist_visible

WHALE_PAGE_SIZE = 50
CATALYST_PAGE_SIZE = 100
WALLET_TRADES_PAGE_SIZE = 25
SMART_MONEY_PAGE_SIZE = 50
# Display names of the score's components (whales.analytics.scoring.COMPONENTS).
COMPONENT_NAMES = {"roi": "ROI", "win_rate": "Win rate", "realized_pnl": "Realized P&L", "consistency": "Consistency"}


def _page_url(request: HttpRequest, offset: int) -> str:
    query = request.GET.copy()
    query["offset"] = str(offset)
    return f"?{query.urlencode()}"


def whale_list_page(request: HttpRequest) -> HttpResponse:
    """``/whales/``: the ``GET whales`` list as a page: same filters (chain, type, label, entity, min_roi,
    activity_window, search), same sort_by/order/limit/offset and the same order. Invalid input answers
    400 with the API's message and no rows."""
    params = WhaleListParamsSerializer(data={"limit": WHALE_PAGE_SIZE, **request.GET.dict()})
    filterset = WhaleFilterSet(request.GET, queryset=whale_list_with_labels(), request=request)
    errors = []
    if not params.is_valid():
        errors.append(flatten_errors(params.errors))
    if not filterset.is_valid():
        errors.append(flatten_errors({k: [e["message"] for e in v]
                                      for k, v in filterset.errors.get_json_data().items()}))
    watchlists = list(watchlist_visible(request.user))
    context = {
        **page_filter_choices(), "errors": errors, "query": request.GET, "whale_types": WhaleType.choices,
        "sort_fields": list(WHALE_SORT_FIELDS), "activity_windows": list(ACTIVITY_WINDOWS),
        "whales": [], "total": 0, "watchlists": watchlists,
        "my_watchlists": [w for w in watchlists if w.owner_id == request.user.pk],
    }
    queryset = None
    if not errors:
        try:
            queryset = filterset.qs
        except InvalidParameter as exc:  # a watchlist the viewer may not read
            errors.append(str(exc.detail))
    if errors or queryset is None:
        return render(request, "whales/list.html", context, status=400)
    values = params.validated_data
    queryset = whales_order(queryset, sort_by=values["sort_by"], order=values["order"])
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
    """``/wallets/<chain>/<address>/``: entity, labels with provenance, metrics, the current smart-money score with
    its components and the classification with its reason, holdings (spot and perp positions), the first page of
    trades (more through the trades API's cursor) and the ROI, portfolio-value and score charts
    (``.../roi-history``, ``.../portfolio-history``, ``.../score-history``). 404 for an unknown chain,
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
    score = wallet_score_current(whale_id=whale.pk)
    return render(request, "whales/wallet.html", {
        "score": score,
        "score_components": [{**row, "label": COMPONENT_NAMES.get(row["name"], row["name"])}
                             for row in score_breakdown(score.components)] if score else [],
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
        "my_watchlists": [w for w in watchlist_visible(request.user) if w.owner_id == request.user.pk],
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


def smart_money_page(request: HttpRequest) -> HttpResponse:
    """``/smart-money/``: the smart-money leaderboard. The page's script reads the cached
    ``GET /api/v1/smart-money/wallets`` with the form's filters (chain, min_score, confidence, label, sort_by,
    order; the same names in the page's query string) and pages by SMART_MONEY_PAGE_SIZE; this view renders the
    form's choices only."""
    return render(request, "whales/smart_money.html", {
        "query": request.GET, "chains": Chain.choices, "confidences": ScoreConfidence.choices,
        "label_choices": Label.objects.filter(whale_labels__isnull=False).distinct().order_by("slug"),
        "sort_fields": list(SMART_MONEY_SORT_FIELDS), "page_size": SMART_MONEY_PAGE_SIZE,
        "component_names": COMPONENT_NAMES, "choice_labels": page_choice_labels(),
    })


def smart_money_flows_page(request: HttpRequest) -> HttpResponse:
    """``/smart-money/flows/``: net flow per token over 1h, 24h, 7d and 30d, buyers vs sellers and the top wallets
    each way (the cached ``GET /api/v1/glass/smart-money-flows/latest``), and a chart of one token's net flow over
    time (``GET /api/v1/glass/smart-money-flows?token=&window=&days=``), both read by the page's script."""
    window = request.GET.get("window")
    return render(request, "whales/smart_money_flows.html", {
        "windows": FlowWindow.values, "window": window if window in FlowWindow.values else FlowWindow.H24,
        "token": request.GET.get("token", ""), "days_choices": [1, 7, 30, 90],
    })
