"""Composition root of the payments service: pools and the Stripe client opened in the lifespan."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.db import Database, session_factory
from cloudmart_common.fault_flags import close_fault_flags, open_fault_flags
from cloudmart_common.idempotency import IdempotencyStore
from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.outbox_relay import running_relay
from cloudmart_common.periodic import running_periodic
from cloudmart_common.readiness import DependencyCheck, kafka_check, postgres_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_database_engine
from cloudmart_payments.api import router
from cloudmart_payments.service import PaymentService
from cloudmart_payments.settings import Settings
from cloudmart_payments.stripe_gateway import StripeGateway


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        engine = create_database_engine(settings)
        gateway = StripeGateway(settings)
        sessions = session_factory(engine)
        database = Database(engine)
        app.state.stripe = gateway
        app.state.idempotency = IdempotencyStore(database)
        faults = open_fault_flags(settings)
        try:
            # Kafka is not critical: the outbox keeps events until the broker is back. Nor is
            # Stripe a readiness check: its outage is answered per request (503, breaker).
            async with running_relay(engine, settings) as relay:
                payments = PaymentService(
                    sessions, database, gateway, settings, after_commit=relay.wake, faults=faults
                )
                app.state.payments = payments
                async with running_periodic(
                    "payments-reconciler", settings.reconcile_interval_seconds, payments.reconcile
                ):
                    yield [
                        postgres_check(engine),
                        kafka_check(KafkaConnection.of(settings), critical=False),
                    ]
        finally:
            close_fault_flags(faults)
            await gateway.aclose()
            await engine.dispose()

    return create_service_app(
        title="CloudMart payments service", settings=settings, resources=resources, routers=[router]
    )
