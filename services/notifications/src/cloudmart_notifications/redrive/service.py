"""The redrive: list, examine, replay and discard dead letters, each action audited."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from prometheus_client import Counter

from cloudmart_common.errors import (
    DomainError,
    ServiceUnavailableError,
)
from cloudmart_common.events import utc_timestamp
from cloudmart_common.kafka_consumer import DEDUPE_TTL_SECONDS
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.topology import DEAD_LETTERS, REPLAYABLE_TOPICS
from cloudmart_notifications.redrive.errors import (
    AlreadyHandled,
    DeadLetterNotFound,
    DlqUnavailable,
    NotReplayable,
    ReplayLimitReached,
)
from cloudmart_notifications.redrive.reader import DlqReader
from cloudmart_notifications.redrive.records import (
    Action,
    Actor,
    DeadLetter,
    Examined,
    Handling,
    RecordId,
    Status,
)
from cloudmart_notifications.redrive.store import RedriveStore

log = logging.getLogger(__name__)

# Long enough for a produce to time out; a replayer that died lets the record go after it.
REPLAY_CLAIM_SECONDS = 60
# A page stops scanning here and hands out a cursor, so a DLQ full of handled records
# cannot hold a request (and the reader's lock) for long.
SCAN_SECONDS = 5.0
SCAN_BATCH = 200

REDRIVE_ACTIONS = Counter(
    "notifications_dlq_actions_total", "Redrive actions on dead letters", ["action", "outcome"]
)


class Redrive:
    """The service layer of the redrive: what an operator can do with a dead letter."""

    def __init__(
        self,
        reader: DlqReader,
        store: RedriveStore,
        producer: EventProducer,
        *,
        max_replays: int,
    ) -> None:
        self._reader = reader
        self._store = store
        self._producer = producer
        self.max_replays = max_replays

    async def page(
        self, status: Status, limit: int, after: RecordId | None
    ) -> tuple[list[Examined], str | None]:
        """Dead letters oldest first (by partition, then offset), filtered by their state."""
        found: list[Examined] = []
        last_scanned: RecordId | None = None
        deadline = asyncio.get_running_loop().time() + SCAN_SECONDS
        for partition, (first, end) in sorted((await self._reader.bounds()).items()):
            if after is not None and partition < after.partition:
                continue
            position = first
            if after is not None and partition == after.partition:
                position = max(first, after.offset + 1)
            while position < end:
                batch = await self._reader.read(partition, position, SCAN_BATCH)
                if not batch:
                    break
                handlings = await self._store.handlings(batch)
                for letter in batch:
                    last_scanned = letter.id
                    examined = Examined(letter, handlings.get(letter.id))
                    if _matches(examined, status):
                        found.append(examined)
                    if len(found) > limit:
                        return found[:limit], str(found[limit - 1].letter.id)
                position = batch[-1].id.offset + 1
                if asyncio.get_running_loop().time() > deadline and last_scanned is not None:
                    return found, str(last_scanned)
        return found, None

    async def examine(self, record_id: RecordId) -> Examined:
        letter = await self._letter(record_id)
        handling = (await self._store.handlings([letter])).get(letter.id)
        return Examined(letter, handling)

    async def replay(self, record_id: RecordId, actor: Actor, reason: str = "") -> Examined:
        """Put the event back on the topic it came from, its replay counter one higher."""

        async def act() -> Examined:
            examined = await self._pending(record_id)
            letter = examined.letter
            if letter.replay_count >= self.max_replays:
                raise ReplayLimitReached(
                    f"record {record_id} was replayed {letter.replay_count} times, the limit is "
                    f"{self.max_replays}: fix the cause and discard it, or publish a new event",
                    replay_count=letter.replay_count,
                    max_replays=self.max_replays,
                )
            topic = letter.original_topic
            if topic not in REPLAYABLE_TOPICS:
                raise NotReplayable(
                    f"record {record_id} came from {topic!r}, not a topic CloudMart consumes"
                )
            claim = Handling("replaying", _who(actor), utc_timestamp(), reason)
            if not await self._store.claim(letter, claim, REPLAY_CLAIM_SECONDS):
                raise AlreadyHandled(f"record {record_id} is being handled by another request")
            try:
                future = await self._producer.enqueue(
                    topic, letter.key, letter.value, letter.replay_headers()
                )
                written = await asyncio.wait_for(future, self._producer.delivery_timeout)
            except Exception as exc:
                await self._store.unclaim(letter)
                raise DlqUnavailable(
                    f"record {record_id} was not replayed: {type(exc).__name__}"
                ) from exc
            done = replace(
                claim,
                state="replayed",
                at=utc_timestamp(),
                replayed_to=f"{written.topic}/{written.partition}/{written.offset}",
            )
            await self._store.settle(letter, done)
            return Examined(letter, done)

        return await self._audited("replay", record_id, actor, reason, act)

    async def discard(self, record_id: RecordId, actor: Actor, reason: str = "") -> Examined:
        """Mark the record handled without replaying it (it stays in Kafka until retention)."""

        async def act() -> Examined:
            letter = (await self._pending(record_id)).letter
            done = Handling("discarded", _who(actor), utc_timestamp(), reason)
            if not await self._store.claim(letter, done, DEDUPE_TTL_SECONDS):
                raise AlreadyHandled(f"record {record_id} is being handled by another request")
            return Examined(letter, done)

        return await self._audited("discard", record_id, actor, reason, act)

    async def audit_page(
        self, limit: int, before: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        return await self._store.audit_page(limit, before)

    async def _letter(self, record_id: RecordId) -> DeadLetter:
        records = await self._reader.read(record_id.partition, record_id.offset, 1)
        if not records or records[0].id != record_id:
            raise DeadLetterNotFound(f"no record {record_id} in {DEAD_LETTERS.name}")
        return records[0]

    async def _pending(self, record_id: RecordId) -> Examined:
        examined = await self.examine(record_id)
        if examined.handling is not None:
            handling = examined.handling
            done = "is being replayed" if handling.state == "replaying" else f"was {handling.state}"
            raise AlreadyHandled(
                f"record {record_id} {done} by {handling.actor} at {handling.at}",
                state=handling.state,
            )
        return examined

    async def _audited(
        self,
        action: Action,
        record_id: RecordId,
        actor: Actor,
        reason: str,
        act: Callable[[], Awaitable[Examined]],
    ) -> Examined:
        entry = {
            "action": action,
            "record_id": str(record_id),
            "actor": actor.subject,
            "actor_role": actor.role,
            "session": actor.session or "",
            "reason": reason,
        }
        try:
            examined = await act()
        except DomainError as exc:
            outcome = "failed" if isinstance(exc, ServiceUnavailableError) else "refused"
            await self._store.audit(
                entry
                | _about(None)
                | {"outcome": outcome, "at": utc_timestamp()}
                | {"detail": f"{exc.slug}: {exc.detail}"[:500]}
            )
            REDRIVE_ACTIONS.labels(action, outcome).inc()
            raise
        outcome = "replayed" if action == "replay" else "discarded"
        await self._store.audit(
            entry | _about(examined) | {"outcome": outcome, "at": utc_timestamp(), "detail": ""}
        )
        REDRIVE_ACTIONS.labels(action, outcome).inc()
        log.info("dead letter %s %s by %s", record_id, outcome, actor.subject)
        return examined


def _about(examined: Examined | None) -> dict[str, str]:
    if examined is None:
        return {"event_id": "", "event_type": "", "original_topic": "", "replayed_to": ""}
    letter, handling = examined.letter, examined.handling
    return {
        "event_id": letter.event_id or "",
        "event_type": letter.event_type or "",
        "original_topic": letter.original_topic or "",
        "replayed_to": (handling.replayed_to if handling else None) or "",
    }


def _matches(examined: Examined, status: Status) -> bool:
    if status == "all":
        return True
    return (examined.handling is None) == (status == "pending")


def _who(actor: Actor) -> str:
    return f"{actor.role}:{actor.subject}"
