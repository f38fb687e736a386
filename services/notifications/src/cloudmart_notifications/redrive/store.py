"""What was done with each dead letter, and the audit of every action, in Redis."""

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from redis.asyncio import Redis

from cloudmart_common.kafka_consumer import DEDUPE_TTL_SECONDS
from cloudmart_notifications.redrive.records import DeadLetter, Handling, RecordId
from cloudmart_notifications.repository import newest_first

log = logging.getLogger(__name__)

STATE_PREFIX = "notifications:dlq:handled:"
AUDIT_STREAM = "notifications:dlq:audit"
AUDIT_MAX_ENTRIES = 100_000


class RedriveStore:
    """Handled state per dead letter and the audit trail, in Redis."""

    def __init__(self, redis: "Redis") -> None:
        self._redis = redis

    async def handlings(self, records: Sequence[DeadLetter]) -> dict[RecordId, Handling]:
        if not records:
            return {}
        raw = await self._redis.mget([_state_key(r) for r in records])
        return {
            record.id: Handling(**json.loads(value))
            for record, value in zip(records, raw, strict=True)
            if value is not None
        }

    async def claim(self, record: DeadLetter, handling: Handling, ttl: int) -> bool:
        """Take a pending record for one action; False when another action has it."""
        value = json.dumps(asdict(handling))
        return bool(await self._redis.set(_state_key(record), value, nx=True, ex=ttl))

    async def settle(self, record: DeadLetter, handling: Handling) -> None:
        # Past the DLQ's retention the record is gone, and so may its mark be.
        value = json.dumps(asdict(handling))
        await self._redis.set(_state_key(record), value, ex=DEDUPE_TTL_SECONDS)

    async def unclaim(self, record: DeadLetter) -> None:
        await self._redis.delete(_state_key(record))

    async def audit(self, entry: Mapping[str, str]) -> None:
        fields: dict[Any, Any] = dict(entry)
        await self._redis.xadd(AUDIT_STREAM, fields, maxlen=AUDIT_MAX_ENTRIES, approximate=True)

    async def audit_page(
        self, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await newest_first(self._redis, AUDIT_STREAM, limit, before)


def _state_key(record: DeadLetter) -> str:
    # The record's timestamp tells it from the one at the same offset of a topic recreated
    # since (a wiped laptop): an old mark never hides a new record.
    return f"{STATE_PREFIX}{record.id}@{record.timestamp_ms}"
