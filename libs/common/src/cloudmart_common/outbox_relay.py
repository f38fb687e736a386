"""The outbox relay: publishes committed outbox rows to Kafka in order, marking them once acked."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from opentelemetry import trace
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cloudmart_common.db import session_factory
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


class OutboxRelay:
    """Run `start()` in a service's lifespan; `wake()` after a commit to publish at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        producer: EventProducer,
        settings: CommonSettings,
        *,
        lock_id: int = RELAY_LOCK_ID,
        single_statements: bool = False,
    ) -> None:
        # A pass is a read of pending rows, then one UPDATE marking those acked, and the
        # leader's probe is one SELECT: with `single_statements` none gets a BEGIN/COMMIT of
        # its own, two round trips each per pass (db.py says when not to).
        self._engine = (
            engine.execution_options(isolation_level="AUTOCOMMIT") if single_statements else engine
        )
        self._lock_id = lock_id
        self._sessions = session_factory(self._engine)
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
        async with self._engine.connect() as lock:
            locked = await lock.scalar(select(func.pg_try_advisory_lock(self._lock_id)))
            await lock.commit()
            if not locked:
                await asyncio.sleep(self._settings.outbox_poll_interval_seconds)
                return
            OUTBOX_LEADER.set(1)
            try:
                passes = 0
                while True:
                    # The lock lives in this session: if it died, so did the leadership.
                    await lock.execute(text("SELECT 1"))
                    # Ended at once: left open, the probe's transaction would stay "idle in
                    # transaction" for the leader's lifetime and hold back vacuum of the outbox.
                    # The advisory lock belongs to the session, not the transaction.
                    await lock.commit()
                    published = await self.publish_pending()
                    passes += 1
                    if passes % 1000 == 1:
                        await self._delete_old()
                    if published < self._settings.outbox_batch_size:
                        await self._idle()
            finally:
                OUTBOX_LEADER.set(0)
                with contextlib.suppress(Exception):
                    await lock.execute(select(func.pg_advisory_unlock(self._lock_id)))

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._settings.outbox_poll_interval_seconds)
        self._wake.clear()

    async def publish_pending(self) -> int:
        """One pass: publish up to a batch of pending rows; return how many were marked sent."""
        async with self._sessions() as session, session.begin():
            rows = (
                await session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.published_at.is_(None))
                    .order_by(OutboxRow.id)
                    .limit(self._settings.outbox_batch_size)
                )
            ).all()
            if not rows:
                return 0
            acked = await self._send(rows)
            await self._mark_published(session, [row.id for row in acked])
        for row in acked:
            OUTBOX_PUBLISHED.labels(row.topic).inc()
        return len(acked)

    async def _send(self, rows: Sequence[OutboxRow]) -> list[OutboxRow]:
        """Send in id order; return the rows acked, stopping each aggregate at its first failure."""
        futures: list[asyncio.Future[object]] = []
        error: BaseException | None = None
        for row in rows:
            # The writer's trace goes on through a producer span; consumers continue from it.
            writer = context_from_kafka_headers(
                [(name, value.encode()) for name, value in row.headers.items()]
            )
            with tracer.start_as_current_span(
                f"publish {row.topic}",
                context=writer,
                kind=trace.SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": row.topic,
                    "messaging.kafka.message.key": row.message_key,
                    "cloudmart.event_type": row.event_type,
                },
            ):
                headers = [("event_type", row.event_type.encode()), *kafka_headers_with_trace()]
                try:
                    futures.append(
                        await self._producer.enqueue(
                            row.topic, row.message_key, encode_value(row.payload), headers
                        )
                    )
                except Exception as exc:
                    error = exc
                    break
        # No timeout of our own on the acks: a record we gave up on may still be delivered by the
        # producer's retries, and sending it again would duplicate it. The producer settles every
        # future itself, with an ack or with an error once its request timeout is spent.
        results = await asyncio.gather(*futures, return_exceptions=True)
        acked: list[OutboxRow] = []
        blocked: set[tuple[str, str]] = set()
        for row, result in zip(rows, results, strict=False):
            aggregate = (row.topic, row.message_key)
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

    @staticmethod
    async def _mark_published(session: AsyncSession, ids: list[int]) -> None:
        if ids:
            await session.execute(
                update(OutboxRow).where(OutboxRow.id.in_(ids)).values(published_at=func.now())
            )

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
        async with self._sessions() as session, session.begin():
            await session.execute(
                text(
                    "DELETE FROM outbox WHERE published_at < now() - CAST(:age AS interval)"
                ).bindparams(age=RETENTION)
            )


@asynccontextmanager
async def running_relay(
    engine: AsyncEngine, settings: CommonSettings
) -> AsyncIterator[OutboxRelay]:
    """Mount the relay in a service's lifespan; its `wake` is the unit of work's after_commit."""
    producer = EventProducer(settings)
    relay = OutboxRelay(engine, producer, settings, single_statements=True)
    relay.start()
    try:
        async with running_periodic(
            "outbox backlog", BACKLOG_INTERVAL_SECONDS, relay.measure_backlog
        ):
            yield relay
    finally:
        await relay.stop()
        await producer.stop()
