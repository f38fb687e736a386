"""Every DynamoDB operation of the products service."""

import base64
import binascii
import json
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from cloudmart_common.events import utc_timestamp
from cloudmart_products.errors import InvalidCursor

_serializer, _deserializer = TypeSerializer(), TypeDeserializer()
COUNTER_ID = 0  # the item holding `next_id`; real products start at 1
_EDIT_ATTEMPTS = 5  # an edit whose name or description was changed meanwhile reads again


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    values = {key: _deserializer.deserialize(value) for key, value in item.items()}
    for key in ("id", "stock_quantity"):
        if key in values:
            values[key] = int(values[key])
    return values


def search_text(name: str, description: str) -> str:
    return f"{name}\n{description}".lower()


@dataclass(frozen=True)
class StockChanged:
    product: dict[str, Any]
    crossed_zero: bool  # in or out of stock: listings filtered on stock change


@dataclass(frozen=True)
class Filters:
    category: str | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    text: str | None = None


def encode_cursor(last_key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(last_key).encode()).decode()


def decode_cursor(cursor: str, *, with_category: bool) -> dict[str, Any]:
    """The ExclusiveStartKey behind a cursor, checked to be one we could have made."""
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        expected = {"id", "category"} if with_category else {"id"}
        if not isinstance(key, dict) or set(key) != expected:
            raise ValueError("unexpected keys")
        if set(key["id"]) != {"N"} or not str(key["id"]["N"]).isdigit():
            raise ValueError("bad id")
        if with_category and set(key["category"]) != {"S"}:
            raise ValueError("bad category")
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise InvalidCursor("this cursor was not issued for this listing") from exc
    return key


class ProductTable:
    def __init__(self, client: Any, products_table: str) -> None:
        self._client = client
        self._products = products_table

    async def get(self, product_id: int) -> dict[str, Any] | None:
        answer = await self._client.get_item(
            TableName=self._products, Key={"id": {"N": str(product_id)}}, ConsistentRead=True
        )
        item = answer.get("Item")
        return from_item(item) if item and product_id != COUNTER_ID else None

    async def by_sku(self, sku: str) -> dict[str, Any] | None:
        answer = await self._client.query(
            TableName=self._products,
            IndexName="sku-index",
            KeyConditionExpression="sku = :sku",
            ExpressionAttributeValues={":sku": {"S": sku}},
        )
        items = answer.get("Items", [])
        return from_item(items[0]) if items else None

    async def next_id(self) -> int:
        # An atomic counter: concurrent creations never get the same id.
        answer = await self._client.update_item(
            TableName=self._products,
            Key={"id": {"N": str(COUNTER_ID)}},
            UpdateExpression="ADD next_id :one",
            ExpressionAttributeValues={":one": {"N": "1"}},
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["next_id"]["N"])

    async def create(self, values: Mapping[str, Any]) -> dict[str, Any]:
        now = utc_timestamp()
        product = {
            **values,
            "created_at": now,
            "updated_at": now,
            "search_text": search_text(values["name"], values.get("description", "")),
        }
        await self._client.put_item(
            TableName=self._products,
            Item=to_item(product),
            ConditionExpression="attribute_not_exists(id)",
        )
        return product

    async def update(self, product_id: int, changes: Mapping[str, Any]) -> dict[str, Any] | None:
        """The product after writing only the fields given (and `search_text`, `updated_at`);
        None when it does not exist.

        Stock is never read here nor written back: a reservation landing between a read and
        this write stays counted. `search_text` needs both name and description; when only one
        is given, the other is read and the write is conditioned on it being unchanged (retried
        if a concurrent edit changed it), so the text never mixes two edits.
        """
        if "stock_quantity" in changes:
            raise ValueError("stock changes through change_stock or a reservation, not update")
        if product_id == COUNTER_ID:
            return None
        for _attempt in range(_EDIT_ATTEMPTS):
            fields = {**changes, "updated_at": utc_timestamp()}
            condition = "attribute_exists(id)"
            kept: dict[str, Any] = {}
            if "name" in changes or "description" in changes:
                current: dict[str, Any] = {}
                if not {"name", "description"} <= changes.keys():
                    found = await self.get(product_id)
                    if found is None:
                        return None
                    current = found
                for text_field in ("name", "description"):
                    if text_field not in changes:
                        kept[text_field] = current.get(text_field)  # None: not stored
                fields["search_text"] = search_text(
                    changes.get("name", kept.get("name")) or "",
                    changes.get("description", kept.get("description")) or "",
                )
            names = {f"#{key}": key for key in (*fields, *kept)}
            values = {f":{key}": _serializer.serialize(value) for key, value in fields.items()}
            for key, value in kept.items():
                if value is None:
                    condition += f" AND attribute_not_exists(#{key})"
                else:
                    values[f":was_{key}"] = _serializer.serialize(value)
                    condition += f" AND #{key} = :was_{key}"
            answer = await _if_condition_holds(
                self._client.update_item(
                    TableName=self._products,
                    Key={"id": {"N": str(product_id)}},
                    UpdateExpression="SET " + ", ".join(f"#{key} = :{key}" for key in fields),
                    ConditionExpression=condition,
                    ExpressionAttributeNames=names,
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                )
            )
            if answer is not None:
                return from_item(answer["Attributes"])
            if not kept:
                return None  # only existence was required
            # Either gone, or a concurrent edit changed the text read: read again.
        raise RuntimeError(f"product {product_id} kept changing under its edit")

    async def delete(self, product_id: int) -> bool:
        if product_id == COUNTER_ID:  # not a product: deleting it would reissue every id
            return False
        answer = await _if_condition_holds(
            self._client.delete_item(
                TableName=self._products,
                Key={"id": {"N": str(product_id)}},
                ConditionExpression="attribute_exists(id)",
            )
        )
        return answer is not None

    async def change_stock(
        self, product_id: int, *, set_to: int | None, adjust: int | None
    ) -> StockChanged | None:
        """The product after the change; None when it does not exist or would go negative."""
        if product_id == COUNTER_ID:
            return None
        if set_to is not None:
            expression, condition = "SET stock_quantity = :value", "attribute_exists(id)"
            value = set_to
        else:
            assert adjust is not None
            expression = "SET stock_quantity = stock_quantity + :value"
            condition = "attribute_exists(id) AND stock_quantity >= :floor"
            value = adjust
        now = utc_timestamp()
        attribute_values = {":value": {"N": str(value)}, ":now": {"S": now}}
        if adjust is not None:
            attribute_values[":floor"] = {"N": str(max(-adjust, 0))}
        # The item as it was, not as it is: only the stock before this very write tells
        # exactly whether it crossed zero; what it becomes follows from the expression.
        answer = await _if_condition_holds(
            self._client.update_item(
                TableName=self._products,
                Key={"id": {"N": str(product_id)}},
                UpdateExpression=f"{expression}, updated_at = :now",
                ConditionExpression=condition,
                ExpressionAttributeValues=attribute_values,
                ReturnValues="ALL_OLD",
            )
        )
        if answer is None:
            return None
        before = from_item(answer["Attributes"])
        stock = set_to if set_to is not None else before["stock_quantity"] + value
        product = before | {"stock_quantity": stock, "updated_at": now}
        return StockChanged(product, crossed_zero=(before["stock_quantity"] > 0) != (stock > 0))

    async def page_ids(
        self, filters: Filters, limit: int, cursor: str | None
    ) -> tuple[list[int], str | None]:
        """Up to `limit` matching product ids and the cursor after them (None at the end).

        With a category: a Query on category-index (never a Scan). Without: a Scan, strongly
        consistent so that a page cached right after a write holds it (a GSI cannot be read
        consistently: its lag is the one staleness the page cache's TTL has to bound). Each
        call asks for at most what is still missing, so the cursor never skips an unreturned
        item. Only ids: the products themselves come from the product cache.
        """
        conditions, values, names = ["id > :zero"], {":zero": {"N": "0"}}, {}
        if filters.min_price is not None:
            conditions.append("price >= :min_price")
            values[":min_price"] = {"N": str(filters.min_price)}
        if filters.max_price is not None:
            conditions.append("price <= :max_price")
            values[":max_price"] = {"N": str(filters.max_price)}
        if filters.in_stock:
            conditions.append("stock_quantity > :zero")
        if filters.text:
            conditions.append("contains(search_text, :text)")
            values[":text"] = {"S": filters.text.lower()}
        request: dict[str, Any] = {"TableName": self._products, "ProjectionExpression": "id"}
        if filters.category is not None:
            request |= {
                "IndexName": "category-index",
                "KeyConditionExpression": "#category = :category",
            }
            names["#category"] = "category"
            values[":category"] = {"S": filters.category}
        else:
            request["ConsistentRead"] = True
        request |= {
            "FilterExpression": " AND ".join(conditions),
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        start = (
            decode_cursor(cursor, with_category=filters.category is not None) if cursor else None
        )
        operation = self._client.query if filters.category is not None else self._client.scan
        ids: list[int] = []
        while len(ids) < limit:
            call = request | {"Limit": limit - len(ids)}
            if start is not None:
                call["ExclusiveStartKey"] = start
            answer = await operation(**call)
            ids += [int(item["id"]["N"]) for item in answer.get("Items", [])]
            start = answer.get("LastEvaluatedKey")
            if start is None:
                break
        return ids, encode_cursor(start) if start is not None else None

    async def get_many(self, product_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """The products that exist among these, read consistently in batches of 100."""
        items = await self._batch_get(
            [product_id for product_id in product_ids if product_id != COUNTER_ID]
        )
        return {int(item["id"]["N"]): from_item(item) for item in items}

    async def category_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        request: dict[str, Any] = {
            "TableName": self._products,
            "ProjectionExpression": "category",
            "FilterExpression": "attribute_exists(category)",
        }
        while True:
            answer = await self._client.scan(**request)
            for item in answer.get("Items", []):
                category = item["category"]["S"]
                counts[category] = counts.get(category, 0) + 1
            if "LastEvaluatedKey" not in answer:
                return counts
            request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]

    async def stock_states(self, product_ids: list[int]) -> dict[int, tuple[int, bool]]:
        """(stock, low-stock flag) of each product, in one consistent batch read.

        Lets a stock change write the flag only when it must change: the common sale, well
        above the threshold and not flagged, then costs one read instead of two writes per line.
        """
        items = await self._batch_get(
            product_ids, projection="id, stock_quantity, low_stock_notified"
        )
        return {
            int(item["id"]["N"]): (
                int(item.get("stock_quantity", {}).get("N", "0")),
                bool(item.get("low_stock_notified", {}).get("BOOL", False)),
            )
            for item in items
        }

    async def _batch_get(
        self, product_ids: Sequence[int], *, projection: str | None = None
    ) -> list[dict[str, Any]]:
        keys = [{"id": {"N": str(product_id)}} for product_id in dict.fromkeys(product_ids)]
        request: dict[str, Any] = {"ConsistentRead": True}
        if projection is not None:
            request["ProjectionExpression"] = projection
        items: list[dict[str, Any]] = []
        while keys:
            answer = await self._client.batch_get_item(
                RequestItems={self._products: request | {"Keys": keys[:100]}}  # the call limit
            )
            items += answer.get("Responses", {}).get(self._products, [])
            unprocessed = answer.get("UnprocessedKeys", {}).get(self._products, {}).get("Keys", [])
            keys = unprocessed + keys[100:]
        return items

    async def mark_low_stock(self, product_id: int, threshold: int) -> bool:
        """True once per crossing below the threshold (the flag resets on restock)."""
        return await self._set_low_stock_flag(
            product_id,
            threshold,
            flag=True,
            condition="stock_quantity <= :threshold "
            "AND (attribute_not_exists(low_stock_notified) OR low_stock_notified = :other)",
        )

    async def clear_low_stock(self, product_id: int, threshold: int) -> None:
        await self._set_low_stock_flag(
            product_id, threshold, flag=False, condition="stock_quantity > :threshold"
        )

    async def _set_low_stock_flag(
        self, product_id: int, threshold: int, *, flag: bool, condition: str
    ) -> bool:
        values: dict[str, Any] = {
            ":flag": {"BOOL": flag},
            ":threshold": {"N": str(threshold)},
        }
        if ":other" in condition:
            values[":other"] = {"BOOL": not flag}
        answer = await _if_condition_holds(
            self._client.update_item(
                TableName=self._products,
                Key={"id": {"N": str(product_id)}},
                UpdateExpression="SET low_stock_notified = :flag",
                ConditionExpression=f"attribute_exists(id) AND {condition}",
                ExpressionAttributeValues=values,
            )
        )
        return answer is not None


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


async def _if_condition_holds(call: Awaitable[dict[str, Any]]) -> dict[str, Any] | None:
    """The answer of a conditional write, or None when its condition did not hold."""
    try:
        return await call
    except ClientError as exc:
        if error_code(exc) == "ConditionalCheckFailedException":
            return None
        raise
