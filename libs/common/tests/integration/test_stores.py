"""The shared Redis client survives a Redis restart: the first command after it succeeds."""

import asyncio

from cloudmart_common.settings import CommonSettings
from cloudmart_common.stores import create_redis
from tests.stack_control import stopped


def _restart_redis() -> None:
    with stopped("redis"):
        pass


async def test_the_first_command_after_a_redis_restart_succeeds(settings: CommonSettings) -> None:
    redis = create_redis(settings)
    try:
        assert await redis.ping()
        await asyncio.to_thread(_restart_redis)  # every pooled connection is now dead
        assert await redis.set("stores-test", "after-restart")
        assert await redis.get("stores-test") == b"after-restart"
    finally:
        await redis.delete("stores-test")
        await redis.aclose()
