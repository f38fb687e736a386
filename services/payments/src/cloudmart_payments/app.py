"""Composition root of the payments service: pools opened in the lifespan, routes mounted."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.outbox_relay import running_relay
from cloudmart_common.readiness import DependencyCheck, kafka_check, postgres_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_database_engine
from cloudmart_payments.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        engine = create_database_engine(settings)
        try:
            # Kafka is not critical: the outbox keeps events until the broker is back.
            async with running_relay(engine, settings) as relay:
                app.state.outbox_relay = relay
                yield [
                    postgres_check(engine),
                    kafka_check(settings.kafka_bootstrap_servers, critical=False),
                ]
        finally:
            await engine.dispose()

    return create_service_app(
        title="CloudMart payments service", settings=settings, resources=resources
    )
