"""Composition root of the products service: clients opened in the lifespan, routes mounted,
the hot reads in front."""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.fast_path import FastPathApp
from cloudmart_common.fault_flags import close_fault_flags, open_fault_flags
from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.observed import ObservedRequests
from cloudmart_common.readiness import DependencyCheck, kafka_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_common.tracing import instrument_aws_client
from cloudmart_common.tracked_copies import TrackedCopies
from cloudmart_products.api import internal, router
from cloudmart_products.catalog_cache import COPIED_PREFIXES, CatalogCache
from cloudmart_products.fast_reads import FastReads, claims
from cloudmart_products.repository import ProductTable
from cloudmart_products.reservations import ReservationTable
from cloudmart_products.service import Catalog
from cloudmart_products.settings import Settings
from cloudmart_products.table import delay_calls_when_flagged, dynamodb_check, dynamodb_client


def create_app(settings: Settings | None = None) -> FastPathApp:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        producer = EventProducer(settings)
        faults = open_fault_flags(settings)
        copies = TrackedCopies(settings.redis_url, COPIED_PREFIXES)
        tracking = asyncio.create_task(copies.run(), name="catalog-copies")
        try:
            async with dynamodb_client(settings) as dynamodb:
                instrument_aws_client(dynamodb)
                delay_calls_when_flagged(dynamodb, faults)
                table = ProductTable(dynamodb, settings.products_table)
                app.state.catalog = Catalog(
                    table,
                    ReservationTable(
                        dynamodb, settings.products_table, settings.reservations_table
                    ),
                    CatalogCache(
                        redis,
                        settings.product_cache_seconds,
                        settings.product_page_cache_seconds,
                        copies,
                    ),
                    producer,
                    settings.low_stock_threshold,
                    faults=faults,
                )
                # Reads fall back to DynamoDB when the cache is down, and a missed stock alert
                # does not stop sales: only DynamoDB is critical.
                yield [
                    dynamodb_check(
                        dynamodb, [settings.products_table, settings.reservations_table]
                    ),
                    redis_check(redis, critical=False),
                    kafka_check(KafkaConnection.of(settings), critical=False),
                ]
        finally:
            tracking.cancel()
            close_fault_flags(faults)
            await producer.stop()
            await redis.aclose()

    app = create_service_app(
        title="CloudMart products service",
        settings=settings,
        resources=resources,
        routers=[router, internal],
    )
    # Cached product and list reads skip FastAPI's layers, which cost them more than the
    # read itself; misses and everything else reach the routes (ADR 0017).
    return FastPathApp(app, ObservedRequests(FastReads(app)), claims)
