"""The outbox relay: publishes committed outbox rows to Kafka in order, marking them once acked."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from opentelemetry import trace
from prometheus_client import Counter, Gauge
from sqlalchemy import ARRAY, BigInteger, any_, bindparam, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmart_common.db import Database, DriverConnection, Statement
from cloudmart_common.kafka_producer import EventProducer, encode_value
from cloudmart_common.outbox import OutboxRow
from cloudmart_common.periodic import running_periodic
from cloudmart_common.settings import CommonSettings
from cloudmart_common.tracing import context_from_kafka_headers, kafka_headers_with_trace

tracer = trace.get_tracer(__name__)

log = logging.getLogger(__name__)

OUTBOX_PUBLISHED = Counter("outbox_published_total", "Outbox events published", ["topic"])
OUTBOX_FAILURES = Counter("outbox_publish_failures_total", "Outbox publish attempts that failed")
OUTBOX_LEADER = Gauge("outbox_relay_leader", "1 while this process is the publishing relay")
OUTBOX_BACKLOG = Gauge("outbox_backlog", "Committed events not yet published")
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unsent_age_seconds", "Age of the oldest unpublished event (0: none)"
)
BACKLOG_INTERVAL_SECONDS = 5.0

# One relay per database publishes (pg advisory lock): two would interleave one aggregate's events.
RELAY_LOCK_ID = 0x0C10_0D0B
RETENTION = "7 days"  # published rows are kept this long for inspection, then deleted

_TRY_LOCK = Statement(select(func.pg_try_advisory_lock(bindparam("lock_id", type_=BigInteger))))
_UNLOCK = Statement(select(func.pg_advisory_unlock(bindparam("lock_id", type_=BigInteger))))
_PENDING = Statement(
    select(
        OutboxRow.id,
        OutboxRow.topic,
        OutboxRow.message_key,
        OutboxRow.event_type,
        OutboxRow.payload,
        OutboxRow.headers,
    )
    .where(OutboxRow.published_at.is_(None))
    .order_by(OutboxRow.id)
    .limit(bindparam("limit"))
)
_MARK_PUBLISHED = Statement(
    update(OutboxRow)
    .where(OutboxRow.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
    .values(published_at=func.now())
)
_DELETE_OLD = Statement(
    text("DELETE FROM outbox WHERE published_at < now() - CAST(:age AS interval)").bindparams(
        age=RETENTION
    )
)


class OutboxRelay:
    """Run `start()` in a service's lifespan; `wake()` after a commit to publish at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: EventProducer,
        settings: CommonSettings,
        *,
        lock_id: int = RELAY_LOCK_ID,
    ) -> None:
        # A pass is a read of pending rows, then one UPDATE marking those acked, on the lock's
        # own session: each one statement on the driver (db.Database), none needing a
        # transaction, since the advisory lock makes this the only writer of `published_at`.
        self._engine = engine
        self._database = Database(engine)
        self._lock_id = lock_id
        self._producer = producer
        self._settings = settings
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def run(self) -> None:
        """Forever: become the leader, then publish whatever is pending; back off on failures."""
        backoff = self._settings.outbox_poll_interval_seconds
        while True:
            try:
                await self._lead()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # database or broker down: retry, never die
                OUTBOX_LEADER.set(0)
                OUTBOX_FAILURES.inc()
                log.warning("outbox relay paused: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    async def _lead(self) -> None:
        async with self._database.connection() as lock:
            locked = await lock.fetchval(_TRY_LOCK, {"lock_id": self._lock_id})
            if not locked:
                await asyncio.sleep(self._settings.outbox_poll_interval_seconds)
                return
            OUTBOX_LEADER.set(1)
            try:
                passes = 0
                while True:
                    # On the lock's own session: if it died, so did the leadership, and this
                    # fails before anything is sent. (Each statement commits on its own: an
                    # open transaction would hold back vacuum of the outbox.)
                    published = await self.publish_pending(lock)
                    passes += 1
                    if passes % 1000 == 1:
                        await self._delete_old()
                    if published < self._settings.outbox_batch_size:
                        await self._idle()
            finally:
                OUTBOX_LEADER.set(0)
                with contextlib.suppress(Exception):
                    await lock.fetchval(_UNLOCK, {"lock_id": self._lock_id})

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._settings.outbox_poll_interval_seconds)
        self._wake.clear()

    async def publish_pending(self, connection: DriverConnection | None = None) -> int:
        """One pass: publish up to a batch of pending rows; return how many were marked sent."""
        if connection is None:
            async with self._database.connection() as connection:
                return await self.publish_pending(connection)
        rows = await connection.fetch(_PENDING, {"limit": self._settings.outbox_batch_size})
        if not rows:
            return 0
        acked = await self._send(rows)
        if acked:
            await connection.fetch(_MARK_PUBLISHED, {"ids": [row["id"] for row in acked]})
        for row in acked:
            OUTBOX_PUBLISHED.labels(row["topic"]).inc()
        return len(acked)

    async def _send(self, rows: Sequence[Any]) -> list[Any]:
        """Send in id order; return the rows acked, stopping each aggregate at its first failure."""
        futures: list[asyncio.Future[object]] = []
        error: BaseException | None = None
        for row in rows:
            # The writer's trace goes on through a producer span; consumers continue from it.
            writer = context_from_kafka_headers(
                [(name, value.encode()) for name, value in row["headers"].items()]
            )
            with tracer.start_as_current_span(
                f"publish {row['topic']}",
                context=writer,
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": row["topic"],
                    "messaging.kafka.message.key": row["message_key"],
                    "cloudmart.event_type": row["event_type"],
                },
            ):
                headers = [("event_type", row["event_type"].encode()), *kafka_headers_with_trace()]
                try:
                    futures.append(
                        await self._producer.enqueue(
                            row["topic"], row["message_key"], encode_value(row["payload"]), headers
                        )
                    )
                except Exception as exc:
                    error = exc
                    break
        # No timeout of our own on the acks: a record we gave up on may still be delivered by the
        # producer's retries, and sending it again would duplicate it. The producer settles every
        # future itself, with an ack or with an error once its request timeout is spent.
        results = await asyncio.gather(*futures, return_exceptions=True)
        acked: list[Any] = []
        blocked: set[tuple[str, str]] = set()
        for row, result in zip(rows, results, strict=False):
            aggregate = (row["topic"], row["message_key"])
            if isinstance(result, BaseException) or aggregate in blocked:
                # Later events of this aggregate wait, so consumers never see them out of order.
                blocked.add(aggregate)
                error = error or (result if isinstance(result, BaseException) else None)
                continue
            acked.append(row)
        if error is not None:
            OUTBOX_FAILURES.inc()
            log.warning(
                "outbox: %d of %d events not acked: %s", len(rows) - len(acked), len(rows), error
            )
            await self._producer.recover_from(error)  # the next pass sends them again
        return acked

    async def measure_backlog(self) -> int:
        """Set the backlog gauges; every replica measures, leader or not (alerts take the max)."""
        async with self._engine.connect() as connection:
            count, age = (
                await connection.execute(
                    text(
                        "SELECT count(*), COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)"
                        " FROM outbox WHERE published_at IS NULL"
                    )
                )
            ).one()
        OUTBOX_BACKLOG.set(count)
        OUTBOX_OLDEST_AGE.set(float(age))
        return 0

    async def _delete_old(self) -> None:
        await self._database.fetch(_DELETE_OLD)


@asynccontextmanager
async def running_relay(
    engine: AsyncEngine, settings: CommonSettings
) -> AsyncIterator[OutboxRelay]:
    """Mount the relay in a service's lifespan; its `wake` is the unit of work's after_commit."""
    producer = EventProducer(settings)
    relay = OutboxRelay(engine, producer, settings)
    relay.start()
    try:
        async with running_periodic(
            "outbox backlog", BACKLOG_INTERVAL_SECONDS, relay.measure_backlog
        ):
            yield relay
    finally:
        await relay.stop()
        await producer.stop()
