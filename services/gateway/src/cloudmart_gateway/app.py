"""Composition root of the API gateway: clients opened in the lifespan, routes mounted."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.readiness import DependencyCheck, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_gateway.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        try:
            # Rate limits fail open without Redis: the gateway keeps routing, so not critical.
            yield [redis_check(redis, critical=False)]
        finally:
            await redis.aclose()

    return create_service_app(title="CloudMart API gateway", settings=settings, resources=resources)
