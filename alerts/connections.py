"""How many WebSocket connections each signed-in user holds open (issue 14, item 10).

``/ws/events/`` and ``/ws/alerts/`` together may hold ``settings.LIMITS_MAX_WS_PER_USER`` connections per
user; the consumers ask ``connection_acquire`` before accepting and ``connection_release`` on disconnect.

Store: with ``REDIS_URL``, one sorted set per user in Redis, shared by every daphne process: member = the
consumer's channel name, score = when its lease ends (``LEASE_S``; a live consumer renews it every
``LEASE_S / 3``), so the slots of a process that died without releasing them free themselves within
``LEASE_S``. The check and the add are one Lua script (atomic: two sockets opening at once cannot both take
the last slot). Without Redis (the embedded single-process mode) a dict in this process.
A Redis failure lets the connection in (logged): the cap protects the server, it must not take the feed
down with Redis.
"""

import asyncio
import logging
import time
import weakref

from django.conf import settings
from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

LEASE_S = 60
KEY_PREFIX = "whaletrack:ws:user:"

# KEYS[1] the user's set; ARGV: now, lease end, limit, member, key TTL (s). Returns 1 when admitted.
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) == false and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""

_local: dict[int, set[str]] = {}
_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Redis]" = weakref.WeakKeyDictionary()


def _redis() -> Redis | None:
    """This event loop's client of ``REDIS_URL`` (an asyncio client belongs to one loop); None without one."""
    if not settings.REDIS_URL:
        return None
    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    return client


async def connection_acquire(*, user_id: int, channel_name: str) -> bool:
    """Take one of ``user_id``'s connection slots for ``channel_name``; False when all are taken.

    Shape: at most ``settings.LIMITS_MAX_WS_PER_USER`` slots per user, across processes with Redis.
    Taking a slot the channel already holds renews it. Raises nothing (a Redis error admits, logged).
    """
    limit = settings.LIMITS_MAX_WS_PER_USER
    client = _redis()
    if client is None:
        held = _local.setdefault(user_id, set())
        if channel_name not in held and len(held) >= limit:
            return False
        held.add(channel_name)
        return True
    now = time.time()
    try:
        admitted = await client.eval(_ACQUIRE, 1, f"{KEY_PREFIX}{user_id}", now, now + LEASE_S, limit,
                                     channel_name, LEASE_S * 2)
    except (RedisError, OSError):
        logger.warning("alerts.ws.slot_store_failed", exc_info=True, extra={"user_id": user_id})
        return True
    return bool(admitted)


async def connection_renew(*, user_id: int, channel_name: str) -> None:
    """Extend the lease of a slot ``channel_name`` holds (no-op without Redis, or if it lost the slot)."""
    client = _redis()
    if client is None:
        return
    try:
        await client.zadd(f"{KEY_PREFIX}{user_id}", {channel_name: time.time() + LEASE_S}, xx=True)
        await client.expire(f"{KEY_PREFIX}{user_id}", LEASE_S * 2)
    except (RedisError, OSError):
        logger.warning("alerts.ws.slot_store_failed", exc_info=True, extra={"user_id": user_id})


async def connection_release(*, user_id: int, channel_name: str) -> None:
    """Give back the slot ``channel_name`` holds (no-op if it holds none)."""
    client = _redis()
    if client is None:
        held = _local.get(user_id)
        if held is not None:
            held.discard(channel_name)
            if not held:
                _local.pop(user_id, None)
        return
    try:
        await client.zrem(f"{KEY_PREFIX}{user_id}", channel_name)
    except (RedisError, OSError):
        logger.warning("alerts.ws.slot_store_failed", exc_info=True, extra={"user_id": user_id})
