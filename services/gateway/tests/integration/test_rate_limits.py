"""The per-client limits, counted locally and synced: exact on one replica, bounded on several.

Against the local stack's Redis, with limits small enough to reach; each test has its own
client address, so no count is shared with another test or with the running gateway.
"""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from cloudmart_common.stores import create_redis
from cloudmart_gateway.ratelimit import SLIDING_WINDOW, SYNC_SECONDS, RateLimited, RateLimits
from cloudmart_gateway.settings import Settings

LIMIT = 40
SETTINGS = Settings(rate_limit_anonymous=f"{LIMIT}/minute", rate_limit_user="1000/minute")


@pytest.fixture
async def replicas() -> AsyncIterator[tuple[RateLimits, RateLimits]]:
    first, second = create_redis(SETTINGS), create_redis(SETTINGS)
    one, two = RateLimits(SETTINGS, first), RateLimits(SETTINGS, second)
    try:
        async with one.syncing(), two.syncing():
            yield one, two
    finally:
        await first.aclose()
        await second.aclose()


async def _allowed(limits: RateLimits, client_ip: str, tries: int) -> int:
    allowed = 0
    for _ in range(tries):
        try:
            await limits.check(
                path="/api/products", client_ip=client_ip, user=None, login_name=None
            )
        except RateLimited:
            continue
        allowed += 1
    return allowed


async def test_one_replica_lets_exactly_the_limit_through(
    replicas: tuple[RateLimits, RateLimits],
) -> None:
    one, _two = replicas
    client_ip = f"test-{uuid.uuid4().hex}"
    assert await _allowed(one, client_ip, LIMIT * 2) == LIMIT


async def test_the_remaining_count_goes_down_by_one_a_request_and_reaches_redis(
    replicas: tuple[RateLimits, RateLimits],
) -> None:
    one, two = replicas
    client_ip = f"test-{uuid.uuid4().hex}"
    seen = []
    for _ in range(10):
        verdict = await one.check(
            path="/api/products", client_ip=client_ip, user=None, login_name=None
        )
        assert verdict is not None
        seen.append(verdict.remaining)
    assert seen == list(range(LIMIT - 1, LIMIT - 11, -1))
    await asyncio.sleep(SYNC_SECONDS * 3)
    # The other replica's first look at this client asks Redis, which has every hit.
    verdict = await two.check(path="/api/products", client_ip=client_ip, user=None, login_name=None)
    assert verdict is not None
    assert verdict.remaining == LIMIT - 11


async def test_two_replicas_together_stay_within_the_limit_and_what_one_sync_misses(
    replicas: tuple[RateLimits, RateLimits],
) -> None:
    one, two = replicas
    client_ip = f"test-{uuid.uuid4().hex}"
    allowed = 0
    per_sync = 4  # requests each replica serves between two syncs
    for _ in range(LIMIT):  # interleaved, as a load balancer spreads one client
        allowed += await _allowed(one, client_ip, 1)
        allowed += await _allowed(two, client_ip, 1)
        await asyncio.sleep(SYNC_SECONDS / per_sync)
    # Far from the limit each replica counts alone; near it both ask Redis.
    assert LIMIT <= allowed <= LIMIT + per_sync


async def test_without_redis_requests_pass() -> None:
    settings = Settings(redis_url="redis://127.0.0.1:1/0", health_check_timeout_seconds=0.2)
    redis = create_redis(settings)
    try:
        verdict = await RateLimits(settings, redis).check(
            path="/api/products", client_ip="nowhere", user=None, login_name=None
        )
    finally:
        await redis.aclose()
    assert verdict is None


async def test_a_spent_limit_stays_spent_across_a_window_boundary() -> None:
    """9 guesses at the end of one minute and 1 at the start of the next spend a limit of 10:
    the 11th is refused, whenever the minute turns. The script is run with the clock given."""
    redis = create_redis(SETTINGS)
    script = redis.register_script(SLIDING_WINDOW)
    key = f"test-window-{uuid.uuid4().hex}"
    window = 60_000
    start = 1_800_000_000_000 - 1_800_000_000_000 % window  # a window's first millisecond

    async def hit(now: int) -> int:
        allowed, _remaining, _reset = await script(keys=[key], args=[10, window, now, 0, 1])
        return int(allowed)

    try:
        assert [await hit(start + 59_000) for _ in range(9)] == [1] * 9
        assert await hit(start + window + 100) == 1  # the 10th
        assert await hit(start + window + 200) == 0  # the 11th
    finally:
        await redis.delete(key)
        await redis.aclose()
