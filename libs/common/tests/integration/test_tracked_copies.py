"""In-process copies on the local Redis: Redis's invalidations drop them, and a GET that an
invalidation overtook is never kept."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import cast

import pytest
from redis.asyncio import Redis

from cloudmart_common.settings import CommonSettings
from cloudmart_common.tracked_copies import TrackedCopies

pytestmark = pytest.mark.asyncio


async def _until(condition: Callable[[], bool], within: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within time"
        await asyncio.sleep(0.01)


@pytest.fixture
def prefix() -> str:
    return f"copies-test-{uuid.uuid4().hex[:8]}:"


@asynccontextmanager
async def _running(tracked: TrackedCopies) -> AsyncIterator[TrackedCopies]:
    """`tracked` with its tracking connection up, stopped afterwards."""
    task = asyncio.create_task(tracked.run())
    try:
        await _until(lambda: tracked.live)
        yield tracked
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@pytest.fixture
async def copies(settings: CommonSettings, prefix: str) -> AsyncIterator[TrackedCopies]:
    async with _running(TrackedCopies(settings.redis_url, [prefix])) as tracked:
        yield tracked


async def _written(redis: Redis, key: str, value: bytes, px: int | None = None) -> None:
    """A write whose invalidation has reached the copies: otherwise it may arrive after a
    read that follows, dropping the copy that read just kept (correct, but not what a test
    of keeping means)."""
    await redis.set(key, value, px=px)
    await asyncio.sleep(0.1)


async def _read(copies: TrackedCopies, redis: Redis, key: str) -> bytes | None:
    """What a cache-only read does: the copy, else a GET kept as a copy."""
    value = copies.get(key)
    if value is not None:
        return value
    token = copies.begin(key)
    fetched = cast(bytes | None, await redis.get(key))  # replies are not decoded
    copies.offer(key, token, fetched)
    return fetched


async def test_a_copy_is_served_until_another_client_writes_the_key(
    copies: TrackedCopies, redis: Redis, prefix: str
) -> None:
    key = f"{prefix}1"
    await _written(redis, key, b"v1")
    assert await _read(copies, redis, key) == b"v1"
    assert copies.get(key) == b"v1"
    await redis.set(key, b"v2")  # another connection than the tracking one: a writer anywhere
    await _until(lambda: copies.get(key) is None)
    assert await _read(copies, redis, key) == b"v2"


async def test_delete_expiry_and_flush_drop_copies(
    copies: TrackedCopies, redis: Redis, prefix: str
) -> None:
    deleted, expiring = f"{prefix}deleted", f"{prefix}expiring"
    await _written(redis, deleted, b"x")
    await _written(redis, expiring, b"y", px=300)
    await _read(copies, redis, deleted)
    await _read(copies, redis, expiring)
    await redis.delete(deleted)
    await _until(lambda: copies.get(deleted) is None)
    # Redis reports an expiry when it notices it: a read of the key makes it notice.
    await asyncio.sleep(0.4)
    assert await redis.get(expiring) is None
    await _until(lambda: copies.get(expiring) is None)


async def test_keys_outside_the_tracked_prefixes_are_never_copied(
    copies: TrackedCopies, redis: Redis, prefix: str
) -> None:
    other = f"other-{prefix}1"  # Redis would never report its changes
    await _written(redis, other, b"z")
    try:
        assert copies.begin(other) is None
        assert await _read(copies, redis, other) == b"z"
        assert copies.get(other) is None
    finally:
        await redis.delete(other)


async def test_an_answer_overtaken_by_an_invalidation_is_not_kept(
    copies: TrackedCopies, redis: Redis, prefix: str
) -> None:
    key = f"{prefix}raced"
    await _written(redis, key, b"old")
    token = copies.begin(key)
    # The GET's answer, still on its way to the reader when the write lands:
    stale = cast(bytes | None, await redis.get(key))
    await redis.set(key, b"new")  # a write lands, and its invalidation arrives first
    await asyncio.sleep(0.2)
    copies.offer(key, token, stale)
    assert copies.get(key) is None


async def test_this_process_s_own_write_is_seen_by_its_next_read_at_once(
    copies: TrackedCopies, redis: Redis, prefix: str
) -> None:
    key = f"{prefix}own"
    await _written(redis, key, b"before")
    await _read(copies, redis, key)
    token_of_a_read_in_flight = copies.begin(key)
    await redis.set(key, b"after")
    copies.drop([key])  # the writer drops its copies once Redis acknowledged the write
    assert copies.get(key) is None
    copies.offer(key, token_of_a_read_in_flight, b"before")
    assert await _read(copies, redis, key) == b"after"


async def test_without_the_tracking_connection_there_are_no_copies_and_it_comes_back(
    copies: TrackedCopies, redis: Redis, prefix: str
) -> None:
    key = f"{prefix}lost"
    await _written(redis, key, b"v")
    await _read(copies, redis, key)
    assert copies.get(key) == b"v"
    await redis.client_kill_filter(_id=str(copies.client_id))
    await _until(lambda: not copies.live)
    assert copies.get(key) is None
    assert copies.begin(key) is None  # nothing is kept while invalidations could be missed
    await _until(lambda: copies.live)
    assert await _read(copies, redis, key) == b"v"
    assert copies.get(key) == b"v"


async def test_copies_are_bounded(settings: CommonSettings, prefix: str) -> None:
    async with _running(TrackedCopies(settings.redis_url, [prefix], max_copies=3)) as tracked:
        for index in range(5):
            key = f"{prefix}{index}"
            tracked.offer(key, tracked.begin(key), b"v")
        assert [tracked.get(f"{prefix}{index}") for index in range(5)] == [
            None,
            None,
            b"v",
            b"v",
            b"v",
        ]
