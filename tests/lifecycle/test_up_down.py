"""`make up` is idempotent, `make down` leaves nothing running, and data survives a restart.

Runs last and alone (marker `lifecycle`): it stops and restarts the whole stack.
"""

import asyncio
import smtplib
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis import Redis

from cloudmart_common.settings import local_database_password
from cloudmart_local import supervisor
from cloudmart_local.__main__ import leftovers
from cloudmart_local.layout import (
    KAFKA_PORT,
    MAILPIT_PORT,
    PGBOUNCER_PORT,
    REDIS_PORT,
    ROOT,
)
from cloudmart_local.probes import dynamodb_client
from tests.stack_control import stripe_client

pytestmark = pytest.mark.lifecycle

BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"
PROBE_TOPIC = "lifecycle-probe"
RUN_ID = uuid.uuid4().hex


def _stack(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudmart_local", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _pids() -> dict[str, int]:
    return {name: info["pid"] for name, info in supervisor.process_info().items()}


def test_a_second_make_up_is_quick_and_changes_nothing() -> None:
    before = _pids()
    started = time.monotonic()
    result = _stack("up")
    elapsed = time.monotonic() - started
    print(f"warm `up`: {elapsed:.1f} s")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _pids() == before
    assert "started" not in result.stdout
    assert "created" not in result.stdout


async def _postgres(statement: str, *arguments: object) -> object:
    connection = await asyncpg.connect(
        host="127.0.0.1",
        port=PGBOUNCER_PORT,
        user="orders",
        database="orders",
        password=local_database_password("orders"),
        timeout=10,
    )
    try:
        return await connection.fetchval(statement, *arguments)
    finally:
        await connection.close()


async def _kafka_write() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        if PROBE_TOPIC not in await admin.list_topics():
            await admin.create_topics([NewTopic(PROBE_TOPIC, 1, 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(PROBE_TOPIC, RUN_ID.encode())
    finally:
        await producer.stop()


async def _kafka_values() -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=BOOTSTRAP, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(PROBE_TOPIC, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        end = (await consumer.end_offsets([partition]))[partition]
        values: list[bytes] = []
        while await consumer.position(partition) < end:
            batch = await consumer.getmany(partition, timeout_ms=2000)
            values += [record.value for record in batch.get(partition, [])]
        return values
    finally:
        await consumer.stop()


async def _kafka_cleanup() -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        await admin.delete_topics([PROBE_TOPIC])
    finally:
        await admin.close()


def _mail_count(subject: str) -> int:
    response = httpx.get(
        f"http://127.0.0.1:{MAILPIT_PORT}/api/v1/search",
        params={"query": f'subject:"{subject}"'},
        timeout=5,
    )
    count: int = response.json()["messages_count"]
    return count


def test_down_stops_everything_and_up_brings_the_same_data_back() -> None:
    redis = Redis(host="127.0.0.1", port=REDIS_PORT)
    asyncio.run(_postgres("CREATE TABLE IF NOT EXISTS lifecycle_probe (run_id text)"))
    asyncio.run(_postgres("INSERT INTO lifecycle_probe VALUES ($1)", RUN_ID))
    asyncio.run(_kafka_write())
    redis.set(f"lifecycle:{RUN_ID}", "kept")
    customer = stripe_client().v1.customers.create(params={"email": f"{RUN_ID}@example.test"})
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.test", "b@x.test", RUN_ID
    message.set_content("kept across restarts")
    with smtplib.SMTP("127.0.0.1", 11025, timeout=10) as smtp:
        smtp.send_message(message)
    dynamodb = dynamodb_client()
    probe_key = {"order_id": {"S": f"lifecycle-{RUN_ID}"}}
    dynamodb.put_item(TableName="product-reservations", Item=probe_key | {"status": {"S": "kept"}})

    down = _stack("down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert leftovers() == []

    started = time.monotonic()
    up = _stack("up")
    print(f"`up` after `down`: {time.monotonic() - started:.1f} s")
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        assert (
            asyncio.run(_postgres("SELECT count(*) FROM lifecycle_probe WHERE run_id = $1", RUN_ID))
            == 1
        )
        assert RUN_ID.encode() in asyncio.run(_kafka_values())
        assert redis.get(f"lifecycle:{RUN_ID}") == b"kept"
        assert stripe_client().v1.customers.retrieve(customer.id).email == f"{RUN_ID}@example.test"
        assert _mail_count(RUN_ID) == 1
        dynamodb = dynamodb_client()
        kept = dynamodb.get_item(TableName="product-reservations", Key=probe_key)
        assert kept["Item"]["status"] == {"S": "kept"}  # the emulator's journal, replayed
        table = dynamodb.describe_table(TableName="products")["Table"]
        assert {index["IndexName"] for index in table["GlobalSecondaryIndexes"]} == {
            "category-index",
            "sku-index",
        }
    finally:
        dynamodb_client().delete_item(TableName="product-reservations", Key=probe_key)
        asyncio.run(_postgres("DROP TABLE IF EXISTS lifecycle_probe"))
        asyncio.run(_kafka_cleanup())
        redis.delete(f"lifecycle:{RUN_ID}")
