"""The Kafka producer every service uses: acks=all, idempotent, JSON values, bounded delivery."""

import asyncio
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import InvalidProducerEpoch, OutOfOrderSequenceNumber, UnknownProducerId
from aiokafka.structs import RecordMetadata

from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.settings import CommonSettings

log = logging.getLogger(__name__)

Headers = Sequence[tuple[str, bytes]]

# After these the idempotent producer can never deliver again: a batch it gave up on (a broker
# restart outlasting its request timeout) left a gap in its sequence numbers, which the broker
# refuses for good. Only a new producer, with a new producer id, gets through.
_FATAL_FOR_PRODUCER = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)


def encode_value(event: Mapping[str, Any]) -> bytes:
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


class EventProducer:
    """Wraps AIOKafkaProducer with the settings architecture.md §6 asks for.

    The idempotent producer keeps per-partition order across its own retries, and `acks=all`
    means an acknowledged record survives the loss of the leader.
    """

    def __init__(self, settings: CommonSettings, *, client_id: str | None = None) -> None:
        self._settings = settings
        self._client_id = client_id or settings.service_name
        self._producer: AIOKafkaProducer | None = None  # made on first use, not at import

    def _new_producer(self) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **KafkaConnection.of(self._settings).options(),
            client_id=self._client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            request_timeout_ms=int(self._settings.kafka_delivery_timeout_seconds * 1000),
        )

    @property
    def delivery_timeout(self) -> float:
        return self._settings.kafka_delivery_timeout_seconds

    async def start(self) -> AIOKafkaProducer:
        """Connect; safe to call again after a failure (the broker may be down at boot)."""
        if self._producer is not None:
            return self._producer
        producer = self._new_producer()
        try:
            await asyncio.wait_for(producer.start(), self.delivery_timeout)
        except BaseException:
            # A producer whose start failed cannot be started again: the next call makes one.
            await producer.stop()
            raise
        self._producer = producer
        return producer

    async def stop(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def recover_from(self, error: BaseException) -> None:
        """After a failed delivery: drop a producer that `error` left unable to deliver."""
        if isinstance(error, _FATAL_FOR_PRODUCER) and self._producer is not None:
            log.warning("kafka producer replaced after %s", type(error).__name__)
            await self.stop()

    async def enqueue(
        self, topic: str, key: str | None, value: bytes, headers: Headers = ()
    ) -> "asyncio.Future[RecordMetadata]":
        """Hand a record to the producer; the returned future resolves when the broker acks."""
        producer = await self.start()
        future: asyncio.Future[RecordMetadata] = await asyncio.wait_for(
            producer.send(
                topic,
                value=value,
                key=key.encode() if key is not None else None,
                headers=list(headers),
            ),
            self.delivery_timeout,
        )
        return future

    async def send(
        self,
        topic: str,
        key: str | None,
        event: Mapping[str, Any],
        headers: Headers = (),
    ) -> RecordMetadata:
        """Publish one event and wait for the broker's ack (at most the delivery timeout)."""
        all_headers = [("event_type", str(event["event_type"]).encode()), *headers]
        future = await self.enqueue(topic, key, encode_value(event), all_headers)
        try:
            return await asyncio.wait_for(future, self.delivery_timeout)
        except Exception as exc:
            await self.recover_from(exc)
            raise
