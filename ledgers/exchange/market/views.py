"""The token page: the coin's price, whale moves, catalysts and mood on one Chart.js time axis, with the smart-money
flows and the lists behind the chart. It renders the same data as ``GET /api/v1/tokens/{symbol}`` (embedded as
JSON for the first paint); changing the window asks the API."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from ledgers.exchange.market.token import MAX_DAYS, token_overview, token_window
from whales.errors import InvalidParameter, NotFound

WINDOWS = (7, 30, 90, 365)


def token_page(request: HttpRequest, symbol: str) -> HttpResponse:
    """``/tokens/{symbol}/?days=``: 404 for an unknown symbol; ``days`` one of WINDOWS (else 30)."""
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    if days not in WINDOWS or days > MAX_DAYS:
        days = 30
    try:
        overview = token_overview(token_window(symbol=symbol, days=days))
    except (NotFound, InvalidParameter) as exc:
        raise Http404(str(exc)) from exc
    return render(request, "ledgers/token.html", {"token": overview, "windows": WINDOWS})
