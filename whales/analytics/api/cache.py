"""The smart-money API's response cache.

Caching
    Every 200 response body is kept in the Django cache (Redis in production) under a key built from
    the endpoint and its *validated* query (unknown parameters do not split the cache) and the cache
    generation; TTLs: wallet list 5 min (``SMART_MONEY_CACHE_LIST_TTL``, 300 s), wallet detail 10 min
    (``SMART_MONEY_CACHE_DETAIL_TTL``, 600 s), stats 5 min (``SMART_MONEY_CACHE_STATS_TTL``, 300 s),
    flows 5 min (``SMART_MONEY_CACHE_FLOWS_TTL``, 300 s). The response says ``X-Cache: HIT`` or ``MISS``.
    Errors (400/404) are never cached.

Invalidation
    ``smart_money_cache_invalidate()`` bumps the generation counter (key ``smartmoney:generation``,
    no expiry) that every key includes, so every cached response is dropped at once on locmem and
    Redis alike (old entries just expire). ``WhalesConfig.ready`` registers it with
    ``whales.analytics.scoring.scoring_finished_hook_register`` (``smart_money_cache_hook_register()``),
    so it runs when a scoring run finishes.
    A generation key lost to eviction or ``cache.clear()`` restarts from the clock in ms, never from a
    value an older entry could still carry.
"""

import logging
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.core.cache import cache
from rest_framework.response import Response

logger = logging.getLogger(__name__)

GENERATION_KEY = "smartmoney:generation"
CACHE_PREFIX = "smartmoney"
TTL_DEFAULTS = {"list": 300, "detail": 600, "stats": 300, "flows": 300}
TTL_SETTINGS = {
    "list": "SMART_MONEY_CACHE_LIST_TTL",
    "detail": "SMART_MONEY_CACHE_DETAIL_TTL",
    "stats": "SMART_MONEY_CACHE_STATS_TTL",
    "flows": "SMART_MONEY_CACHE_FLOWS_TTL",
}



def cache_ttl(kind: str) -> int:
    """TTL in seconds of ``kind`` (list, detail, stats, flows), from its setting or the default."""
    return int(getattr(settings, TTL_SETTINGS[kind], TTL_DEFAULTS[kind]))


def cache_generation() -> int:
    """The current cache generation (created from the clock in ms when missing)."""
    generation = cache.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, int(time.time() * 1000), timeout=None)
        generation = cache.get(GENERATION_KEY)
    return int(generation)


def smart_money_cache_invalidate(*_: object, **__: object) -> int:
    """Drop every cached smart-money response by bumping the generation; return the new generation.

    Accepts and ignores any arguments so it can be a hook's callback (the scoring hook passes the run).
    """
    cache_generation()  # make sure the key exists: incr on a missing key raises ValueError
    try:
        generation = cache.incr(GENERATION_KEY)
    except ValueError:  # evicted between the two calls
        generation = int(time.time() * 1000)
        cache.set(GENERATION_KEY, generation, timeout=None)
    logger.info("whales.smartmoney.cache_invalidated", extra={"generation": generation})
    return generation


def smart_money_cache_hook_register() -> None:
    """Make every finished scoring run invalidate the smart-money cache (``whales.analytics.scoring`` keeps one
    entry per function, so calling this again changes nothing). Called from ``WhalesConfig.ready``."""
    from whales.analytics.scoring import scoring_finished_hook_register  # imports the models: not at app loading

    scoring_finished_hook_register(smart_money_cache_invalidate)


def cache_key(endpoint: str, params: dict) -> str:
    """``smartmoney:{generation}:{endpoint}?{sorted validated params}``."""
    query = urlencode(sorted((name, str(value)) for name, value in params.items() if value is not None))
    return f"{CACHE_PREFIX}:{cache_generation()}:{endpoint}?{query}"


def cached_response(*, endpoint: str, params: dict, kind: str, build: Callable[[], dict]) -> Response:
    """The cached body of ``(endpoint, params)`` (``X-Cache: HIT``) or ``build()`` stored for the
    ``kind``'s TTL (``X-Cache: MISS``). ``build`` may raise an API error: nothing is cached then."""
    key = cache_key(endpoint, params)
    data = cache.get(key)
    if data is not None:
        response = Response(data)
        response["X-Cache"] = "HIT"
        return response
    data = build()
    cache.set(key, data, timeout=cache_ttl(kind))
    response = Response(data)
    response["X-Cache"] = "MISS"
    return response
