"""Reading `notifications-dlq` from Kafka: pages of records, one record by id."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.topology import DEAD_LETTERS
from cloudmart_notifications.redrive.errors import DlqUnavailable
from cloudmart_notifications.redrive.records import DeadLetter, dead_letter

log = logging.getLogger(__name__)
T = TypeVar("T")

KAFKA_READ_SECONDS = 10.0


class DlqReader:
    """Reads records of the DLQ by position: no consumer group, so reading commits nothing
    and moves no one's offsets. One client, one request at a time (a seek is per client)."""

    def __init__(self, connection: KafkaConnection, topic: str = DEAD_LETTERS.name) -> None:
        self._connection = connection
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
                **self._connection.options(),
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
        admin = AIOKafkaAdminClient(**self._connection.options())
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
                return [dead_letter(r) for r in records[:max_records]]
        return []
