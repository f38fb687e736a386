"""Composition root of the notifications service: channels, templates, the consumer."""

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from cloudmart_common.fault_flags import close_fault_flags, open_fault_flags
from cloudmart_common.http_client import ServiceClient
from cloudmart_common.kafka_connection import KafkaConnection
from cloudmart_common.kafka_producer import EventProducer
from cloudmart_common.periodic import running_periodic
from cloudmart_common.readiness import DependencyCheck, kafka_check, redis_check
from cloudmart_common.service_app import create_service_app
from cloudmart_common.stores import create_redis
from cloudmart_notifications.api import router
from cloudmart_notifications.channels import build_channels, close_channels
from cloudmart_notifications.consumer import events_consumer
from cloudmart_notifications.dlq import DLQ_MEASURE_SECONDS, DlqSize
from cloudmart_notifications.redrive.api import router as redrive_router
from cloudmart_notifications.redrive.reader import DlqReader
from cloudmart_notifications.redrive.service import Redrive
from cloudmart_notifications.redrive.store import RedriveStore
from cloudmart_notifications.repository import SentLog
from cloudmart_notifications.service import Notifier
from cloudmart_notifications.settings import Settings
from cloudmart_notifications.smtp import smtp_check
from cloudmart_notifications.templating import Templates


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def resources(app: FastAPI) -> AsyncIterator[Sequence[DependencyCheck]]:
        redis = create_redis(settings)
        faults = open_fault_flags(settings)
        dlq_producer = EventProducer(settings)
        users = ServiceClient(
            "users", settings.users_url, settings, token_source=app.state.service_token
        )
        app.state.templates = Templates(settings.shop_url)
        app.state.sent_log = SentLog(redis, settings.sent_log_size)
        channels = build_channels(settings, faults)
        app.state.notifier = Notifier(
            settings,
            app.state.templates,
            channels,
            app.state.sent_log,
            users,
        )
        consumer = events_consumer(settings, app.state.notifier, redis, dlq_producer, faults)
        dlq_size = DlqSize(KafkaConnection.of(settings))
        dlq_reader = DlqReader(KafkaConnection.of(settings))
        app.state.redrive = Redrive(
            dlq_reader,
            RedriveStore(redis),
            dlq_producer,
            max_replays=settings.dlq_max_replays,
        )
        consumer.start()
        try:
            async with running_periodic("dlq size", DLQ_MEASURE_SECONDS, dlq_size.measure):
                # A consumer without its broker or its dedupe store cannot do its job.
                yield [
                    kafka_check(KafkaConnection.of(settings)),
                    redis_check(redis),
                    smtp_check(settings),
                    consumer.check(),
                ]
        finally:
            await dlq_size.close()
            await dlq_reader.close()
            await consumer.stop()
            await close_channels(channels)
            await dlq_producer.stop()
            await users.aclose()
            await redis.aclose()
            close_fault_flags(faults)

    return create_service_app(
        title="CloudMart notifications service",
        settings=settings,
        resources=resources,
        routers=[router, redrive_router],
    )
