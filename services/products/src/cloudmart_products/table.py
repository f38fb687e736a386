"""The service's DynamoDB tables: one schema definition, read by make up and Terraform too."""

import asyncio
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

import aioboto3
from botocore.config import Config

from cloudmart_common.fault_flags import SLOW_DYNAMODB_MS, FaultFlags
from cloudmart_common.readiness import DependencyCheck
from cloudmart_products.settings import Settings

if TYPE_CHECKING:  # stubs only: not installed in the service image
    from types_aiobotocore_dynamodb import DynamoDBClient

SCHEMA_FILES = ("table_schema.json", "reservations_table_schema.json")


def table_definitions() -> list[dict[str, Any]]:
    """CreateTable parameters: `products` (with both GSIs) and `product-reservations`."""
    package = resources.files("cloudmart_products")
    return [json.loads(package.joinpath(name).read_text()) for name in SCHEMA_FILES]


def dynamodb_client(settings: Settings) -> Any:
    """An async context manager yielding a DynamoDB client for the configured endpoint."""
    session = aioboto3.Session()
    secret = settings.aws_secret_access_key
    return session.client(
        "dynamodb",
        region_name=settings.aws_region,
        endpoint_url=settings.dynamodb_endpoint_url,
        aws_access_key_id=settings.aws_access_key_id,
        aws_secret_access_key=secret.get_secret_value() if secret else None,
        # botocore's 60 s defaults would outlast every timeout of architecture.md §6. Its pool of 10
        # connections made every call beyond the tenth concurrent one open and close its own
        # (a connect per call under a checkout load, ADR 0017).
        config=Config(
            connect_timeout=3,
            read_timeout=10,
            retries={"max_attempts": 2},
            max_pool_connections=64,
        ),
    )


def dynamodb_check(client: "DynamoDBClient", table_names: list[str]) -> DependencyCheck:
    async def probe() -> None:
        for table_name in table_names:
            description = await client.describe_table(TableName=table_name)
            status = description["Table"].get("TableStatus")
            if status != "ACTIVE":
                raise RuntimeError(f"table {table_name} is {status}")

    return DependencyCheck("dynamodb", probe)


def delay_calls_when_flagged(client: Any, faults: FaultFlags) -> None:
    """The slow-dynamodb-ms fault: every DynamoDB call of this client waits that long first.

    Hooked on botocore's before-call event, so no repository method can miss it; aiobotocore
    awaits async handlers. The handler must return None: a value would replace the call.
    """

    async def delay(model: Any, **_: Any) -> None:
        seconds = faults.dynamodb_delay_seconds()
        if seconds > 0:
            faults.triggered(SLOW_DYNAMODB_MS, f"{model.name} delayed {seconds:g} s")
            await asyncio.sleep(seconds)

    client.meta.events.register("before-call.dynamodb.*", delay)
