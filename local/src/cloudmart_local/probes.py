"""Health probes of the stack's components: each returns when healthy and raises otherwise."""

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import boto3
import grpc  # type: ignore[import-untyped]  # no stubs in the lock file
import httpx
from aiokafka.client import AIOKafkaClient
from botocore.config import Config
from openfeature.schemas.protobuf.flagd.sync.v1 import sync_pb2, sync_pb2_grpc
from redis.asyncio import Redis

from cloudmart_common.settings import local_database_password
from cloudmart_local.layout import (
    DATABASES,
    DYNAMODB_PORT,
    FAULT_FLAGS_FILE,
    FAULT_PROXIES,
    FLAGD_SYNC_PORT,
    FLINK_UI_PORT,
    KAFKA_PORT,
    LOCALSTRIPE_PORT,
    MAILPIT_PORT,
    PGBOUNCER_PORT,
    POSTGRES_PORT,
    PROMETHEUS_PORT,
    REDIS_PORT,
    TOXIPROXY_PORT,
)

TIMEOUT = 3.0

# aiokafka logs every refused connection at ERROR; while a broker starts, that is expected.
logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


async def _http_ok(url: str, **kwargs: object) -> None:
    async with httpx.AsyncClient(timeout=TIMEOUT) as client:
        response = await client.get(url, **kwargs)  # type: ignore[arg-type]
        response.raise_for_status()


async def postgres() -> None:
    process = await asyncio.create_subprocess_exec(
        "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(POSTGRES_PORT), "-t", "3"
    )
    if await process.wait() != 0:
        raise RuntimeError("pg_isready: not accepting connections")


async def pgbouncer() -> None:
    # A real login per database: proves pgbouncer's auth file matches the roles.
    for database in DATABASES:
        connection = await asyncpg.connect(
            host="127.0.0.1",
            port=PGBOUNCER_PORT,
            user=database,
            password=local_database_password(database),
            database=database,
            timeout=TIMEOUT,
        )
        try:
            await connection.fetchval("SELECT 1", timeout=TIMEOUT)
        finally:
            await connection.close()


async def redis() -> None:
    client = Redis(host="127.0.0.1", port=REDIS_PORT, socket_timeout=TIMEOUT)
    try:
        await client.ping()
    finally:
        await client.aclose()


async def kafka() -> None:
    client = AIOKafkaClient(bootstrap_servers=f"127.0.0.1:{KAFKA_PORT}", request_timeout_ms=3000)
    try:
        await client.bootstrap()
    finally:
        await client.close()


def dynamodb_client(config: Config | None = None, port: int = DYNAMODB_PORT) -> Any:
    """A boto3 DynamoDB client for the local emulator, or one on `port` (its keys are not
    checked)."""
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - the emulator accepts any key
        config=config,
    )


async def dynamodb() -> None:
    # Healthy means the tables are there too: the emulator creates them as it starts.
    def describe() -> None:
        client = dynamodb_client()
        client.describe_table(TableName="products")

    await asyncio.to_thread(describe)


async def localstripe() -> None:
    await _http_ok(
        f"http://127.0.0.1:{LOCALSTRIPE_PORT}/v1/customers?limit=1",
        auth=("sk_test_local", ""),
    )


async def mailpit() -> None:
    await _http_ok(f"http://127.0.0.1:{MAILPIT_PORT}/api/v1/info")


async def toxiproxy() -> None:
    async with httpx.AsyncClient(timeout=3) as client:
        proxies = (await client.get(f"http://127.0.0.1:{TOXIPROXY_PORT}/proxies")).json()
    missing = set(FAULT_PROXIES) - set(proxies)
    if missing:
        raise RuntimeError(f"toxiproxy lacks the proxies {sorted(missing)}")


async def flagd() -> None:
    """Healthy when the sync API serves the flag set the watched file holds."""

    def fetch() -> None:
        with grpc.insecure_channel(f"127.0.0.1:{FLAGD_SYNC_PORT}") as channel:
            stub = sync_pb2_grpc.FlagSyncServiceStub(channel)
            served = stub.FetchAllFlags(sync_pb2.FetchAllFlagsRequest(), timeout=TIMEOUT)
        expected = set(json.loads(FAULT_FLAGS_FILE.read_text())["flags"])
        missing = expected - set(json.loads(served.flag_configuration)["flags"])
        if missing:
            raise RuntimeError(f"flagd does not serve {sorted(missing)} yet")

    await asyncio.to_thread(fetch)


async def prometheus() -> None:
    await _http_ok(f"http://127.0.0.1:{PROMETHEUS_PORT}/-/ready")


async def flink_job() -> None:
    """Ready once the analytics job runs in the MiniCluster (its REST API answers first)."""
    async with httpx.AsyncClient(timeout=3) as client:
        response = await client.get(f"http://127.0.0.1:{FLINK_UI_PORT}/jobs")
        response.raise_for_status()
        if not any(job["status"] == "RUNNING" for job in response.json()["jobs"]):
            raise RuntimeError("the analytics job is not running yet")


def service(port: int) -> Callable[[], Awaitable[None]]:
    async def probe() -> None:
        await _http_ok(f"http://127.0.0.1:{port}/ready")

    return probe


async def catalog_import() -> None:
    # Ready once the poller has wired the bucket's notification to its queue.
    def wired() -> None:
        s3 = boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{DYNAMODB_PORT}",
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",  # noqa: S106 - the emulator accepts any key
        )
        configuration = s3.get_bucket_notification_configuration(Bucket="catalog-imports")
        if not configuration.get("QueueConfigurations"):
            raise RuntimeError("no notification configured yet")

    await asyncio.to_thread(wired)
