"""DLQ redrive: read `notifications-dlq`, replay or discard its records, audit every action.

Kafka cannot delete one record, so what was done with a record (replayed, discarded) lives in
Redis next to the dedupe store; Redis runs with an append-only file, so it survives restarts.
"""

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import Counter
from redis.asyncio import Redis

from cloudmart_common.errors import (
    ConflictError,
    DomainError,
    NotFoundError,
    ServiceUnavailableError,
)
from cloudmart_common.events import utc_timestamp
from cloudmart_common.kafka_consumer import DEDUPE_TTL_SECONDS
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.topology import DEAD_LETTERS, REPLAYABLE_TOPICS, DeadLetterHeaders
from cloudmart_notifications.sent_log import newest_first

log = logging.getLogger(__name__)
T = TypeVar("T")


STATE_PREFIX = "notifications:dlq:handled:"
AUDIT_STREAM = "notifications:dlq:audit"
AUDIT_MAX_ENTRIES = 100_000
# Long enough for a produce to time out; a replayer that died lets the record go after it.
REPLAY_CLAIM_SECONDS = 60
KAFKA_READ_SECONDS = 10.0
# A page stops scanning here and hands out a cursor, so a DLQ full of handled records
# cannot hold a request (and the reader's lock) for long.
SCAN_SECONDS = 5.0
SCAN_BATCH = 200

Status = Literal["pending", "handled", "all"]
State = Literal["pending", "replaying", "replayed", "discarded"]
Action = Literal["replay", "discard"]

REDRIVE_ACTIONS = Counter(
    "notifications_dlq_actions_total", "Redrive actions on dead letters", ["action", "outcome"]
)


class DeadLetterNotFound(NotFoundError):
    title, slug = "Dead letter not found", "dead-letter-not-found"


class AlreadyHandled(ConflictError):
    title, slug = "Dead letter already handled", "dead-letter-handled"


class ReplayLimitReached(ConflictError):
    title, slug = "Replay limit reached", "replay-limit-reached"


class NotReplayable(ConflictError):
    title, slug = "Not replayable", "not-replayable"


class DlqUnavailable(ServiceUnavailableError):
    title, slug = "Dead-letter topic unavailable", "dlq-unavailable"


@dataclass(frozen=True, order=True)
class RecordId:
    """Where a dead letter sits in the DLQ, written `<partition>-<offset>` in the API."""

    partition: int
    offset: int

    @classmethod
    def parse(cls, text: str) -> "RecordId":
        partition, offset = text.split("-")
        return cls(int(partition), int(offset))

    def __str__(self) -> str:
        return f"{self.partition}-{self.offset}"


@dataclass(frozen=True)
class DeadLetter:
    id: RecordId
    timestamp_ms: int
    key: str | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        found = [value for header, value in self.headers if header == name]
        return found[-1].decode(errors="replace") if found else None

    def _number(self, name: str) -> int | None:
        text = self.header(name)
        return int(text) if text is not None and text.isascii() and text.isdigit() else None

    @property
    def dead_lettered_at(self) -> str:
        return _iso(self.timestamp_ms)

    @property
    def original_topic(self) -> str | None:
        return self.header(DeadLetterHeaders.ORIGINAL_TOPIC)

    @property
    def original_partition(self) -> int | None:
        return self._number(DeadLetterHeaders.ORIGINAL_PARTITION)

    @property
    def original_offset(self) -> int | None:
        return self._number(DeadLetterHeaders.ORIGINAL_OFFSET)

    @property
    def error(self) -> str:
        return self.header(DeadLetterHeaders.ERROR) or ""

    @property
    def attempts(self) -> int:
        return self._number(DeadLetterHeaders.ATTEMPTS) or 0

    @property
    def consumer_group(self) -> str | None:
        return self.header(DeadLetterHeaders.CONSUMER_GROUP)

    @property
    def replay_count(self) -> int:
        return self._number(DeadLetterHeaders.REPLAY_COUNT) or 0

    @property
    def event(self) -> Any:
        """The value as JSON, or as text when it is not JSON (a malformed record)."""
        try:
            return json.loads(self.value)
        except ValueError:
            return self.value.decode(errors="replace")

    @property
    def event_id(self) -> str | None:
        event = self.event
        return str(event["event_id"]) if isinstance(event, dict) and "event_id" in event else None

    @property
    def event_type(self) -> str | None:
        event = self.event
        if isinstance(event, dict) and "event_type" in event:
            return str(event["event_type"])
        return self.header("event_type")

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers (traceparent, event_type ...), the counter one higher."""
        kept = [(n, v) for n, v in self.headers if not n.startswith(DeadLetterHeaders.PREFIX)]
        return [
            *kept,
            (DeadLetterHeaders.REPLAY_COUNT, str(self.replay_count + 1).encode()),
            (
                DeadLetterHeaders.REPLAYED_FROM,
                f"{DEAD_LETTERS.name}/{self.id.partition}/{self.id.offset}".encode(),
            ),
        ]


@dataclass(frozen=True)
class Handling:
    """What an operator did with a dead letter (the durable part of its state)."""

    state: Literal["replaying", "replayed", "discarded"]
    actor: str
    at: str
    reason: str = ""
    replayed_to: str | None = None  # <topic>/<partition>/<offset> of the copy


@dataclass(frozen=True)
class Examined:
    """A dead letter and what was done with it."""

    letter: DeadLetter
    handling: Handling | None

    @property
    def state(self) -> State:
        return self.handling.state if self.handling is not None else "pending"


@dataclass(frozen=True)
class Actor:
    """Who acts: the verified token's subject and role (never a name the client claims)."""

    subject: str
    role: str
    session: str | None = None


class DlqReader:
    """Reads records of the DLQ by position: no consumer group, so reading commits nothing
    and moves no one's offsets. One client, one request at a time (a seek is per client)."""

    def __init__(self, bootstrap_servers: str, topic: str = DEAD_LETTERS.name) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._topic = topic
        self._consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()

    async def bounds(self) -> dict[int, tuple[int, int]]:
        """Per partition: the first offset kept and the end (next offset to be written)."""
        async with self._lock:
            return await self._guarded(self._bounds())

    async def read(self, partition: int, offset: int, max_records: int) -> list[DeadLetter]:
        """Records from `offset` on (fewer at the end of the partition, none past it)."""
        async with self._lock:
            return await self._guarded(self._read(partition, offset, max_records))

    async def close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None

    async def _guarded(self, work: Awaitable[T]) -> T:
        try:
            result = await asyncio.wait_for(work, KAFKA_READ_SECONDS)
        except Exception as exc:  # TimeoutError included
            await self.close()  # a fresh client next time, after a broker restart
            raise DlqUnavailable(f"cannot read {self._topic}: {type(exc).__name__}") from exc
        return result

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap_servers,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
            )
            await consumer.start()
            try:
                partitions = await self._partitions()
            except BaseException:
                await consumer.stop()
                raise
            consumer.assign([TopicPartition(self._topic, p) for p in partitions])
            self._consumer = consumer
        return self._consumer

    async def _partitions(self) -> list[int]:
        # A consumer without a subscription keeps no metadata of the topic: ask the cluster.
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap_servers)
        await admin.start()
        try:
            [described] = await admin.describe_topics([self._topic])
        finally:
            await admin.close()
        return sorted(int(p["partition"]) for p in described.get("partitions", ()))

    async def _bounds(self) -> dict[int, tuple[int, int]]:
        consumer = await self._started()
        partitions = list(consumer.assignment())
        if not partitions:
            return {}
        first = await consumer.beginning_offsets(partitions)
        end = await consumer.end_offsets(partitions)
        return {p.partition: (first[p], end[p]) for p in partitions}

    async def _read(self, partition: int, offset: int, max_records: int) -> list[DeadLetter]:
        consumer = await self._started()
        tp = TopicPartition(self._topic, partition)
        if tp not in consumer.assignment():
            return []
        end = (await consumer.end_offsets([tp]))[tp]
        if offset >= end:
            return []
        consumer.seek(tp, offset)
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=500, max_records=max_records)
            # A fetch answered before the seek can still hold earlier offsets.
            records = [r for r in batch.get(tp, []) if r.offset >= offset]
            if records:
                return [_dead_letter(r) for r in records[:max_records]]
        return []


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


def _state_key(record: DeadLetter) -> str:
    # The record's timestamp tells it from the one at the same offset of a topic recreated
    # since (a wiped laptop): an old mark never hides a new record.
    return f"{STATE_PREFIX}{record.id}@{record.timestamp_ms}"


def _who(actor: Actor) -> str:
    return f"{actor.role}:{actor.subject}"


def _iso(timestamp_ms: int) -> str:
    moment = datetime.fromtimestamp(timestamp_ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dead_letter(record: ConsumerRecord[bytes, bytes]) -> DeadLetter:
    return DeadLetter(
        id=RecordId(record.partition, record.offset),
        timestamp_ms=record.timestamp,
        key=record.key.decode(errors="replace") if record.key is not None else None,
        value=record.value or b"",
        headers=tuple((name, value) for name, value in (record.headers or ())),
    )
