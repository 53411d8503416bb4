"""Composition-root views: the server-rendered pages and ``/health`` (dependency checks, no domain logic).

Pages (templates in ``templates/``, small ES modules in ``static/js/``):

- ``/`` dashboard, ``/whales/`` whale list, ``/wallets/<chain>/<address>/`` wallet: public reads, like the
  anonymous reads of the API. Their live parts (the dashboard's feed panel) need what ``/ws/events/``
  needs: a signed-in user, or ``ALERTS_PUBLIC_FEED``.
- ``/live/`` the live feed: signed-in users, or everyone with ``ALERTS_PUBLIC_FEED``.
- ``/alerts/`` the user's alert rules and alerts: signed-in users only (the alerts REST API and
  ``/ws/alerts/`` are owner-scoped).

The whale list filters, sorts and pages with the API's own FilterSet and parameter serializer, so
``/whales/?chain=...`` and ``/api/v1/whales?chain=...`` always list the same whales.
"""

import asyncio
import uuid
from decimal import ROUND_HALF_UP, Decimal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db import connection
from django.db.models import F, Max
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie

from ledgers.selectors import collector_health_list, dashboard_page
from whales.api.errors import flatten_errors
from whales.api.filtersets import ACTIVITY_WINDOWS, WhaleFilterSet
from whales.api.pagination import keyset_page
from whales.api.serializers import WHALE_SORT_FIELDS, WhaleListParamsSerializer
from whales.chains import Chain, normalize_address, tx_url
from whales.models import Direction, Entity, EventType, Label, TradeSource, Whale, WhaleEvent, WhaleType
from whales.selectors import event_recent_list, trade_list, whale_get, whale_list_with_labels, whales_order

WHALE_PAGE_SIZE = 50
WALLET_TRADES_PAGE_SIZE = 25
LIVE_INITIAL_EVENTS = 50
TOP_WHALES = 10
# Choices offered by the live-feed and alert-rule filters (a whale list longer than this is cut).
FILTER_WHALES_MAX = 500


def _plain(value: Decimal | None, places: int = 8) -> str:
    """A token amount or price for display: grouped, at most ``places`` decimals, no trailing zeros
    ("1,234.5", "-12.5", "110,500"); "—" for None, "<0.00000001" for a non-zero amount that rounds to 0."""
    if value is None:
        return "—"
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if not rounded and value:
        return f"{'-' if value < 0 else ''}<{Decimal(1).scaleb(-places):f}"
    return f"{rounded.normalize() + 0:,f}"


def feed_allowed(request: HttpRequest) -> bool:
    """Whether this request's user may receive ``/ws/events/``: signed in, or the feed is public."""
    return bool(request.user.is_authenticated or settings.ALERTS_PUBLIC_FEED)


def _feed_since_id() -> int:
    """The largest stored event id: the page's feed backfills from it (``events/recent?since_id=``), so an
    event stored between rendering and the socket opening is not missed."""
    return WhaleEvent.objects.aggregate(newest=Max("id"))["newest"] or 0


def _latency(ms: float) -> str:
    """Like ``formatLatency`` in static/js/format.js: "850 ms", "12.3 s", "4.0 min"."""
    if ms < 1000:
        return f"{round(ms)} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    return f"{ms / 60_000:.1f} min"


def _add_tx_urls(events: list[WhaleEvent]) -> list[WhaleEvent]:
    """Set ``external_url`` on each event like the API's EventSerializer ("" for a reorg retraction) and
    ``latency_display`` (observed_at - block_time, the payload's detection latency; "—" when negative)."""
    for event in events:
        event.external_url = "" if event.type == EventType.REORG_RETRACTION else tx_url(event.chain, event.tx_hash)
        ms = (event.observed_at - event.block_time).total_seconds() * 1000
        event.latency_display = _latency(ms) if ms >= 0 else "—"
    return events


def _choice_labels() -> dict:
    """Display names the page scripts use for rows they build (rendered with ``json_script``)."""
    return {"chains": dict(Chain.choices), "event_types": dict(EventType.choices),
            "directions": dict(Direction.choices), "trade_sources": dict(TradeSource.choices)}


def _filter_choices() -> dict:
    """Chains, event types, tracked whales, labels and entities the filter forms offer."""
    whales = list(Whale.objects.filter(is_tracked=True).order_by("chain", "name", "address")
                  .values("id", "chain", "address", "name")[:FILTER_WHALES_MAX])
    return {
        "choice_labels": _choice_labels(),
        "chains": Chain.choices,
        "event_types": EventType.choices,
        "whale_choices": whales,
        "label_choices": Label.objects.filter(whale_labels__isnull=False).distinct().order_by("slug"),
        "entity_choices": Entity.objects.filter(whales__isnull=False).distinct().order_by("name"),
    }


def dashboard(request: HttpRequest) -> HttpResponse:
    """``/``: summary cards, top whales by ROI, collector freshness, the newest whale events (live-updated
    from ``/ws/events/`` when the user may receive the feed) and the most recently active whales.

    Context: ``whales.selectors.dashboard_page()`` plus ``top_whales`` (whales with a known ROI, highest
    first, the same order as ``GET whales/top``) and the feed settings.
    """
    context = dashboard_page()
    _add_tx_urls(context["events"])
    field = F(WHALE_SORT_FIELDS["roi"])
    context["top_whales"] = list(
        whale_list_with_labels().filter(metrics__roi_percent__isnull=False)
        .order_by(field.desc(nulls_last=True), "id")[:TOP_WHALES]
    )
    context["choice_labels"] = _choice_labels()
    context["feed_enabled"] = feed_allowed(request)
    context["feed_since_id"] = _feed_since_id()
    return render(request, "dashboard.html", context)


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
        **_filter_choices(), "errors": errors, "query": request.GET, "whale_types": WhaleType.choices,
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
    except ValueError as exc:
        raise Http404(str(exc)) from exc
    if normalized != address:
        return redirect("wallet", chain=chain, address=normalized)
    try:
        whale = whale_get(chain=chain, address=normalized)
    except Whale.DoesNotExist as exc:
        raise Http404(f"No wallet {normalized} on {chain}.") from exc
    holdings = list(whale.holdings.all())
    for holding in holdings:  # return on equity is a ratio (0.0104 = +1.04 %)
        holding.roe_percent = None if holding.return_on_equity is None else holding.return_on_equity * 100
        holding.amount_display = _plain(holding.amount)
        holding.entry_price_display = _plain(holding.entry_price_usd, 6)
        holding.liquidation_price_display = _plain(holding.liquidation_price_usd, 6)
    page = keyset_page(trade_list().filter(whale=whale), cursor=None, limit=WALLET_TRADES_PAGE_SIZE)
    for trade in page.items:
        trade.amount_display = "?" if trade.amount_base is None else _plain(trade.amount_base)
    return render(request, "whales/wallet.html", {
        "whale": whale,
        "metrics": getattr(whale, "metrics", None),
        "labels": list(whale.whale_labels.all()),
        "spot_holdings": [h for h in holdings if not h.is_perp],
        "perp_holdings": [h for h in holdings if h.is_perp],
        "trades": page.items,
        "next_cursor": page.next_cursor or "",
        "trades_page_size": WALLET_TRADES_PAGE_SIZE,
        "choice_labels": _choice_labels(),
    })


def live_page(request: HttpRequest) -> HttpResponse:
    """``/live/``: the full-width live feed with filter controls. Signed-in users only, unless
    ``ALERTS_PUBLIC_FEED``. The newest events are rendered; the page's script then follows
    ``/ws/events/`` and backfills from the largest stored id after every (re)connect."""
    if not feed_allowed(request):
        return redirect_to_login(request.get_full_path())
    return render(request, "live.html", {
        **_filter_choices(),
        "events": _add_tx_urls(event_recent_list(limit=LIVE_INITIAL_EVENTS)),
        "feed_since_id": _feed_since_id(),
    })


@login_required
@ensure_csrf_cookie
def alerts_page(request: HttpRequest) -> HttpResponse:
    """``/alerts/``: the user's alert rules (list, create, edit, toggle, delete, simulate through
    ``/api/v1/alerts/rules``) and their recent alerts (``/api/v1/alerts``, then ``/ws/alerts/``).
    The CSRF cookie is set so the page's script can send ``X-CSRFToken``."""
    return render(request, "alerts.html", {**_filter_choices(), "directions": Direction.choices})


@login_required
@ensure_csrf_cookie
def trading_page(request: HttpRequest) -> HttpResponse:
    """``/trading/``: the user's paper trading, drawn by the page's script from the owner-scoped
    ``/api/v1/trading/...`` API: an account (the first, or ``?account=<id>``) with its cash, portfolio
    value and halt state (Halt / Resume), the equity curve (``pnl/history``), the P&L summary and per
    coin, open positions, strategies (Pause / Resume), recent signals and orders. The CSRF cookie is set
    so the page's script can send ``X-CSRFToken``."""
    return render(request, "trading.html")


def _check_database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "ok"


def _check_channel_layer() -> str:
    layer = get_channel_layer()
    channel = f"health.{uuid.uuid4().hex}"

    async def roundtrip() -> None:
        await layer.send(channel, {"type": "health.ping"})
        await asyncio.wait_for(layer.receive(channel), timeout=2)

    async_to_sync(roundtrip)()
    return "ok"


def _check_broker() -> str:
    if settings.CELERY_BROKER_URL.startswith("memory://"):
        return "embedded"
    from whaletrack.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return "ok"


def health(request: HttpRequest) -> JsonResponse:
    """GET /health: database, channel layer, broker and per-collector freshness.

    Shape: {"status": "ok"|"degraded"|"down", "checks": {name: "ok"|"embedded"|"error: ..."},
    "collectors": [collectors health items]}. 503 when a dependency is down; stale collectors
    make the status "degraded" but keep 200 (the service still answers).
    """
    checks: dict[str, str] = {}
    for name, check in (("database", _check_database), ("channel_layer", _check_channel_layer),
                        ("broker", _check_broker)):
        try:
            checks[name] = check()
        except Exception as exc:  # any failure of a dependency is reported, not raised
            checks[name] = f"error: {type(exc).__name__}: {exc}"[:300]
    down = any(value.startswith("error") for value in checks.values())
    collectors = collector_health_list() if checks["database"] == "ok" else []
    stale = any(item["is_stale"] for item in collectors)
    status = "down" if down else ("degraded" if stale else "ok")
    return JsonResponse({"status": status, "checks": checks, "collectors": collectors},
                        status=503 if down else 200)
