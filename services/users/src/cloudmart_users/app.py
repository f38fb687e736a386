"""Composition root of the users service: pools opened in the lifespan, routes mounted."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.outbox_relay import running_relay
from cloudmart_common.readiness import DependencyCheck, postgres_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_database_engine, create_redis
from cloudmart_users.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        engine = create_database_engine(settings)
        redis = create_redis(settings)
        try:
            # Sessions live in Redis: without it nobody can log in, so both are critical.
            async with running_relay(engine, settings) as relay:
                app.state.outbox_relay = relay
                yield [postgres_check(engine), redis_check(redis)]
        finally:
            await engine.dispose()
            await redis.aclose()

    return create_service_app(
        title="CloudMart users service", settings=settings, resources=resources
    )
