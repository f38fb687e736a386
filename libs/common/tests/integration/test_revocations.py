"""RevokedSessions on the stack's Redis: answers kept a second, a revocation final, no Redis
no refusal."""

import asyncio
import uuid

from redis.asyncio import Redis

from cloudmart_common.revocations import CHECK_SECONDS, RevokedSessions, revoked_key


async def test_an_answer_is_kept_a_second_and_a_revocation_for_good(redis: Redis) -> None:
    sessions, sid = RevokedSessions(redis), uuid.uuid4().hex
    assert await sessions.is_revoked(sid) is False
    await redis.set(revoked_key(sid), "1", ex=60)
    assert await sessions.is_revoked(sid) is False  # answered from memory: no round trip
    await asyncio.sleep(CHECK_SECONDS + 0.05)
    assert await sessions.is_revoked(sid) is True
    await redis.delete(revoked_key(sid))
    await asyncio.sleep(CHECK_SECONDS + 0.05)
    assert await sessions.is_revoked(sid) is True  # never asked again


async def test_without_redis_a_session_counts_as_live() -> None:
    unreachable = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    try:
        assert await RevokedSessions(unreachable).is_revoked(uuid.uuid4().hex) is False
    finally:
        await unreachable.aclose()
