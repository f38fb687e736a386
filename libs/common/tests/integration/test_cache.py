"""The read-through cache: hits after the first read, invalidation, and Redis down -> the source."""

import uuid

from redis.asyncio import Redis

from cloudmart_common.cache import ReadThroughCache


async def test_reads_through_then_hits_then_invalidates(redis: Redis) -> None:
    cache = ReadThroughCache(redis, f"test-{uuid.uuid4().hex}", ttl_seconds=60)
    loads = 0

    async def load() -> dict[str, int]:
        nonlocal loads
        loads += 1
        return {"version": loads}

    assert await cache.get_or_load("p1", load) == {"version": 1}
    assert await cache.get_or_load("p1", load) == {"version": 1}
    assert loads == 1
    await cache.invalidate("p1")
    assert await cache.get_or_load("p1", load) == {"version": 2}


async def test_entries_expire_with_their_ttl(redis: Redis) -> None:
    name = f"test-{uuid.uuid4().hex}"
    cache = ReadThroughCache(redis, name, ttl_seconds=60)

    async def load() -> str:
        return "value"

    await cache.get_or_load("p1", load)
    assert 0 < await redis.ttl(f"{name}:p1") <= 60


async def test_when_redis_is_down_reads_are_served_from_the_source() -> None:
    # A real client on a port where nothing listens: Redis is down, nothing is faked.
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    cache = ReadThroughCache(unreachable, "test", ttl_seconds=60)

    async def load() -> str:
        return "from the database"

    assert await cache.get_or_load("p1", load) == "from the database"
    await cache.invalidate("p1")  # does not raise either
    await unreachable.aclose()
