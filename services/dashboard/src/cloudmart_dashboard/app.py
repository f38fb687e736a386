"""Composition root of the dashboard service: the results consumer, Redis, routes."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.readiness import DependencyCheck, kafka_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_dashboard.api import router
from cloudmart_dashboard.consumer import results_consumer
from cloudmart_dashboard.repository import ResultStore
from cloudmart_dashboard.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        dlq_producer = EventProducer(settings)
        app.state.redis = redis
        app.state.results = ResultStore(redis, settings.windows_kept)

        consumer = results_consumer(settings, app.state.results, redis, dlq_producer)
        consumer.start()
        try:
            # Results are served from Redis; without Kafka they only stop getting fresher.
            yield [
                redis_check(redis),
                kafka_check(KafkaConnection.of(settings), critical=False),
                consumer.check(),
            ]
        finally:
            await consumer.stop()
            await dlq_producer.stop()
            await redis.aclose()

    return create_service_app(
        title="CloudMart dashboard service",
        settings=settings,
        resources=resources,
        routers=[router],
    )
