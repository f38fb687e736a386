"""Composition root of the dashboard service: clients opened in the lifespan, routes mounted."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.readiness import DependencyCheck, kafka_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_dashboard.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        try:
            # Results are served from Redis; without Kafka they only stop getting fresher.
            yield [
                redis_check(redis),
                kafka_check(settings.kafka_bootstrap_servers, critical=False),
            ]
        finally:
            await redis.aclose()

    return create_service_app(
        title="CloudMart dashboard service", settings=settings, resources=resources
    )
