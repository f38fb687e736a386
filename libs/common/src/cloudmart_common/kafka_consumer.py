"""The consumer runner: commit after handling, each event_id once, bounded retries, then the DLQ."""

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from opentelemetry import trace
from prometheus_client import Counter, Gauge
from redis.asyncio import Redis
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from cloudmart_common.events import InvalidEvent, validate_event
from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.readiness import DependencyCheck
from cloudmart_common.settings import CommonSettings
from cloudmart_common.topology import DEAD_LETTERS, ConsumerGroup, DeadLetterHeaders
from cloudmart_common.tracing import context_from_kafka_headers

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

EVENTS_HANDLED = Counter(
    "kafka_events_handled_total", "Events consumed, by outcome", ["group", "topic", "outcome"]
)
CONSUMER_LAG = Gauge(
    "kafka_consumer_lag", "Records behind the partition end", ["group", "topic", "partition"]
)

# Longer than the longest topic retention (30 days): a redelivered event is always recognised.
DEDUPE_TTL_SECONDS = 31 * 24 * 3600
# While a handler runs, its claim blocks a concurrent duplicate; it lapses if the process dies.
CLAIM_TTL_SECONDS = 300
# The dedupe outcome of an event sent to the DLQ; a redrive may reopen only that one.
DEAD_LETTERED = "dead-lettered"
STOP_TIMEOUT_SECONDS = 10.0
COMMIT_INTERVAL_SECONDS = 1.0
# How long the broker holds a fetch that finds nothing new. It answers the moment an event
# arrives (fetch_min_bytes is 1), so this costs no latency; it only spaces the empty answers an
# idle consumer gets, each a broker request and a wake-up here (aiokafka's default: 500 ms).
FETCH_MAX_WAIT_MS = 5000


@dataclass(frozen=True)
class ConsumedEvent:
    topic: str
    partition: int
    offset: int
    key: str | None
    event: Mapping[str, Any]
    headers: Mapping[str, bytes]

    @property
    def event_id(self) -> str:
        return str(self.event["event_id"])

    @property
    def event_type(self) -> str:
        return str(self.event["event_type"])


Handler = Callable[[ConsumedEvent], Awaitable[None]]


class PoisonEvent(Exception):
    """A handler's verdict that an event can never be handled (an unknown type): DLQ at once."""


class DedupeStore:
    """Which event_ids a consumer group has handled, in Redis.

    A claim names its owner (this process). Kafka hands a partition to one consumer at a time,
    so an event redelivered to us under another owner's claim was left by an owner that died
    mid-handling: we take it over rather than lose it. Handlers must therefore make their side
    effects idempotent (the notifications service marks each send).
    """

    def __init__(self, redis: "Redis", group_id: str) -> None:
        self._redis = redis
        self._prefix = f"dedupe:{group_id}:"
        self._claim = f"claimed:{uuid.uuid4().hex}"

    async def claim(self, event_id: str, *, redriven: bool = False) -> bool:
        """True when this event was not handled yet and nobody alive is handling it.

        A `redriven` copy (replayed from the DLQ) is handled again when this group dead-lettered
        the event; a group that handled it skips the copy like any duplicate.
        """
        key = self._prefix + event_id
        if await self._redis.set(key, self._claim, nx=True, ex=CLAIM_TTL_SECONDS):
            return True
        current = await self._redis.get(key)
        value = current.decode() if isinstance(current, bytes) else current
        taken_over = value is not None and value.startswith("claimed:") and value != self._claim
        if taken_over or (redriven and value == DEAD_LETTERED):
            await self._redis.set(key, self._claim, ex=CLAIM_TTL_SECONDS)
            return True
        return False

    async def done(self, event_id: str, outcome: str) -> None:
        await self._redis.set(self._prefix + event_id, outcome, ex=DEDUPE_TTL_SECONDS)

    async def release(self, event_id: str) -> None:
        await self._redis.delete(self._prefix + event_id)


class EventConsumer:
    """Consume the topics of `group` as that group, calling `handler` for each new event.

    Offsets are committed only after an event was handled, dead-lettered or recognised as a
    duplicate, so a crash means redelivery, and the dedupe store turns redelivery into a no-op.
    """

    def __init__(
        self,
        settings: CommonSettings,
        *,
        group: ConsumerGroup,
        handler: Handler,
        dedupe: DedupeStore,
        dlq_producer: EventProducer,
        dlq_topic: str = DEAD_LETTERS.name,
        max_attempts: int = 5,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        stalled: Callable[[], bool] | None = None,
        ignored: frozenset[str] = frozenset(),
        already_handled: Callable[[bytes | None, bytes | None], bool] | None = None,
        max_poll_records: int = 100,
    ) -> None:
        self._settings = settings
        # Records per poll: a slow handler (an email each) with a small batch commits sooner and,
        # after a rebalance, hands fewer half-done records to the next owner.
        self._max_poll_records = max_poll_records
        # Event types the handler does nothing with, told by the record's `event_type` header:
        # passed over before parsing, validation and the two dedupe round trips.
        self._ignored = frozenset(name.encode() for name in ignored)
        # (event_type header, key) of a record whose handling would change nothing, such as
        # an outcome this very process applied already: passed over the same way.
        self._already_handled = already_handled
        self._topics = list(group.topics)
        self._group_id = group.group_id
        self._handler = handler
        self._dedupe = dedupe
        self._dlq = dlq_producer
        self._dlq_topic = dlq_topic
        self._max_attempts = max_attempts
        self._wait = wait_exponential_jitter(
            multiplier=retry_initial_seconds, max=retry_max_seconds, jitter=retry_initial_seconds
        )
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._lag: dict[str, int] = {}
        self._stalled = stalled

    @property
    def assignment(self) -> set[TopicPartition]:
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"consumer-{self._group_id}")

    @property
    def max_poll_records(self) -> int:
        return self._max_poll_records

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            # Leaving the group can stall on a broker that is going away: do not hang shutdown.
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(self._task, STOP_TIMEOUT_SECONDS)
            self._task = None

    async def run(self) -> None:
        """Forever: (re)connect, then consume; a broker outage pauses it, never ends it."""
        while True:
            consumer = AIOKafkaConsumer(
                *self._topics,
                **KafkaConnection.of(self._settings).options(),
                group_id=self._group_id,
                client_id=f"{self._settings.service_name}-{self._group_id}",
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                isolation_level="read_committed",
                fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
                max_poll_records=self._max_poll_records,
            )
            try:
                await consumer.start()
                self._consumer = consumer
                await self._consume(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("consumer %s paused: %s: %s", self._group_id, type(exc).__name__, exc)
                await asyncio.sleep(1.0)
            finally:
                self._consumer = None
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), STOP_TIMEOUT_SECONDS)

    async def _consume(self, consumer: AIOKafkaConsumer) -> None:
        # Offsets after records handled, not committed yet. A commit per record was a broker
        # round trip (and a write to the offsets log) per event: under a stream of events they
        # are committed at most every COMMIT_INTERVAL_SECONDS, and at once when the stream
        # pauses. A crash in between redelivers records already handled: the dedupe store
        # skips them.
        handled: dict[TopicPartition, int] = {}
        committed_at = float("-inf")
        while True:
            self._pause_while_stalled(consumer)
            batches = await consumer.getmany(timeout_ms=1000, max_records=self._max_poll_records)
            for partition, records in batches.items():
                for record in records:
                    if self._stalled_now():
                        # Mid-batch: the rest is fetched again once the stall ends.
                        consumer.seek(partition, record.offset)
                        break
                    await self._process(record)
                    handled[partition] = record.offset + 1
                    if time.monotonic() - committed_at >= COMMIT_INTERVAL_SECONDS:
                        await _commit(consumer, handled)
                        handled, committed_at = {}, time.monotonic()
            if handled and not batches:
                await _commit(consumer, handled)
                handled, committed_at = {}, time.monotonic()
            await self._record_lag(consumer)

    def _stalled_now(self) -> bool:
        return self._stalled is not None and self._stalled()

    def _pause_while_stalled(self, consumer: AIOKafkaConsumer) -> None:
        # Paused rather than not polling: the member keeps its partitions and heartbeats, so
        # no rebalance hides the stall, and the lag grows where the dashboards look for it.
        # Every poll, since a rebalance hands out partitions unpaused.
        if self._stalled_now():
            consumer.pause(*consumer.assignment())
        elif paused := consumer.paused():
            consumer.resume(*paused)
            log.info("consumer %s resumed %d partition(s)", self._group_id, len(paused))

    async def _record_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = {}
        for partition in consumer.assignment():
            end = consumer.highwater(partition)  # None until the first fetch answered
            if end is not None:
                behind = max(end - await consumer.position(partition), 0)
                lag[partition.topic] = lag.get(partition.topic, 0) + behind
                CONSUMER_LAG.labels(self._group_id, partition.topic, str(partition.partition)).set(
                    behind
                )
        self._lag = lag

    def check(self, *, critical: bool = False) -> DependencyCheck:
        """Readiness of the consumer itself: partitions assigned, and how far behind it is."""

        async def probe() -> dict[str, Any]:
            assigned = sorted(f"{p.topic}-{p.partition}" for p in self.assignment)
            if self._task is None or self._task.done():
                raise RuntimeError("the consumer is not running")
            if not assigned:
                raise RuntimeError("no partitions assigned (joining the group, or broker away)")
            return {"group": self._group_id, "partitions": assigned, "lag": dict(self._lag)}

        return DependencyCheck("consumer", probe, critical)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        headers = {name: value for name, value in (record.headers or ())}
        event_type = headers.get("event_type")
        if event_type in self._ignored:
            EVENTS_HANDLED.labels(self._group_id, record.topic, "ignored").inc()
            return
        if self._already_handled is not None and self._already_handled(event_type, record.key):
            EVENTS_HANDLED.labels(self._group_id, record.topic, "already_handled").inc()
            return
        try:
            event = validate_event(json.loads(record.value or b""))
        except (ValueError, InvalidEvent) as exc:
            # Poison: retrying cannot fix malformed bytes or a schema violation.
            await self._dead_letter(record, f"malformed: {exc}", attempts=0)
            return
        consumed = ConsumedEvent(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key.decode() if record.key is not None else None,
            event=event,
            headers=headers,
        )
        redriven = DeadLetterHeaders.REPLAY_COUNT in headers
        if not await self._dedupe.claim(consumed.event_id, redriven=redriven):
            EVENTS_HANDLED.labels(self._group_id, record.topic, "duplicate").inc()
            return
        context = context_from_kafka_headers(list(headers.items()))
        with tracer.start_as_current_span(
            f"consume {record.topic}", context=context, kind=trace.SpanKind.CONSUMER
        ):
            await self._handle_with_retries(record, consumed)

    async def _handle_with_retries(
        self, record: ConsumerRecord[bytes, bytes], consumed: ConsumedEvent
    ) -> None:
        attempts = 0
        try:
            async for attempt in AsyncRetrying(
                stop=stop_after_attempt(self._max_attempts),
                wait=self._wait,
                retry=retry_if_exception(_worth_retrying),
                reraise=True,
            ):
                with attempt:
                    attempts += 1
                    await self._handler(consumed)
        except asyncio.CancelledError:
            await self._dedupe.release(consumed.event_id)  # let the next owner handle it
            raise
        except PoisonEvent as exc:
            await self._dead_letter(record, f"poison: {exc}", attempts=attempts)
            await self._dedupe.done(consumed.event_id, DEAD_LETTERED)
            return
        except Exception as exc:
            await self._dead_letter(record, f"{type(exc).__name__}: {exc}", attempts=attempts)
            await self._dedupe.done(consumed.event_id, DEAD_LETTERED)
            return
        await self._dedupe.done(consumed.event_id, "handled")
        EVENTS_HANDLED.labels(self._group_id, record.topic, "handled").inc()

    async def _dead_letter(
        self, record: ConsumerRecord[bytes, bytes], error: str, *, attempts: int
    ) -> None:
        headers = [
            *(record.headers or ()),
            (DeadLetterHeaders.ERROR, error[:1000].encode()),
            (DeadLetterHeaders.ORIGINAL_TOPIC, record.topic.encode()),
            (DeadLetterHeaders.ORIGINAL_PARTITION, str(record.partition).encode()),
            (DeadLetterHeaders.ORIGINAL_OFFSET, str(record.offset).encode()),
            (DeadLetterHeaders.ATTEMPTS, str(attempts).encode()),
            (DeadLetterHeaders.CONSUMER_GROUP, self._group_id.encode()),
        ]
        key = record.key.decode() if record.key is not None else None
        future = await self._dlq.enqueue(self._dlq_topic, key, record.value or b"", headers)
        await asyncio.wait_for(future, self._dlq.delivery_timeout)
        EVENTS_HANDLED.labels(self._group_id, record.topic, "dead_lettered").inc()
        log.error("event sent to %s: %s", self._dlq_topic, error)


async def _commit(consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
    # A partition a rebalance took away meanwhile is not ours to commit: its new owner gets
    # those records again and the dedupe store skips them.
    assigned = consumer.assignment()
    mine = {partition: offset for partition, offset in offsets.items() if partition in assigned}
    if mine:
        await consumer.commit(mine)


def _worth_retrying(exc: BaseException) -> bool:
    # Not BaseException: a cancelled consumer must stop, not try the handler again.
    return isinstance(exc, Exception) and not isinstance(exc, PoisonEvent)
