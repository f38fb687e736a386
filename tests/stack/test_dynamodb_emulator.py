"""The DynamoDB emulator keeps TransactWriteItems atomic under concurrency (why it is wrapped)."""

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest
from botocore.config import Config

from cloudmart_local.probes import dynamodb_client

CLIENTS = 20
STOCK = 10
ROUNDS = 10


def _client() -> Any:
    return dynamodb_client(Config(retries={"max_attempts": 1}, max_pool_connections=CLIENTS))


@pytest.fixture
def stock_table() -> Iterator[str]:
    name = f"stack-test-stock-{uuid.uuid4().hex[:8]}"
    client = _client()
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    yield name
    client.delete_table(TableName=name)


def _reserve_both(client: Any, table: str, barrier: threading.Barrier) -> bool:
    barrier.wait()
    try:
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"id": {"N": str(product)}},
                        "UpdateExpression": "SET stock = stock - :one",
                        "ConditionExpression": "stock >= :one",
                        "ExpressionAttributeValues": {":one": {"N": "1"}},
                    }
                }
                for product in (1, 2)
            ]
        )
    except client.exceptions.TransactionCanceledException:
        return False
    return True


def test_concurrent_transactions_never_oversell(stock_table: str) -> None:
    clients = [_client() for _ in range(CLIENTS)]
    admin = clients[0]
    with ThreadPoolExecutor(CLIENTS) as pool:
        for round_number in range(ROUNDS):
            for product in (1, 2):
                admin.put_item(
                    TableName=stock_table,
                    Item={"id": {"N": str(product)}, "stock": {"N": str(STOCK)}},
                )
            barrier = threading.Barrier(CLIENTS)
            outcomes = list(
                pool.map(partial(_reserve_both, table=stock_table, barrier=barrier), clients)
            )
            stocks = [
                int(
                    admin.get_item(
                        TableName=stock_table, Key={"id": {"N": str(product)}}, ConsistentRead=True
                    )["Item"]["stock"]["N"]
                )
                for product in (1, 2)
            ]
            assert (sum(outcomes), stocks) == (STOCK, [0, 0]), f"round {round_number}"
