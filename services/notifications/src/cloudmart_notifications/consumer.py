"""The topics the notifications service reads (orders, payments, users, products) as one
consumer: each event to its notification, retried with backoff, then dead-lettered."""

from redis.asyncio import Redis

from cloudmart_common.fault_flags import FaultFlags
from cloudmart_common.kafka_consumer import DedupeStore, EventConsumer
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.topology import NOTIFICATIONS_GROUP
from cloudmart_notifications.service import SILENT_EVENTS, Notifier
from cloudmart_notifications.settings import Settings


def events_consumer(
    settings: Settings,
    notifier: Notifier,
    redis: Redis,
    dlq_producer: EventProducer,
    faults: FaultFlags,
) -> EventConsumer:
    return EventConsumer(
        settings,
        group=NOTIFICATIONS_GROUP,
        handler=notifier.handle,
        dedupe=DedupeStore(redis, NOTIFICATIONS_GROUP.group_id),
        dlq_producer=dlq_producer,
        max_attempts=settings.consumer_max_attempts,
        retry_initial_seconds=settings.consumer_retry_initial_seconds,
        retry_max_seconds=settings.consumer_retry_max_seconds,
        stalled=faults.stalls_consumer,
        ignored=SILENT_EVENTS,
        max_poll_records=settings.consumer_max_poll_records,
    )
