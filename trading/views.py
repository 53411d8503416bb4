"""The trading page: ``/trading/`` (signed-in users; everything on it comes from the owner-scoped API)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie


@login_required
@ensure_csrf_cookie
def trading_page(request: HttpRequest) -> HttpResponse:
    """``/trading/``: the user's paper trading, drawn by the page's script from the owner-scoped
    ``/api/v1/trading/...`` API: an account (the first, or ``?account=<id>``) with its cash, portfolio
    value and halt state (Halt / Resume), the equity curve (``pnl/history``), the P&L summary and per
    coin, open positions, strategies (Pause / Resume), recent signals, orders and realized fills (with their
    venue), and the "Live trading" panel (``static/js/trading_live.js`` over ``trading.api.live``: venue, gates,
    credentials, limits confirmation, reconciliation, the venue's open orders, emergency stop, venue calls). The
    CSRF cookie is set so the page's script can send ``X-CSRFToken``."""
    return render(request, "trading/trading.html")
