"""The read cache of the public API's heavy reads: answers kept under generation keys that every write bumps.

What is cached
    The JSON body of a read's answer (its serializer output as DRF's ``JSONRenderer`` renders it; a hit is
    sent as those bytes through ``JSONRenderer`` below, the project's default), in the Django cache (Redis in
    production, shared by every process), under ``readcache:{endpoint}:{digest}`` with the generations of the
    scopes it depends on at the time it was computed. The digest is a SHA-256 of the request's *known* query
    parameters (the names the view validates, with every value as given, sorted) plus whatever else the answer
    depends on (``vary``, e.g. whether the viewer is staff). An unknown parameter is a 400 before any lookup. Only
    answers are stored: a view validates its parameters before it builds, and an error (400/404) raises, so it
    is never cached. A hit therefore only exists for a query that validated, and a view may look the cache up
    before validating. The entry and the current generations come back in one round trip (``get_many``); an
    entry computed at older generations is a miss, and the answer computed then replaces it.

Invalidation: writes bump generations
    Each scope names database tables (``read_cache_scope_register``): ``whales`` is every ``whales_*`` table
    (whales, trades, events, metrics, scores, labels, holdings, ...), ``collectors`` the run log. A statement
    that writes a scope's table (``INSERT INTO`` / ``UPDATE`` / ``DELETE FROM``, from the ORM or raw SQL, seen
    by a database execute wrapper installed on every connection) bumps that scope's generation once its
    transaction commits, so the next read recomputes from committed data; a transaction's many writes bump
    once. A reader that looked up the generations before the commit and computed from the old data stores them
    with its answer, which the next reader, seeing newer ones, does not use. A connection that read a scope
    through this cache and then writes it bumps at once as well (its own reads see its uncommitted writes:
    tests, a shell).
    Data that changes without a write (a sliding 24 h window, a collector turning stale, "active in the last
    24h" filters, a running monitor's statistics) is bounded by the TTL: ``API_READ_CACHE_TTL_S`` (10 s).

Freshness, on every answer that went through it
    ``X-Cache: HIT`` or ``MISS``, and ``Age``: whole seconds since the data was computed (0 on a miss).

A generation key lost to eviction or ``cache.clear()`` restarts from the clock in ms, never from a value an
older entry could still carry (as ``whales.analytics.api.cache`` does).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from rest_framework.renderers import JSONRenderer as DrfJSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from whales.api.params import query_params_check

logger = logging.getLogger(__name__)

T = TypeVar("T")
KEY_PREFIX = "readcache"
DEFAULT_TTL_S = 10
# The table a data-changing statement writes: INSERT INTO t / UPDATE t / DELETE FROM t (quoted or not, after
# leading whitespace or a WITH clause is not matched: no such write exists in the app).
_WRITE_TABLE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE)

# scope -> table-name prefixes (a full table name is its own prefix)
_SCOPES: dict[str, tuple[str, ...]] = {}
# table name -> the scopes its writes bump (memo of _scopes_of_table)
_TABLE_SCOPES: dict[str, frozenset[str]] = {}


def read_cache_scope_register(scope: str, *, table_prefixes: Iterable[str]) -> None:
    """Make writes to tables whose name starts with one of ``table_prefixes`` bump ``scope``'s generation.
    Called from an app's ``ready()``; registering a scope again replaces its prefixes."""
    _SCOPES[scope] = tuple(table_prefixes)
    _TABLE_SCOPES.clear()


def _scopes_of_table(table: str) -> frozenset[str]:
    scopes = _TABLE_SCOPES.get(table)
    if scopes is None:
        scopes = frozenset(scope for scope, prefixes in _SCOPES.items() if table.startswith(prefixes))
        _TABLE_SCOPES[table] = scopes
    return scopes


def read_cache_ttl_s() -> int:
    """How long (s) a cached answer may be served when no write bumps it: ``API_READ_CACHE_TTL_S``."""
    return int(getattr(settings, "API_READ_CACHE_TTL_S", DEFAULT_TTL_S))


def _generation_key(scope: str) -> str:
    return f"{KEY_PREFIX}:generation:{scope}"


def read_cache_generation(scope: str) -> int:
    """The current generation of ``scope`` (created from the clock in ms when missing)."""
    key = _generation_key(scope)
    generation = cache.get(key)
    if generation is None:
        cache.add(key, int(time.time() * 1000), timeout=None)
        generation = cache.get(key)
    return int(generation)


def read_cache_invalidate(scope: str) -> int:
    """Drop every cached answer that depends on ``scope`` by bumping its generation; return the new one."""
    key = _generation_key(scope)
    read_cache_generation(scope)  # incr on a missing key raises ValueError
    try:
        generation = cache.incr(key)
    except ValueError:  # evicted between the two calls
        generation = int(time.time() * 1000)
        cache.set(key, generation, timeout=None)
    logger.debug("whales.readcache.invalidated", extra={"scope": scope, "generation": generation})
    return generation


# --- invalidation by writes --------------------------------------------------------------------------------


def _bump(scope: str) -> None:
    """``read_cache_invalidate(scope)`` for a write path: a cache that cannot be reached is logged, never
    raised (the write has happened; the entries it should drop expire within the TTL)."""
    try:
        read_cache_invalidate(scope)
    except Exception:  # any cache backend error: Redis down, a timeout
        logger.warning("whales.readcache.invalidate_failed", extra={"scope": scope}, exc_info=True)


class _WriteWatcher:
    """A database execute wrapper (one per connection) that bumps the generation of the scopes a statement
    writes: after the outermost transaction commits (once per scope per transaction), and at once when this
    connection read that scope through the cache since its last bump."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection
        self.read_scopes: set[str] = set()  # scopes read through the cache on this connection since a bump
        self.pending: dict[str, Callable[[], None]] = {}  # scope -> its on_commit callback, while registered

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: Mapping) -> Any:
        result = execute(sql, params, many, context)
        match = _WRITE_TABLE.match(sql) if sql[:1] != "S" else None  # most statements are SELECTs: skip fast
        if match is not None:
            for scope in _scopes_of_table(match.group(1)):
                self.written(scope)
        return result

    def written(self, scope: str) -> None:
        if scope in self.read_scopes:
            self.read_scopes.discard(scope)
            _bump(scope)
        if not self.connection.in_atomic_block:
            _bump(scope)  # autocommit: this statement has committed
            return
        callback = self.pending.get(scope)
        # Registered and still queued (a rolled-back savepoint drops its callbacks: register again then).
        if callback is not None and any(entry[1] is callback for entry in self.connection.run_on_commit):
            return
        self.pending[scope] = callback = self._committed(scope)
        transaction.on_commit(callback, using=self.connection.alias)

    def _committed(self, scope: str) -> Callable[[], None]:
        def bump() -> None:
            if self.pending.get(scope) is bump:
                del self.pending[scope]
            _bump(scope)
        return bump


def _watcher_install(sender: object, connection: BaseDatabaseWrapper, **_: object) -> None:
    if not any(isinstance(wrapper, _WriteWatcher) for wrapper in connection.execute_wrappers):
        connection.execute_wrappers.append(_WriteWatcher(connection))


def _watcher(connection: BaseDatabaseWrapper) -> _WriteWatcher | None:
    return next((w for w in connection.execute_wrappers if isinstance(w, _WriteWatcher)), None)


def read_cache_install() -> None:
    """Watch every database connection's writes (connections opened from now on). Called from
    ``WhalesConfig.ready``, which also registers the ``whales`` scope; idempotent."""
    connection_created.connect(_watcher_install, dispatch_uid="whales.readcache.watch")
    read_cache_scope_register("whales", table_prefixes=["whales_"])


# --- reads -------------------------------------------------------------------------------------------------


def read_cache_key(*, endpoint: str, query: Mapping[str, list[str]], known: Iterable[str],
                   vary: Iterable[str] = ()) -> str:
    """``readcache:{endpoint}:{sha256 of the known parameters and vary}``.

    ``query``: parameter name -> its values as given (``QueryDict.lists()``); names outside ``known`` are
    left out. ``vary``: other things the answer depends on (e.g. ``"staff"``)."""
    known = set(known)
    material = repr((sorted((name, values) for name, values in query.items() if name in known),
                     sorted(vary))).encode()
    return f"{KEY_PREFIX}:{endpoint}:{hashlib.sha256(material).hexdigest()}"


def _current_entry(key: str, scopes: tuple[str, ...]) -> tuple[Any, tuple[int, ...]]:
    """In one cache round trip: the entry under ``key`` if it was computed at the current generations of
    ``scopes`` (else None), and those generations (sorted by scope; a missing one is created). Marks the scopes
    read on this connection (``_WriteWatcher``)."""
    from django.db import connection

    watcher = _watcher(connection)
    if watcher is not None:
        watcher.read_scopes.update(scopes)
    names = sorted(scopes)
    generation_keys = [_generation_key(scope) for scope in names]
    found = cache.get_many([key, *generation_keys])
    generations = tuple(int(found[generation_key]) if generation_key in found else read_cache_generation(scope)
                        for generation_key, scope in zip(generation_keys, names, strict=True))
    entry = found.get(key)
    return (entry if entry is not None and entry[0] == generations else None), generations


def read_cache_value(*, name: str, scopes: Iterable[str], build: Callable[[], T]) -> T:
    """``build()``'s value (picklable: a selector's result), kept like an answer (``read_cached``) under
    ``readcache:value:{name}`` for ``read_cache_ttl_s()``: for pages that show what an API read shows. A value
    computed before its scopes' last committed write is never returned."""
    key = f"{KEY_PREFIX}:value:{name}"
    entry, generations = _current_entry(key, tuple(scopes))
    if entry is not None:
        return entry[2]
    value = build()
    cache.set(key, (generations, time.time(), value), timeout=read_cache_ttl_s())
    return value


class RenderedJSON:
    """An answer's JSON body as ``JSONRenderer`` rendered it (bytes), kept in the cache instead of the data:
    a hit is sent as is, with no unpickling of the data and no encoding."""

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body


class JSONRenderer(DrfJSONRenderer):
    """DRF's JSON renderer (the project's default, ``REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"]``) that sends a
    ``RenderedJSON`` body unchanged; asked to indent (the browsable API), it renders the decoded data again."""

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        if isinstance(data, RenderedJSON):
            if self.get_indent(accepted_media_type or "", renderer_context or {}) is None:
                return data.body
            data = json.loads(data.body)
        return super().render(data, accepted_media_type, renderer_context)


def read_cached(request: Request, *, endpoint: str, scopes: Iterable[str], known: Iterable[str],
                build: Callable[[], Any], vary: Iterable[str] = ()) -> Response:
    """The answer to ``request`` from the cache (``X-Cache: HIT``, ``Age`` = its age in whole seconds), or
    ``build()`` (which validates the parameters and may raise an API error: nothing is cached then) stored
    for ``read_cache_ttl_s()`` (``X-Cache: MISS``, ``Age: 0``). See the module docstring for the key.

    Raises: InvalidParameter, before any lookup, when the query carries a parameter outside ``known``
    (``whales.api.params.query_params_check``): a hit must not answer a misspelt filter with the unfiltered list."""
    query_params_check(request.query_params, known=known)
    key = read_cache_key(endpoint=endpoint, query=dict(request.query_params.lists()), known=known, vary=vary)
    entry, generations = _current_entry(key, tuple(scopes))
    if entry is not None:
        _, computed_at, body = entry
        response = Response(RenderedJSON(body))
        response["X-Cache"] = "HIT"
        response["Age"] = str(max(0, int(time.time() - computed_at)))
        return response
    computed_at = time.time()
    data = build()
    cache.set(key, (generations, computed_at, DrfJSONRenderer().render(data)), timeout=read_cache_ttl_s())
    response = Response(data)
    response["X-Cache"] = "MISS"
    response["Age"] = "0"
    return response
