"""What platform tests use to look at and steer the running local stack."""

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg
import httpx
import stripe
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from cloudmart_common import topology
from cloudmart_local import supervisor
from cloudmart_local.components import by_name
from cloudmart_local.layout import (
    KAFKA_PORT,
    LOCALSTRIPE_PORT,
    SERVICE_PORTS,
)
from cloudmart_local.probes import dynamodb_client
from cloudmart_local.secrets import service_database_url
from cloudmart_local.shop import GOOD_CARD, payment_method

T = TypeVar("T")


def service_url(name: str) -> str:
    return f"http://127.0.0.1:{SERVICE_PORTS[name]}"


def wait_for(
    condition: Callable[[], T | None], *, timeout: float, interval: float = 0.25, what: str
) -> T:
    """Poll until `condition` returns something truthy; fail with `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def readiness(service: str) -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.get(f"{service_url(service)}/ready", timeout=5)
    except httpx.HTTPError as exc:
        return 0, {"error": str(exc)}
    return response.status_code, response.json()


def wait_healthy(component: str, timeout: float = 60) -> None:
    probe = by_name(component).probe

    def healthy() -> bool:
        try:
            asyncio.run(asyncio.wait_for(probe(), 5))
        except Exception:
            return False
        return True

    wait_for(healthy, timeout=timeout, what=f"{component} to be healthy")


@contextmanager
def stopped(component: str) -> Iterator[None]:
    """Stop one component for the body of the `with`, then start it and wait until healthy."""
    supervisor.stop(component)
    try:
        yield
    finally:
        supervisor.start(component)
        wait_healthy(component)


def stripe_client() -> stripe.StripeClient:
    """The official SDK pointed at localstripe, as the payments service uses it."""
    return stripe.StripeClient(
        "sk_test_local",
        base_addresses={"api": f"http://127.0.0.1:{LOCALSTRIPE_PORT}"},
        max_network_retries=0,
    )


async def _read_topic(topic: str) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    """Every event on `topic` (all partitions, from the beginning) with its headers."""
    return [(_decoded(record.value), dict(record.headers)) for record in await _records(topic)]


def topic_bytes(topic: str) -> list[bytes]:
    """Every record's value and header values on `topic`, as they are stored."""
    return [
        part
        for record in asyncio.run(_records(topic))
        for part in (record.value or b"", *(value for _name, value in record.headers))
    ]


async def _records(topic: str) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record on `topic` (all partitions, from the beginning)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=f"127.0.0.1:{KAFKA_PORT}",
        enable_auto_commit=False,
        # What consumers see: a transaction the Flink job aborted (a restart) is not there.
        isolation_level="read_committed",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(_partitions(topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        events: list[ConsumerRecord[bytes, bytes]] = []
        for partition in partitions:
            while await consumer.position(partition) < ends[partition]:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                records = batch.get(partition, [])
                if not records:
                    # The rest is an open transaction (not readable yet) or aborted markers.
                    break
                events += records
        return events
    finally:
        await consumer.stop()


def _partitions(topic: str) -> int:
    return next(t.partitions for t in topology.TOPICS if t.name == topic)


def _decoded(value: bytes | None) -> dict[str, Any]:
    try:
        decoded = json.loads(value or b"{}")
    except ValueError:  # the DLQ keeps what could not be parsed
        return {"_raw": (value or b"").decode(errors="replace")}
    return decoded if isinstance(decoded, dict) else {"_raw": decoded}


def topic_events(topic: str, event_type: str | None = None) -> list[dict[str, Any]]:
    """The events on `topic` now (of one type if given), oldest first per partition."""
    return [
        event
        for event, _headers in asyncio.run(_read_topic(topic))
        if event_type is None or event.get("event_type") == event_type
    ]


def notification_events(
    event_type: str, *, timeout: float = 20, **fields: object
) -> list[tuple[dict[str, Any], dict[str, bytes]]]:
    """The events of a type on topic `notifications` whose fields match, once there is one."""

    def matching() -> list[tuple[dict[str, Any], dict[str, bytes]]]:
        return [
            (event, headers)
            for event, headers in asyncio.run(_read_topic("notifications"))
            if event.get("event_type") == event_type
            and all(event.get(name) == value for name, value in fields.items())
        ]

    return wait_for(matching, timeout=timeout, what=f"a {event_type} event matching {fields}")


def query(database: str, sql: str, *args: object) -> list[dict[str, Any]]:
    """Rows of one statement in a service's database, as that service's role (via pgbouncer)."""

    async def run() -> list[dict[str, Any]]:
        connection = await asyncpg.connect(service_database_url(database).replace("+asyncpg", ""))
        try:
            return [dict(row) for row in await connection.fetch(sql, *args)]
        finally:
            await connection.close()

    return asyncio.run(run())


def card(number: str = GOOD_CARD) -> str:
    """A PaymentMethod id at localstripe, as Stripe.js would hand the client one."""
    return payment_method(number)


def stock_of(product_id: int) -> int:
    """A product's stock straight from the table: no cache decides what a test believes."""
    item = dynamodb_client().get_item(
        TableName="products", Key={"id": {"N": str(product_id)}}, ConsistentRead=True
    )["Item"]
    return int(item["stock_quantity"]["N"])


def stripe_count(resource: str) -> int:
    """How many PaymentIntents, charges, refunds ... localstripe holds (its list's total_count)."""
    response = httpx.get(
        f"http://127.0.0.1:{LOCALSTRIPE_PORT}/v1/{resource}",
        params={"limit": 1},
        auth=("sk_test_local", ""),
        timeout=10,
    )
    return int(response.json()["total_count"])


@contextmanager
def killed(component: str) -> Iterator[None]:
    """SIGKILL a component (no clean shutdown) and, after the body, wait for supervisord to
    have restarted it (autorestart) and for it to be healthy."""
    supervisor.rpc().signalProcess(component, "KILL")
    try:
        yield
    finally:
        wait_for(
            lambda: supervisor.rpc().getProcessInfo(component)["statename"] == "RUNNING",
            timeout=60,
            what=f"supervisord to restart {component}",
        )
        wait_healthy(component)


def publish(topic: str, key: str, *values: dict[str, Any] | bytes) -> None:
    """Put events (or raw bytes) on a topic, as a producing service would."""

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{KAFKA_PORT}", acks="all")
        await producer.start()
        try:
            for value in values:
                raw = value if isinstance(value, bytes) else json.dumps(value).encode()
                await producer.send_and_wait(
                    topic,
                    raw,
                    key=key.encode(),
                    headers=[]
                    if isinstance(value, bytes)
                    else [("event_type", str(value.get("event_type", "")).encode())],
                )
        finally:
            await producer.stop()

    asyncio.run(run())
