"""The outbox: events commit with business rows; the relay publishes each once, in order."""

import asyncio
import json
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from sqlalchemy import Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from cloudmart_common.db import session_factory
from cloudmart_common.events import new_event
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.outbox import OutboxMessage, OutboxRow
from cloudmart_common.outbox_relay import OutboxRelay
from cloudmart_common.settings import CommonSettings
from cloudmart_common.unit_of_work import UnitOfWork
from cloudmart_local import supervisor
from tests.stack_control import wait_healthy

ReadTopic = Callable[[str], Awaitable[list[ConsumerRecord[bytes, bytes]]]]
MakeTopic = Callable[[int], Awaitable[str]]


async def _count(engine: AsyncEngine, table: Any, **where: object) -> int:
    query = select(func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(getattr(table.c, column) == value)
    async with engine.connect() as connection:
        return int(await connection.scalar(query) or 0)


async def _write(
    engine: AsyncEngine, widgets: Table, topic: str, ids: Sequence[int], *, commit: bool = True
) -> list[str]:
    """One unit of work per widget: the row and its event. Returns the event ids."""
    sessions = session_factory(engine)
    event_ids = []
    for widget_id in ids:
        event = new_event("widget_created", {"widget_id": widget_id})
        async with UnitOfWork(sessions) as uow:
            await uow.session.execute(insert(widgets).values(id=widget_id, name=f"w{widget_id}"))
            uow.publish(OutboxMessage(topic, str(widget_id), event))
            if commit:
                await uow.commit()
        event_ids.append(str(event["event_id"]))
    return event_ids


def _ids() -> list[int]:
    start = random.randrange(1, 2**30)
    return list(range(start, start + 20))


def _event_ids(records: Sequence[ConsumerRecord[bytes, bytes]]) -> Counter[str]:
    return Counter(json.loads(record.value or b"{}")["event_id"] for record in records)


async def _drain(relay: OutboxRelay) -> None:
    while await relay.publish_pending():
        pass


async def test_the_event_row_commits_in_the_same_transaction_as_the_business_row(
    engine: AsyncEngine, widgets: Table, make_topic: MakeTopic
) -> None:
    topic = await make_topic(1)
    [widget_id] = _ids()[:1]
    [event_id] = await _write(engine, widgets, topic, [widget_id])
    assert await _count(engine, widgets, id=widget_id) == 1
    assert await _count(engine, OutboxRow.__table__, event_id=uuid.UUID(event_id)) == 1


async def test_a_rolled_back_transaction_writes_and_publishes_nothing(
    engine: AsyncEngine,
    widgets: Table,
    make_topic: MakeTopic,
    read_topic: ReadTopic,
    settings: CommonSettings,
) -> None:
    topic = await make_topic(1)
    ids = _ids()[:3]
    await _write(engine, widgets, topic, ids, commit=False)
    for widget_id in ids:
        assert await _count(engine, widgets, id=widget_id) == 0
    producer = EventProducer(settings)
    try:
        await _drain(OutboxRelay(engine, producer, settings, lock_id=random.getrandbits(31)))
    finally:
        await producer.stop()
    assert await read_topic(topic) == []


async def test_the_relay_publishes_every_event_once_and_keeps_each_aggregates_order(
    engine: AsyncEngine, make_topic: MakeTopic, read_topic: ReadTopic, settings: CommonSettings
) -> None:
    topic = await make_topic(3)
    sessions = session_factory(engine)
    aggregates = [str(uuid.uuid4()) for _ in range(5)]
    written: dict[str, list[str]] = defaultdict(list)
    for sequence in range(12):  # interleaved: a0 a1 a2 a3 a4 a0 a1 ...
        for aggregate in aggregates:
            event = new_event("widget_updated", {"aggregate": aggregate, "sequence": sequence})
            async with UnitOfWork(sessions) as uow:
                uow.publish(OutboxMessage(topic, aggregate, event))
                await uow.commit()
            written[aggregate].append(str(event["event_id"]))

    producer = EventProducer(settings)
    try:
        await _drain(OutboxRelay(engine, producer, settings, lock_id=random.getrandbits(31)))
    finally:
        await producer.stop()

    records = await read_topic(topic)
    assert set(_event_ids(records).values()) == {1}
    assert len(records) == 60
    seen: dict[str, list[str]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        assert record.key is not None
        seen[record.key.decode()].append(json.loads(record.value or b"{}")["event_id"])
        assert dict(record.headers)["event_type"] == b"widget_updated"
    assert seen == written


async def test_a_producer_whose_sequence_the_broker_refuses_is_replaced(
    engine: AsyncEngine,
    widgets: Table,
    make_topic: MakeTopic,
    read_topic: ReadTopic,
    settings: CommonSettings,
) -> None:
    """A batch given up on during a broker restart leaves a gap in the idempotent producer's
    sequence numbers; the broker then refuses everything it sends (OutOfOrderSequenceNumber).
    Seen stuck for good before: the relay must make a new producer and deliver."""
    topic = await make_topic(1)
    first, *rest = _ids()
    producer = EventProducer(settings)
    relay = OutboxRelay(engine, producer, settings, lock_id=random.getrandbits(31))
    try:
        await _write(engine, widgets, topic, [first])
        await _drain(relay)
        stuck = await producer.start()
        # The gap a lost batch leaves, made directly: the next sequence number skips one.
        stuck._txn_manager.increment_sequence_number(TopicPartition(topic, 0), 1)
        event_ids = await _write(engine, widgets, topic, rest)
        assert await relay.publish_pending() == 0  # refused: nothing marked published
        assert await producer.start() is not stuck  # replaced
        await _drain(relay)
    finally:
        await producer.stop()
    published = _event_ids(await read_topic(topic))
    assert all(published[event_id] == 1 for event_id in event_ids)
    assert await _count(engine, OutboxRow.__table__, published_at=None) == 0


async def test_events_written_while_kafka_is_down_are_published_once_when_it_returns(
    engine: AsyncEngine,
    widgets: Table,
    make_topic: MakeTopic,
    read_topic: ReadTopic,
    settings: CommonSettings,
) -> None:
    topic = await make_topic(3)
    producer = EventProducer(settings)
    relay = OutboxRelay(engine, producer, settings, lock_id=random.getrandbits(31))
    relay.start()
    try:
        before = await _write(engine, widgets, topic, _ids()[:5])
        supervisor.stop("kafka")
        try:
            during = await _write(engine, widgets, topic, _ids())
            await asyncio.sleep(30)  # the outage itself: the relay keeps trying meanwhile
            pending = await _count(engine, OutboxRow.__table__, published_at=None)
            assert pending >= len(during)
        finally:
            supervisor.start("kafka")
            await asyncio.to_thread(wait_healthy, "kafka")
        deadline = asyncio.get_running_loop().time() + 60
        while await _count(engine, OutboxRow.__table__, published_at=None):
            assert asyncio.get_running_loop().time() < deadline, "outbox not drained"
            await asyncio.sleep(0.2)
    finally:
        await relay.stop()
        await producer.stop()
    published = _event_ids(await read_topic(topic))
    assert {event_id: published[event_id] for event_id in before + during} == {
        event_id: 1 for event_id in before + during
    }
