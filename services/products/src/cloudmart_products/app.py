"""Composition root of the products service: clients opened in the lifespan, routes mounted."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.readiness import DependencyCheck, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_products.settings import Settings
from cloudmart_products.table import dynamodb_check, dynamodb_client


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        try:
            async with dynamodb_client(settings) as dynamodb:
                # Reads fall back to DynamoDB when the cache is down, so Redis is not critical.
                yield [
                    dynamodb_check(dynamodb, settings.products_table),
                    redis_check(redis, critical=False),
                ]
        finally:
            await redis.aclose()

    return create_service_app(
        title="CloudMart products service", settings=settings, resources=resources
    )
