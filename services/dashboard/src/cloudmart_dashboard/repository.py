"""Recent analytics results in Redis: windows by start time, anomalies, the latest trending
products, and a live channel."""

import json
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

WINDOWS = "analytics:windows"  # hash: window_start -> result JSON
INDEX = "analytics:window-index"  # sorted set: window_start scored by epoch seconds
ANOMALIES = "analytics:anomalies"  # list, newest first
LATE = "analytics:late-events"  # counter
TRENDING = "analytics:trending"  # hash: window_end -> trending_products JSON
TRENDING_INDEX = "analytics:trending-index"  # sorted set: window_end scored by epoch seconds
# Only the latest, by window end: a result of an earlier window arriving after it (results of
# different windows come through different partitions) is trimmed again at once.
TRENDING_KEPT = 1
LIVE = "analytics:live"  # pub/sub channel of every new result


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


class ResultStore:
    def __init__(self, redis: "Redis", windows_kept: int) -> None:
        self._redis = redis
        self._kept = windows_kept

    async def add(self, result: dict[str, Any]) -> None:
        """Keep a result (a window replaces an earlier version of itself) and announce it."""
        kind = result.get("event_type")
        text = json.dumps(result)
        async with self._redis.pipeline(transaction=True) as pipe:
            if kind == "analytics_window":
                start = str(result["window_start"])
                pipe.hset(WINDOWS, start, text)
                pipe.zadd(INDEX, {start: _epoch(start)})
            elif kind == "anomaly_detected":
                pipe.lpush(ANOMALIES, text)
                pipe.ltrim(ANOMALIES, 0, 199)
            elif kind == "late_event":
                pipe.incr(LATE)
            elif kind == "trending_products":
                end = str(result["window_end"])
                pipe.hset(TRENDING, end, text)
                pipe.zadd(TRENDING_INDEX, {end: _epoch(end)})
            pipe.publish(LIVE, text)
            await pipe.execute()
        if kind == "trending_products":
            await self._trim(TRENDING_INDEX, TRENDING, TRENDING_KEPT)
        else:
            await self._trim(INDEX, WINDOWS, self._kept)

    async def _trim(self, index: str, results: str, kept: int) -> None:
        surplus = await self._redis.zcard(index) - kept
        if surplus > 0:
            oldest = await self._redis.zrange(index, 0, surplus - 1)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zrem(index, *oldest)
                pipe.hdel(results, *oldest)
                await pipe.execute()

    async def windows(self, limit: int, before: float | None) -> list[dict[str, Any]]:
        """Newest first; `before` is an epoch second, exclusive."""
        top: float | str = f"({before}" if before is not None else "+inf"
        starts = await self._redis.zrevrangebyscore(INDEX, top, "-inf", start=0, num=limit)
        if not starts:
            return []
        fields = [s.decode() if isinstance(s, bytes) else str(s) for s in starts]
        raw = await self._redis.hmget(WINDOWS, fields)
        return [json.loads(item) for item in raw if item is not None]

    async def anomalies(self, limit: int) -> list[dict[str, Any]]:
        return [json.loads(item) for item in await self._redis.lrange(ANOMALIES, 0, limit - 1)]

    async def late_events(self) -> int:
        return int(await self._redis.get(LATE) or 0)

    async def trending(self) -> dict[str, Any] | None:
        """The trending products of the sliding window that ended last; None before the first."""
        ends = await self._redis.zrevrange(TRENDING_INDEX, 0, 0)
        if not ends:
            return None
        end = ends[0].decode() if isinstance(ends[0], bytes) else str(ends[0])
        raw = await self._redis.hget(TRENDING, end)
        return None if raw is None else dict(json.loads(raw))
