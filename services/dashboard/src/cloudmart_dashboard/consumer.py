"""The `analytics-results` topic as the dashboard reads it: every result kept in Redis."""

from redis.asyncio import Redis

from cloudmart_common.kafka_consumer import ConsumedEvent, DedupeStore, EventConsumer
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.topology import DASHBOARD_GROUP
from cloudmart_dashboard.repository import ResultStore
from cloudmart_dashboard.settings import Settings


def results_consumer(
    settings: Settings, results: ResultStore, redis: Redis, dlq_producer: EventProducer
) -> EventConsumer:
    async def keep(consumed: ConsumedEvent) -> None:
        await results.add(dict(consumed.event))

    return EventConsumer(
        settings,
        group=DASHBOARD_GROUP,
        handler=keep,
        dedupe=DedupeStore(redis, DASHBOARD_GROUP.group_id),
        dlq_producer=dlq_producer,
    )
