"""Composition root of the orders service: pools, upstream clients, relay, consumer, recovery."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.db import Database, session_factory
from cloudmart_common.http_client import ServiceClient
from cloudmart_common.idempotency import IdempotencyStore
from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.outbox_relay import running_relay
from cloudmart_common.periodic import running_periodic
from cloudmart_common.readiness import DependencyCheck, kafka_check, postgres_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_database_engine, create_redis
from cloudmart_orders.api import router
from cloudmart_orders.consumer import payments_consumer
from cloudmart_orders.service import OrderService
from cloudmart_orders.settings import Settings
from cloudmart_orders.upstreams import Upstreams


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        engine = create_database_engine(settings)
        redis = create_redis(settings)
        dlq_producer = EventProducer(settings)
        sessions = session_factory(engine)
        database = Database(engine)
        token = app.state.service_token
        upstreams = Upstreams(
            users=ServiceClient("users", settings.users_url, settings, token_source=token),
            products=ServiceClient("products", settings.products_url, settings, token_source=token),
            payments=ServiceClient("payments", settings.payments_url, settings, token_source=token),
        )
        app.state.idempotency = IdempotencyStore(database)
        try:
            # Kafka is not critical: the outbox keeps events until the broker is back, and
            # payment outcomes also come back synchronously. Redis only dedupes the consumer.
            async with running_relay(engine, settings) as relay:
                orders = OrderService(
                    sessions, database, upstreams, settings, after_commit=relay.wake
                )
                app.state.orders = orders
                consumer = payments_consumer(settings, orders, redis, dlq_producer)
                consumer.start()
                try:
                    async with running_periodic(
                        "orders-recovery", settings.recovery_interval_seconds, orders.recover_stale
                    ):
                        yield [
                            postgres_check(engine),
                            kafka_check(KafkaConnection.of(settings), critical=False),
                            redis_check(redis, critical=False),
                        ]
                finally:
                    await consumer.stop()
        finally:
            await upstreams.aclose()
            await dlq_producer.stop()
            await redis.aclose()
            await engine.dispose()

    return create_service_app(
        title="CloudMart orders service", settings=settings, resources=resources, routers=[router]
    )
