"""Display formatting for the pages, once (``{% load whale_format %}``): token amounts and prices, detection
latency, an event's explorer link, and links from stored text that may only be http(s). ``static/js/format.js``
formats the rows the page scripts add the same way (its ``formatLatency`` and ``formatAmount`` mirror
``latency_ms`` and ``amount``)."""

from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlsplit

from django import template

from whales.chains import tx_url
from whales.models import EventType, WhaleEvent

register = template.Library()


@register.filter
def http_url(value: str | None) -> str:
    """``value`` when it is an absolute http(s) URL with a host, else "" (never ``javascript:``, ``data:``
    or a relative path): stored text such as a label's imported evidence URL is only put in ``href`` so."""
    if not value:
        return ""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return ""
    return value.strip() if parts.scheme.lower() in ("http", "https") and parts.hostname else ""

NONE = "—"


@register.filter
def amount(value: Decimal | None, places: int = 8) -> str:
    """A token amount or price: grouped, at most ``places`` decimals, no trailing zeros ("1,234.5",
    "-12.5", "110,500"); "—" for None, "<0.00000001" for a non-zero amount that rounds to 0."""
    if value is None:
        return NONE
    quantum = Decimal(1).scaleb(-int(places))
    rounded = value.quantize(quantum, rounding=ROUND_HALF_UP)
    if not rounded and value:
        return f"{'-' if value < 0 else ''}<{quantum:f}"
    return f"{rounded.normalize() + 0:,f}"


def _half_up(value: float, places: int) -> Decimal:
    """``value`` (a binary float, taken exactly) rounded half up to ``places`` decimals: what JavaScript's
    ``Number.prototype.toFixed`` gives for a non-negative number."""
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@register.filter
def latency_ms(ms: int | None) -> str:
    """A duration in whole milliseconds: "850 ms", "12.3 s", "4.0 min"; "—" for None or a negative one.
    Seconds and minutes are rounded half up from the float quotient, as ``toFixed(1)`` does."""
    if ms is None or ms < 0:
        return NONE
    if ms < 1000:
        return f"{ms} ms"
    if ms < 60_000:
        return f"{_half_up(ms / 1000, 1)} s"
    return f"{_half_up(ms / 60_000, 1)} min"


@register.filter
def detection_latency(event: WhaleEvent) -> str:
    """``event.detection_latency_ms`` (observed_at - block_time) formatted as ``latency_ms``; "—" when the
    block time is later (clock skew)."""
    return latency_ms(event.detection_latency_ms)


@register.filter
def event_url(event: WhaleEvent) -> str:
    """The explorer link of ``event``'s transaction, as the API's ``external_url`` ("" for a reorg
    retraction: its hash is an orphaned block's; a system event's ``details["url"]``)."""
    if not event.chain:
        return str((event.details or {}).get("url", ""))
    return "" if event.type == EventType.REORG_RETRACTION else tx_url(event.chain, event.tx_hash)
