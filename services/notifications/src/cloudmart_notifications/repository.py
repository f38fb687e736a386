"""What was sent, in Redis: a capped stream for the admin log, and a mark per delivery.

The marks make a delivery happen at most once per (event, channel, recipient): an event
handled again after a crash skips what already went out.
"""

from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from cloudmart_common.errors import UnprocessableError
from cloudmart_common.kafka_consumer import DEDUPE_TTL_SECONDS

STREAM = "notifications:sent"
MARK_PREFIX = "notifications:delivered:"


@dataclass(frozen=True)
class Entry:
    event_id: str
    event_type: str
    channel: str
    recipient: str
    subject: str
    status: str  # sent | failed
    sent_at: str
    error: str = ""


class SentLog:
    def __init__(self, redis: "Redis", max_entries: int) -> None:
        self._redis = redis
        self._max = max_entries

    async def already_delivered(self, delivery_id: str) -> bool:
        return bool(await self._redis.exists(MARK_PREFIX + delivery_id))

    async def delivered(self, delivery_id: str, entry: Entry) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(MARK_PREFIX + delivery_id, "1", ex=DEDUPE_TTL_SECONDS)
            pipe.xadd(STREAM, _fields(entry), maxlen=self._max, approximate=True)
            await pipe.execute()

    async def failed(self, entry: Entry) -> None:
        await self._redis.xadd(STREAM, _fields(entry), maxlen=self._max, approximate=True)

    async def recent(
        self, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first; `before` is the id of the last entry of the previous page."""
        return await newest_first(self._redis, STREAM, limit, before)


async def newest_first(
    redis: "Redis", stream: str, limit: int, before: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of a Redis stream, newest first, its ids as cursors (`before`: the previous
    page's last id)."""
    if before is not None:
        # Stream ids are two unsigned 64-bit parts; nothing comes before 0-0 (and Redis
        # refuses both as an interval's end: that was a 500).
        parts = [int(part) for part in before.split("-")]
        if max(parts) >= 2**64:
            raise UnprocessableError("invalid cursor", field="cursor")
        if parts == [0, 0]:
            return [], None
    top = f"({before}" if before else "+"
    rows = await redis.xrevrange(stream, max=top, min="-", count=limit + 1) or []
    entries = [
        {"id": _text(row_id)} | {_text(k): _text(v) for k, v in (fields or {}).items()}
        for row_id, fields in rows
    ]
    if len(entries) > limit:
        return entries[:limit], entries[limit - 1]["id"]
    return entries, None


def _fields(entry: Entry) -> dict[Any, Any]:
    return {name: str(value) for name, value in asdict(entry).items()}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
