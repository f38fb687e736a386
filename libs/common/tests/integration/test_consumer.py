"""The consumer runner: commits after handling, handles each event_id once, dead-letters."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from redis.asyncio import Redis

from cloudmart_common.events import new_event
from cloudmart_common.kafka_consumer import (
    ConsumedEvent,
    DedupeStore,
    EventConsumer,
    Handler,
    PoisonEvent,
)
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.settings import CommonSettings
from cloudmart_common.topology import ConsumerGroup

ReadTopic = Callable[[str], Awaitable[list[ConsumerRecord[bytes, bytes]]]]
MakeTopic = Callable[[int], Awaitable[str]]


async def _eventually(condition: Callable[[], bool], what: str, within: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def _consuming(
    settings: CommonSettings,
    redis: Redis,
    topic: str,
    dlq: str,
    handler: Handler,
    *,
    group: str,
    max_attempts: int = 3,
    stalled: Callable[[], bool] | None = None,
    ignored: frozenset[str] = frozenset(),
    already_handled: Callable[[bytes | None, bytes | None], bool] | None = None,
) -> AsyncIterator[EventConsumer]:
    producer = EventProducer(settings)
    consumer = EventConsumer(
        settings,
        group=ConsumerGroup(group, (topic,)),
        handler=handler,
        dedupe=DedupeStore(redis, group),
        dlq_producer=producer,
        dlq_topic=dlq,
        max_attempts=max_attempts,
        retry_initial_seconds=0.05,
        retry_max_seconds=0.2,
        stalled=stalled,
        ignored=ignored,
        already_handled=already_handled,
    )
    consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()
        await producer.stop()


async def _produce(settings: CommonSettings, topic: str, *events: dict[str, object]) -> None:
    producer = EventProducer(settings)
    try:
        for event in events:
            await producer.send(topic, "k", event)
    finally:
        await producer.stop()


async def _committed(settings: CommonSettings, group: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap_servers, group_id=group)
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(topic, 0))
        return offset
    finally:
        await consumer.stop()


async def _until_committed(
    settings: CommonSettings, group: str, topic: str, offset: int, within: float = 10
) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while await _committed(settings, group, topic) != offset:
        assert asyncio.get_running_loop().time() < deadline, f"offset {offset} not committed"
        await asyncio.sleep(0.1)


async def test_offsets_are_committed_only_after_the_handler_finished(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    events = [new_event("widget_created", {"n": n}) for n in range(3)]
    await _produce(settings, topic, *events)
    release = asyncio.Event()
    handled: list[int] = []

    async def handler(consumed: ConsumedEvent) -> None:
        if consumed.event["n"] == 1 and not release.is_set():
            await release.wait()  # stuck in the middle of the second event
        handled.append(int(consumed.event["n"]))

    async with _consuming(settings, redis, topic, dlq, handler, group=group):
        await _eventually(lambda: handled == [0], "the first event")
        await asyncio.sleep(1)  # give a wrong implementation time to commit too early
        assert await _committed(settings, group, topic) == 1
    # The consumer died while handling event 1: a new one gets it again, not skipped.
    release.set()
    async with _consuming(settings, redis, topic, dlq, handler, group=group):
        await _eventually(lambda: handled == [0, 1, 2], "the rest after a restart")
        await _until_committed(settings, group, topic, 3)


async def test_a_redelivered_event_id_is_handled_once(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    event = new_event("widget_created", {"n": 1})
    later = new_event("widget_created", {"n": 2})
    await _produce(settings, topic, event, event, event, later)
    handled: list[str] = []

    async def handler(consumed: ConsumedEvent) -> None:
        handled.append(consumed.event_id)

    async with _consuming(settings, redis, topic, dlq, handler, group=group):
        await _eventually(lambda: len(handled) == 2, "both distinct events")
    assert handled == [event["event_id"], later["event_id"]]


async def test_ignored_event_types_are_passed_over_without_a_dedupe_claim(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    skipped = new_event("widget_deleted", {"n": 1})
    kept = new_event("widget_created", {"n": 2})
    await _produce(settings, topic, skipped, kept)
    handled: list[str] = []

    async def handler(consumed: ConsumedEvent) -> None:
        handled.append(consumed.event_id)

    consuming = _consuming(
        settings, redis, topic, dlq, handler, group=group, ignored=frozenset({"widget_deleted"})
    )
    async with consuming:
        await _eventually(lambda: handled == [kept["event_id"]], "the event not ignored")
        await _until_committed(settings, group, topic, 2)  # the ignored one is consumed
    assert await redis.exists(f"dedupe:{group}:{skipped['event_id']}") == 0
    assert await redis.exists(f"dedupe:{group}:{kept['event_id']}") == 1


async def test_records_already_handled_are_passed_over_by_type_and_key(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    done = new_event("widget_created", {"n": 1})
    todo = new_event("widget_created", {"n": 2})
    other_type = new_event("widget_deleted", {"n": 3})
    producer = EventProducer(settings)
    try:
        await producer.send(topic, "41", done)
        await producer.send(topic, "42", todo)
        await producer.send(topic, "41", other_type)
    finally:
        await producer.stop()
    handled: list[str] = []

    async def handler(consumed: ConsumedEvent) -> None:
        handled.append(consumed.event_id)

    def applied_here(event_type: bytes | None, key: bytes | None) -> bool:
        return event_type == b"widget_created" and key == b"41"

    consuming = _consuming(
        settings, redis, topic, dlq, handler, group=group, already_handled=applied_here
    )
    async with consuming:
        await _eventually(
            lambda: handled == [todo["event_id"], other_type["event_id"]], "the two others"
        )
        await _until_committed(settings, group, topic, 3)  # the one passed over is consumed
    assert await redis.exists(f"dedupe:{group}:{done['event_id']}") == 0


async def test_a_handler_failing_every_attempt_sends_the_event_to_the_dlq_and_moves_on(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic, read_topic: ReadTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    failing = new_event("widget_created", {"n": 1})
    fine = new_event("widget_created", {"n": 2})
    await _produce(settings, topic, failing, fine)
    attempts: list[int] = []
    handled: list[int] = []

    async def handler(consumed: ConsumedEvent) -> None:
        if consumed.event["n"] == 1:
            attempts.append(1)
            raise ConnectionError("SMTP relay down")
        handled.append(2)

    async with _consuming(settings, redis, topic, dlq, handler, group=group, max_attempts=4):
        await _eventually(lambda: handled == [2], "the next event")
    assert len(attempts) == 4
    [dead] = await read_topic(dlq)
    headers = dict(dead.headers)
    assert json.loads(dead.value or b"{}")["event_id"] == failing["event_id"]
    assert headers["dlq_error"] == b"ConnectionError: SMTP relay down"
    assert headers["dlq_attempts"] == b"4"
    assert headers["dlq_original_topic"] == topic.encode()


async def test_a_poison_message_goes_to_the_dlq_at_once(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic, read_topic: ReadTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    producer = EventProducer(settings)
    try:
        await (await producer.enqueue(topic, "k", b"{not json"))
        await (await producer.enqueue(topic, "k", json.dumps({"event_type": "x"}).encode()))
        await producer.send(topic, "k", new_event("widget_created", {"n": 3}))
    finally:
        await producer.stop()
    calls: list[int] = []

    async def handler(consumed: ConsumedEvent) -> None:
        calls.append(int(consumed.event["n"]))

    async with _consuming(settings, redis, topic, dlq, handler, group=group):
        await _eventually(lambda: calls == [3], "the valid event after the poison")
    dead = await read_topic(dlq)
    assert [record.value for record in dead] == [b"{not json", b'{"event_type": "x"}']
    assert all(dict(record.headers)["dlq_attempts"] == b"0" for record in dead)


async def test_a_handler_verdict_of_poison_skips_the_retries(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic, read_topic: ReadTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    await _produce(settings, topic, new_event("widget_exploded", {"n": 1}))
    calls: list[int] = []

    async def handler(consumed: ConsumedEvent) -> None:
        calls.append(1)
        raise PoisonEvent(f"no handler for {consumed.event_type}")

    async with _consuming(settings, redis, topic, dlq, handler, group=group, max_attempts=5):
        await _eventually(lambda: len(calls) == 1, "the one attempt")
        [dead] = await _dead_letters(read_topic, dlq)
    assert calls == [1]
    assert dict(dead.headers)["dlq_error"] == b"poison: no handler for widget_exploded"


async def _dead_letters(read_topic: ReadTopic, dlq: str) -> list[ConsumerRecord[bytes, bytes]]:
    deadline = asyncio.get_running_loop().time() + 10
    while not (records := await read_topic(dlq)):
        assert asyncio.get_running_loop().time() < deadline, "nothing reached the DLQ"
        await asyncio.sleep(0.1)
    return records


async def test_a_claim_left_by_a_dead_owner_is_taken_over_a_finished_event_is_not(
    redis: Redis,
) -> None:
    group = f"g-{uuid.uuid4().hex}"
    crashed, successor = DedupeStore(redis, group), DedupeStore(redis, group)
    event_id, finished = uuid.uuid4().hex, uuid.uuid4().hex

    assert await crashed.claim(event_id)  # ... and the process died before done()
    assert await crashed.claim(finished)
    await crashed.done(finished, "handled")

    assert await successor.claim(event_id)
    assert not await successor.claim(event_id)  # its own claim: a duplicate while it runs
    assert not await successor.claim(finished)


async def test_a_stalled_consumer_handles_nothing_until_the_stall_ends(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    handled: list[int] = []
    stall = True

    async def handler(consumed: ConsumedEvent) -> None:
        handled.append(int(consumed.event["n"]))

    async with _consuming(
        settings, redis, topic, dlq, handler, group=group, stalled=lambda: stall
    ) as consumer:
        await _eventually(lambda: bool(consumer.assignment), "the partition assigned")
        # A poll that began before the assignment pauses nothing; the next one (<= 1 s) does.
        await asyncio.sleep(1.5)
        await _produce(settings, topic, *(new_event("widget_created", {"n": n}) for n in range(3)))
        await asyncio.sleep(3)  # a running consumer handles these in well under a second
        assert handled == []
        assert await _committed(settings, group, topic) is None
        stall = False
        await _eventually(lambda: handled == [0, 1, 2], "the events once the stall ended")


async def test_a_stall_that_starts_mid_batch_leaves_the_rest_for_later(
    settings: CommonSettings, redis: Redis, make_topic: MakeTopic
) -> None:
    topic, dlq, group = await make_topic(1), await make_topic(1), f"g-{uuid.uuid4().hex}"
    await _produce(settings, topic, *(new_event("widget_created", {"n": n}) for n in range(4)))
    handled: list[int] = []
    stall = False

    async def handler(consumed: ConsumedEvent) -> None:
        nonlocal stall
        handled.append(int(consumed.event["n"]))
        if consumed.event["n"] == 0:
            stall = True  # the flag arrives while the first event of the batch is handled

    async with _consuming(settings, redis, topic, dlq, handler, group=group, stalled=lambda: stall):
        await _eventually(lambda: handled == [0], "the first event")
        await asyncio.sleep(2)  # the rest of the batch was fetched with it: it must wait
        assert handled == [0]
        assert await _committed(settings, group, topic) == 1
        stall = False
        await _eventually(lambda: len(handled) >= 4, "the rest once the stall ended")
        await asyncio.sleep(1)  # anything handled twice would show by now
    assert handled == [0, 1, 2, 3]
