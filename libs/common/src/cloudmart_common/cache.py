"""A read-through Redis cache with TTL that falls back to the source when Redis is down."""

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CACHE_LOOKUPS = Counter("cache_lookups_total", "Cache lookups by outcome", ["cache", "outcome"])

Loader = Callable[[], Awaitable[Any]]


class ReadThroughCache:
    """JSON values under `<name>:<key>`; a Redis failure costs latency, never an error."""

    def __init__(self, redis: "Redis", name: str, ttl_seconds: int) -> None:
        self._redis = redis
        self._name = name
        self._ttl = ttl_seconds

    def _key(self, key: str) -> str:
        return f"{self._name}:{key}"

    async def get_or_load(self, key: str, load: Loader) -> Any:
        """The cached value, else `load()`'s, stored for next time. None is not cached."""
        try:
            cached = await self._redis.get(self._key(key))
        except RedisError as exc:
            CACHE_LOOKUPS.labels(self._name, "error").inc()
            log.warning("cache %s unavailable, reading the source: %s", self._name, exc)
            return await load()
        if cached is not None:
            CACHE_LOOKUPS.labels(self._name, "hit").inc()
            return json.loads(cached)
        CACHE_LOOKUPS.labels(self._name, "miss").inc()
        value = await load()
        if value is not None:
            try:
                await self._redis.set(self._key(key), json.dumps(value), ex=self._ttl)
            except RedisError as exc:
                log.warning("cache %s not written: %s", self._name, exc)
        return value

    async def invalidate(self, *keys: str) -> None:
        """Drop entries after a write. If Redis is down the TTL bounds the staleness."""
        if not keys:
            return
        try:
            await self._redis.delete(*(self._key(key) for key in keys))
        except RedisError as exc:
            log.warning(
                "cache %s not invalidated (%s); entries expire within %d s",
                self._name,
                exc,
                self._ttl,
            )
