"""Fixtures on the real local stack: a scratch PostgreSQL schema, scratch topics, Redis."""

import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis.asyncio import Redis
from sqlalchemy import Column, Integer, MetaData, String, Table, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from cloudmart_common.db import CommonBase
from cloudmart_common.settings import CommonSettings, local_database_url

# A business table for the tests: stands for orders, payments, users.
TEST_METADATA = MetaData()
WIDGETS = Table(
    "widgets",
    TEST_METADATA,
    Column("id", Integer, primary_key=True),
    Column("name", String(100), nullable=False),
)


@pytest.fixture(scope="session")
def widgets() -> Table:
    return WIDGETS


@pytest.fixture(scope="session")
def settings() -> CommonSettings:
    return CommonSettings(
        service_name="common-tests", outbox_poll_interval_seconds=0.1, outbox_batch_size=50
    )


@pytest.fixture(scope="session")
async def engine() -> AsyncIterator[AsyncEngine]:
    """An engine on the orders database whose search_path is a schema of its own."""
    schema = f"common_tests_{uuid.uuid4().hex[:8]}"
    url = local_database_url("orders").get_secret_value()
    # pre_ping: the stack tests restart PostgreSQL before this fixture's teardown runs.
    admin = create_async_engine(url, poolclass=NullPool)
    async with admin.begin() as connection:
        await connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    # Session pooling pins a server connection per client connection, and the orders service
    # shares the database's 20: no idle connections kept between tests (NullPool), so the
    # suites after this one find the pool as the service left it.
    scoped = create_async_engine(url, poolclass=NullPool)

    # pgbouncer refuses search_path as a startup parameter; in session pooling a SET sticks.
    @event.listens_for(scoped.sync_engine, "connect")
    def _use_schema(connection: Any, _: Any) -> None:
        cursor = connection.cursor()
        cursor.execute(f'SET search_path TO "{schema}"')
        cursor.close()
        # Committed here: statements run on the driver (db.Database) take no transaction that
        # would commit it later, and the pool's rollback on check-in would undo it.
        connection.commit()

    async with scoped.begin() as connection:
        await connection.run_sync(CommonBase.metadata.create_all)
        await connection.run_sync(TEST_METADATA.create_all)
    yield scoped
    await scoped.dispose()
    async with admin.begin() as connection:
        await connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await admin.dispose()


@pytest.fixture(scope="session")
async def make_topic(settings: CommonSettings) -> AsyncIterator[Callable[[int], Awaitable[str]]]:
    """Creates scratch topics (the broker refuses unknown ones) and deletes them afterwards."""
    created: list[str] = []

    async def create(partitions: int) -> str:
        name = f"common-test-{uuid.uuid4().hex[:10]}"
        admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(name, partitions, 1)])
        finally:
            await admin.close()
        created.append(name)
        return name

    yield create
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_topics(created)
    finally:
        await admin.close()


@pytest.fixture
async def redis(settings: CommonSettings) -> AsyncIterator[Redis]:
    client = Redis.from_url(settings.redis_url)
    yield client
    await client.aclose()


ReadTopic = Callable[[str], Awaitable[list[ConsumerRecord[bytes, bytes]]]]


@pytest.fixture(scope="session")
def read_topic(settings: CommonSettings) -> ReadTopic:
    """Every committed record of a topic, from the beginning to the current end."""

    async def read(topic: str) -> list[ConsumerRecord[bytes, bytes]]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            enable_auto_commit=False,
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
            await admin.start()
            try:
                [description] = await admin.describe_topics([topic])
            finally:
                await admin.close()
            partitions = [
                TopicPartition(topic, partition["partition"])
                for partition in description["partitions"]
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            records: list[ConsumerRecord[bytes, bytes]] = []
            while [p for p in partitions if await consumer.position(p) < ends[p]]:
                batch = await consumer.getmany(timeout_ms=1000)
                for partition_records in batch.values():
                    records.extend(partition_records)
            return records
        finally:
            await consumer.stop()

    return read


@pytest.fixture(scope="session")
def serve() -> Iterator[Callable[[Any], str]]:
    """Runs ASGI apps on real loopback ports (uvicorn in a thread); returns their base URL."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: Any) -> str:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "test server did not start"
            time.sleep(0.02)
        servers.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield start
    for server, _ in servers:  # ask all to stop first, then wait: they stop in parallel
        server.should_exit = True
    for _, thread in servers:
        thread.join(timeout=5)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """A plain client for tests that hand one to the code under test."""
    async with httpx.AsyncClient() as client:
        yield client
