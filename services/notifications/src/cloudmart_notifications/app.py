"""Composition root of the notifications service: clients opened in the lifespan."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.readiness import DependencyCheck, kafka_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_notifications.settings import Settings
from cloudmart_notifications.smtp import smtp_check


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        try:
            # A consumer without its broker or its dedupe store cannot do its job.
            yield [
                kafka_check(settings.kafka_bootstrap_servers),
                redis_check(redis),
                smtp_check(settings),
            ]
        finally:
            await redis.aclose()

    return create_service_app(
        title="CloudMart notifications service", settings=settings, resources=resources
    )
