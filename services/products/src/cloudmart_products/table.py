"""The `products` table: its one schema definition (also read by `make up` and Terraform)."""

import json
from importlib import resources
from typing import Any

import aioboto3
from botocore.config import Config
from types_aiobotocore_dynamodb import DynamoDBClient

from cloudmart_common.readiness import DependencyCheck
from cloudmart_products.settings import Settings

SCHEMA_FILE = "table_schema.json"


def table_definition() -> dict[str, Any]:
    """CreateTable parameters of `products`, with both GSIs."""
    text = resources.files("cloudmart_products").joinpath(SCHEMA_FILE).read_text()
    definition: dict[str, Any] = json.loads(text)
    return definition


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
        # botocore's 60 s defaults would outlast every timeout of DESIGN.md §6.
        config=Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2}),
    )


def dynamodb_check(client: DynamoDBClient, table_name: str) -> DependencyCheck:
    async def probe() -> None:
        description = await client.describe_table(TableName=table_name)
        status = description["Table"].get("TableStatus")
        if status != "ACTIVE":
            raise RuntimeError(f"table {table_name} is {status}")

    return DependencyCheck("dynamodb", probe)
