"""How many records the dead-letter topic holds: the `notifications_dlq_messages` gauge."""

import contextlib

from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge

from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.topology import DEAD_LETTERS

DLQ_MEASURE_SECONDS = 15.0

DLQ_MESSAGES = Gauge("notifications_dlq_messages", "Records kept in the dead-letter topic")


class DlqSize:
    """Measured from the topic's offsets (end - beginning): retention, not reading, empties it."""

    def __init__(self, connection: KafkaConnection, topic: str = DEAD_LETTERS.name) -> None:
        self._connection = connection
        self._topic = topic
        self._consumer: AIOKafkaConsumer | None = None

    async def measure(self) -> int:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(  # no group: reads offsets only, joins nothing
                **self._connection.options(), enable_auto_commit=False
            )
            await consumer.start()
            self._consumer = consumer
        try:
            partitions = [
                TopicPartition(self._topic, p)
                for p in self._consumer.partitions_for_topic(self._topic) or ()
            ] or [TopicPartition(self._topic, 0)]
            first = await self._consumer.beginning_offsets(partitions)
            end = await self._consumer.end_offsets(partitions)
        except Exception:
            await self.close()  # a fresh client next round, after a broker restart
            raise
        DLQ_MESSAGES.set(sum(end[p] - first[p] for p in partitions))
        return 0

    async def close(self) -> None:
        if self._consumer is not None:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            self._consumer = None
